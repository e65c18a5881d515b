"""tools/gpu_first_run.sh, the one-call GPU session, in its dry-run mode: every step runs here
without a GPU (the GPU parts skip cleanly), within budget, leaving at most 8 files."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tools", "gpu_first_run.sh")
STEPS = ["env", "smoke", "cuda_actors", "numba_actors", "bench", "kernels", "gpu_check"]


def _run(out, **env):
    full = dict(os.environ, OUT=str(out), PY=sys.executable, **env)
    full.pop("NUMBA_ENABLE_CUDASIM", None)
    p = subprocess.run(["bash", SCRIPT, "--dry-run"], env=full, capture_output=True, text=True, timeout=600)
    summary = (out / "summary.txt").read_text()
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\d\d (\w+)\s+(.*)$", summary, re.M)}
    return p, summary, rows


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("first_run"))


def test_dry_run_runs_every_step_and_each_passes_or_skips(dry_run):
    p, summary, rows = dry_run
    assert p.returncode == 0, summary + p.stderr
    assert list(rows) == STEPS
    for name in STEPS:
        assert rows[name].startswith("ok"), (name, rows[name])
    # the pytest steps ran their gpu tests and skipped them all (no GPU here), nothing failed
    for name in ("smoke", "cuda_actors", "numba_actors", "kernels"):
        assert re.search(r"\d+ skipped", rows[name]) and "failed" not in rows[name], rows[name]


def test_dry_run_leaves_a_summary_and_one_log_per_step_at_most_8_files(dry_run, tmp_path):
    p, summary, rows = dry_run
    out = re.search(r"logs in (\S+)", summary).group(1)
    files = sorted(os.listdir(out))
    assert files == sorted(["summary.txt"] + [f"{i:02d}_{n}.log" for i, n in enumerate(STEPS, 1)])
    env_log = open(os.path.join(out, "01_env.log")).read()
    assert "actor adder: NVRTC compile" in env_log and "no usable GPU" in env_log


def test_no_step_starts_once_the_budget_is_spent(tmp_path):
    p, summary, rows = _run(tmp_path, RK_BUDGET_S="5", RK_MIN_STEP_S="10")
    assert p.returncode == 0
    assert list(rows) == STEPS and all(r.startswith("not started (budget") for r in rows.values())


def test_a_step_past_its_cap_is_killed_and_reported(tmp_path):
    p, summary, rows = _run(tmp_path, RK_STEPS="kernels", RK_CAP_KERNELS="2")
    assert p.returncode == 1
    assert rows["kernels"].startswith("TIMEOUT (cap 2s)")
    assert all(rows[n].startswith("not selected") for n in STEPS if n != "kernels")


def test_every_gpu_test_gets_a_thread_method_time_limit_unless_it_sets_its_own(request):
    import importlib.util
    spec = importlib.util.spec_from_file_location("_tests_conftest", os.path.join(ROOT, "tests", "conftest.py"))
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    assert request.config.pluginmanager.hasplugin("timeout")    # pytest-timeout is installed

    class Item:
        def __init__(self, *marks):
            self.marks = list(marks)

        def get_closest_marker(self, name):
            return next((m for m in self.marks if m.name == name), None)

        def add_marker(self, mark):
            self.marks.append(mark.mark)

    gpu, own, cpu = (Item(pytest.mark.gpu.mark), Item(pytest.mark.gpu.mark, pytest.mark.timeout(7).mark),
                     Item())
    conftest.pytest_collection_modifyitems(request.config, [gpu, own, cpu])
    limit = gpu.get_closest_marker("timeout")
    assert limit.args == (conftest.GPU_TEST_TIMEOUT,) and limit.kwargs == {"method": "thread"}
    assert own.get_closest_marker("timeout").args == (7,) and len(own.marks) == 2
    assert cpu.get_closest_marker("timeout") is None
