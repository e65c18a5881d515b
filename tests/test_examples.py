"""The examples run as documented, the notebook executes headless, and CI runs the README's command."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_example(name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run an example as a user would: its own process, from a folder outside the checkout."""
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT.parent)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_saxpy_example_matches_numpy_and_prints_ok():
    proc = run_example("saxpy.py")
    assert proc.stdout.splitlines()[-1] == "OK"


def test_heat2d_example_conserves_heat_and_reports_time_per_step():
    proc = run_example("heat2d.py")
    out = proc.stdout
    assert "first 5 steps match NumPy" in out
    # The hot 256x256 square of ones holds 65536 units of heat; in 300 steps (diffusion length
    # ~sqrt(4 * 0.2 * 300) ~ 15 cells) none reaches the fixed-zero edge 128 cells away.
    checksum = float(re.search(r"checksum \(sum of field\) = ([0-9.]+)", out).group(1))
    assert abs(checksum - 65536.0) < 1.0
    assert re.search(r"time per step = [0-9.]+ ms", out)


def test_stencil_notebook_executes_headless_and_plots(monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the kernel process inherits it: no display needed
    path = EXAMPLES / "notebooks" / "stencil_prototyping.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plot cell produced no image"
    assert any("max |ringkernel - numpy|" in o.get("text", "") for o in outputs)


# ---------------------------------------------------------------------------- README and CI
def readme_commands() -> list[str]:
    """The one-line set-up commands in README.md (lines that create a venv)."""
    return [line.strip() for line in (ROOT / "README.md").read_text().splitlines()
            if line.strip().startswith("python3 -m venv ")]


def test_readme_has_one_example_command_and_one_test_command():
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert sum("examples/heat2d.py" in c for c in commands) == 1
    assert sum("-m pytest" in c for c in commands) == 1


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = next(c for c in readme_commands() if "-m pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci
    assert "set -euo pipefail" in ci
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
