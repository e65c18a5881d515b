"""Long work is never silent: the heartbeat's status line, and the benchmarks and examples that use it."""
from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from ringkernel_codegen.progress import heartbeat

ROOT = Path(__file__).resolve().parents[1]


def test_a_heartbeat_ticks_while_a_single_long_call_runs_and_stops_when_told():
    out = io.StringIO()
    hb = heartbeat("job", every=0.05, stream=out)
    hb.say("compiling")
    time.sleep(0.5)                          # one long call: only the thread can speak meanwhile
    hb.stop()
    lines = out.getvalue().splitlines()
    assert lines[0] == "job: started"
    assert lines[1].startswith("job: compiling (")
    ticks = [ln for ln in lines[2:] if ln.startswith("job: compiling (")]
    assert len(ticks) >= 3, lines           # every 0.05 s for 0.5 s; a loaded machine still gets 3
    assert lines[-1].startswith("job: done in ")
    time.sleep(0.2)
    assert out.getvalue().splitlines() == lines, "ticks after stop()"
    hb.stop()                               # twice is harmless
    assert out.getvalue().splitlines() == lines


def test_ringkernel_progress_0_silences_it(monkeypatch):
    monkeypatch.setenv("RINGKERNEL_PROGRESS", "0")
    out = io.StringIO()
    hb = heartbeat("quiet", every=0.01, stream=out)
    hb.say("x")
    time.sleep(0.05)
    hb.stop()
    assert out.getvalue() == ""


@pytest.mark.parametrize("path", ["tools/bench/actors.py", "tools/bench/codegen.py", "tools/bench/gpu_actors.py",
                                  "examples/heat2d.py", "examples/pipeline.py", "examples/actors_hello.py"])
def test_benchmarks_and_long_examples_start_a_heartbeat(path):
    text = (ROOT / path).read_text()
    assert "from ringkernel_codegen.progress import heartbeat" in text and "heartbeat(" in text
