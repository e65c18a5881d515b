"""The examples run as documented, the notebook executes headless, and CI runs the README's command."""
from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
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


def test_heat2d_example_reports_the_heat_numpy_computes_and_saves_a_picture(tmp_path):
    png = tmp_path / "heat.png"
    proc = run_example("heat2d.py", "--n", "128", "--steps", "3000", "--png", str(png))
    out = proc.stdout
    assert "first 5 steps match NumPy" in out
    # the same run in NumPy: a 64x64 hot square, 3000 steps, heat flows out through the zero edge
    u = np.zeros((128, 128), np.float32)
    u[32:96, 32:96] = 1.0
    alpha = np.float32(0.2)
    for _ in range(3000):
        c = u[1:-1, 1:-1]
        u[1:-1, 1:-1] = c + alpha * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - np.float32(4.0) * c)
    m = re.search(r"heat in the plate: ([0-9.]+) -> ([0-9.]+) \(([0-9.]+)% left", out)
    assert m and float(m.group(1)) == 4096.0
    assert abs(float(m.group(2)) - float(u.sum(dtype=np.float64))) < 0.5
    assert 10.0 < float(m.group(3)) < 95.0                       # something visibly happened
    hottest = float(re.search(r"hottest cell: 1.000 -> ([0-9.]+)", out).group(1))
    assert abs(hottest - float(u.max())) < 2e-3
    assert re.search(r"time per step = [0-9.]+ ms", out)
    assert f"picture: {png}" in out and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # never silent while it compiles and runs: a status line on stderr, results alone on stdout
    assert "heat2d: running 3000 steps" in proc.stderr and "heat2d:" not in out


def test_wavesim3d_example_steers_a_persistent_simulation_numpy_agrees(tmp_path):
    out = tmp_path / "frames"
    proc = run_example("wavesim3d.py", "--n", "24", "--steps", "40", "--every", "20", "--boundary", "reflecting",
                       "--out", str(out))
    text = proc.stdout
    assert "first 5 steps match NumPy" in text
    # the same run in NumPy: a Gaussian blob (radius 3) at (12, 12, 8), 20 steps, a second blob
    # written at (12, 16, 16) after exactly 20 steps, 20 more; pressure 0 beyond the walls
    r = np.arange(-3, 4)
    z, y, x = np.meshgrid(r, r, r, indexing="ij")
    blob = np.exp(-(x * x + y * y + z * z) / 2.0)
    p, q = np.zeros((24, 24, 24)), np.zeros((24, 24, 24))
    p[9:16, 9:16, 5:12] = blob
    for step in range(40):
        if step == 20:
            p[9:16, 13:20, 13:20] = blob
        s = np.pad(p, 1)
        lap = s[1:-1, 1:-1, 2:] + s[1:-1, 1:-1, :-2] + s[1:-1, 2:, 1:-1] + s[1:-1, :-2, 1:-1] + s[2:, 1:-1, 1:-1] \
            + s[:-2, 1:-1, 1:-1] - 6 * p
        p, q = 2 * p - q + 0.1 * lap, p
    final = float(re.search(r"final max \|p\| = ([0-9.]+)", text).group(1))
    assert abs(final - np.abs(p).max()) < 1e-4 * np.abs(p).max() + 1e-6
    assert "second source injected at step 20 (asked for step 20)" in text
    frames = sorted(out.glob("step_*.png"))
    assert [f.name for f in frames] == ["step_0020.png", "step_0040.png"]
    assert all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in frames)
    assert f"picture {frames[0]}" in text


def test_montecarlo_example_prices_within_3_se_of_the_closed_forms_and_saves_a_picture(tmp_path):
    png = tmp_path / "mc.png"
    proc = run_example("montecarlo.py", "--paths", "65536", "--backend", "cpu", "--png", str(png))
    out = proc.stdout
    # Black-Scholes call, S0=100 K=100 r=0.05 sigma=0.2 T=1, computed here from the formula
    n = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))  # noqa: E731
    d1 = (math.log(100 / 100) + (0.05 + 0.02) * 1) / 0.2
    bs = 100 * n(d1) - 100 * math.exp(-0.05) * n(d1 - 0.2)
    rows = re.findall(r"^European call K=100 +(plain|antithetic|control variate) +([0-9.]+) +([0-9.]+) +([0-9.]+)", out, re.M)
    assert len(rows) == 3, out
    for name, price, se, closed in rows:
        assert abs(float(closed) - bs) < 1e-4 and abs(float(price) - bs) <= 3 * float(se), (name, price, se, bs)
    vrf = re.search(r"^European call K=180 +importance sampling +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +([0-9.]+)", out, re.M)
    assert vrf and float(vrf.group(1)) > 50, out
    assert len(re.findall(r"^Asian call", out, re.M)) == 5
    assert f"picture: {png}" in out and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "montecarlo:" in proc.stderr and "montecarlo:" not in out


