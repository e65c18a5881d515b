"""A one-line status on stderr for long work (benchmarks, examples), so nothing sits silent.

    from ringkernel_codegen.progress import heartbeat
    hb = heartbeat("heat2d")          # prints "heat2d: started" now, then "heat2d: running (3 s)" every 3 s
    hb.say("compiling heat")          # the current phase, printed now and repeated by each tick
    hb.stop()                         # "heat2d: done in 7.1 s" (also at interpreter exit)

A daemon thread does the ticking, so a single long call (a first numba compile, a 60 s sustained
run) is covered too. Each tick is its own line (rewriting one line in place would tangle with what
the program prints to stdout on the same terminal); stdout is never touched, so a program's
results stay clean to parse.
RINGKERNEL_PROGRESS=0 silences it. No dependency: tqdm is not assumed.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from typing import TextIO


class Heartbeat:
    """The status line of one piece of long work; see the module docstring."""

    def __init__(self, label: str, every: float = 3.0, stream: TextIO | None = None):
        self.label = label
        self.every = every
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = os.environ.get("RINGKERNEL_PROGRESS", "1") not in ("0", "")
        self.phase = "running"
        self.start = time.perf_counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._tick, name=f"heartbeat {label}", daemon=True)
        self._write(f"{label}: started")
        if self.enabled:
            self._thread.start()
            atexit.register(self.stop)

    def say(self, phase: str) -> None:
        """Set the current phase and show it now."""
        self.phase = phase
        self._write(f"{self.label}: {phase} ({self.elapsed():.0f} s)")

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._write(f"{self.label}: done in {self.elapsed():.1f} s")

    def _tick(self) -> None:
        while not self._stop.wait(self.every):
            self._write(f"{self.label}: {self.phase} ({self.elapsed():.0f} s)")

    def _write(self, text: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            try:
                self.stream.write(text + "\n")
                self.stream.flush()
            except (ValueError, OSError):  # the stream closed under us (interpreter exit): stay quiet
                pass

    def __enter__(self) -> "Heartbeat":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def heartbeat(label: str, every: float = 3.0, stream: TextIO | None = None) -> Heartbeat:
    """Start a status line for `label` on stderr, updated every `every` seconds until stop()."""
    return Heartbeat(label, every, stream)


__all__ = ["Heartbeat", "heartbeat"]
