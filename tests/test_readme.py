"""The README cannot lie: its Python blocks run as one program, and its command-line block runs.

The Python blocks are written to a real file (the front end reads kernel source through inspect)
and run in their own process, one after another in one namespace, as a reader would paste them.
Each command of the `ringkernel-codegen` block runs from a scratch folder against the repository's
examples and must exit 0."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README, re.M | re.S)


def test_the_readme_has_the_blocks_this_test_runs():
    assert len(blocks("python")) >= 2 and any("ringkernel-codegen" in b for b in blocks("bash"))


def test_every_python_block_of_the_readme_runs(tmp_path):
    program = tmp_path / "readme_blocks.py"
    program.write_text("\n\n".join(blocks("python")))
    proc = subprocess.run([sys.executable, str(program)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert 'extern "C" __global__' in out                     # print(heat.cuda_source())
    assert "stencil heat(" in out                             # print(heat.ir())
    assert re.search(r"^3\.0$", out, re.M)                    # the adder's reply to Add(1, 2)


def _cli_commands() -> list[str]:
    block = next(b for b in blocks("bash") if "ringkernel-codegen emit" in b)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip().startswith("ringkernel-codegen")]


@pytest.mark.parametrize("command", _cli_commands())
def test_every_command_line_example_of_the_readme_runs(command, tmp_path):
    exe = shutil.which("ringkernel-codegen", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("the ringkernel-codegen script is not installed next to this Python")
    if " check " in f" {command} " and shutil.which("nvcc") is None:
        pytest.skip("no nvcc: `check` would use NVRTC, tested elsewhere")
    args = [str(ROOT / a) if a.startswith("examples/") else a for a in shlex.split(command)[1:]]
    proc = subprocess.run([exe, *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    if args[0] == "emit":
        assert list((tmp_path / "build").iterdir()), "emit wrote nothing into ./build"