def test_txmon_example_catches_exactly_the_planted_fraud_and_accounts_for_every_transaction(tmp_path):
    png = tmp_path / "tx.png"
    proc = run_example("txmon.py", "--items", "25", "--png", str(png))
    out = proc.stdout
    m = re.search(r"^txmon on cpu: (\d+) transactions, 64 accounts, planted: (\d+) velocity, (\d+) amount, (\d+) geo, (\d+) malformed", out, re.M)
    assert m, out
    sent, vel, amt, geo, bad = map(int, m.groups())
    assert min(vel, amt, geo) > 0 and bad > 0
    assert f"alerts: {vel + amt + geo} (velocity {vel}, amount {amt}, geo {geo})" in out
    assert "recall 1.000, precision 1.000" in out and " 0 false alarms" in out
    d = re.search(r"^dead letters: (\d+) .*ingest restarted (\d+) times; (\d+) reached the alert stage", out, re.M)
    assert d and int(d.group(1)) == bad == int(d.group(2)) and int(d.group(3)) + bad == sent, out
    assert "(flags agree)" in out
    assert f"picture: {png}" in out and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_graph_bfs_example_reports_levels_components_and_pagerank_and_saves_a_picture(tmp_path):
    png = tmp_path / "g.png"
    proc = run_example("graph_bfs.py", "--n", "3000", "--backend", "cpu", "--png", str(png))
    out = proc.stdout
    m = re.search(r"BFS from vertex 0: (\d+) reached in (\d+) levels; vertices per level: ([0-9, ]+)$", out, re.M)
    assert m, out
    per_level = [int(v) for v in m.group(3).split(",")]
    assert int(m.group(1)) == 3000 == sum(per_level) and len(per_level) == int(m.group(2)) and per_level[0] == 1
    assert "BFS matches a plain queue BFS" in out
    assert "@persistent BFS (one resident launch, a grid barrier per level) matches it" in out
    assert "connected components: 1 (largest 3000 vertices)" in out     # preferential attachment: connected
    assert re.search(r"PageRank \(d=0.85\): converged in \d+ iterations, sum 1.000000", out)
    assert f"picture: {png}" in out and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _substance(cell) -> tuple:
    """What a code cell showed, comparable across runs: its text with numbers taken out (and the
    name ipykernel gives the cell's file, which may vary), the numbers, and the kinds of rich
    output (a plot's PNG bytes differ between matplotlib builds; that there is a plot does not)."""
    text, numbers, kinds = [], [], []
    for o in cell.outputs:
        if o.output_type == "stream":
            body = re.sub(r"\b\d+\.py:", "<cell>.py:", o.text)
            numbers += [float(n) for n in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", body)]
            text.append(re.sub(r"-?\d+\.\d+(?:e-?\d+)?", "<n>", body))
        else:
            kinds.append((o.output_type, sorted(o.get("data", {}))))
    return "".join(text), numbers, kinds


def test_committed_notebook_shows_its_outputs_and_reexecutes_to_the_same_substance(monkeypatch):
    pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    import nbformat
    spec = importlib.util.spec_from_file_location("run_notebook", ROOT / "tools" / "run_notebook.py")
    run_notebook = importlib.util.module_from_spec(spec)   # a tool, not a package: loaded from its file
    spec.loader.exec_module(run_notebook)
    execute = run_notebook.execute
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the kernel process inherits it: no display needed
    path = EXAMPLES / "notebooks" / "stencil_prototyping.ipynb"
    committed = nbformat.read(path, as_version=4)
    code = [c for c in committed.cells if c.cell_type == "code"]
    assert all(c.outputs for c in code[1:]), "commit the notebook executed: tools/run_notebook.py"
    outputs = [o for c in code for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the committed notebook has no plot"
    fresh = [c for c in execute(path).cells if c.cell_type == "code"]   # raises on a failing cell
    assert len(fresh) == len(code)
    for i, (old, new) in enumerate(zip(code, fresh)):
        (t0, n0, k0), (t1, n1, k1) = _substance(old), _substance(new)
        assert t1 == t0 and k1 == k0, f"cell {i} shows something else now: rerun tools/run_notebook.py if meant"
        assert np.allclose(n1, n0, rtol=1e-5, atol=1e-6), f"cell {i}: numbers changed {n0} -> {n1}"
    assert any("max |ringkernel - numpy| = 0.0" in o.get("text", "") for c in fresh for o in c.outputs)


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
