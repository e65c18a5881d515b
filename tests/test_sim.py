"""Runs tests/sim in its own process with numba's CUDA simulator (chosen at numba import time)."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# the files whose `target` tests also run on the numba backend under the simulator (conftest.target)
TARGET_FILES = ("tests/test_expressions.py", "tests/test_types.py", "tests/test_fission.py", "tests/test_stencils.py",
                "tests/test_cpu_schedule.py")


@pytest.mark.sim
def test_numba_source_runs_in_cuda_simulator():
    """tests/sim, and the numba-sim target of the target-parametrised files (-m sim selects those)."""
    runtime_tests = os.path.join(ROOT, "tests", "runtime")   # ring_kernels for tests/sim/test_numba_actors.py
    path = os.pathsep.join(p for p in (runtime_tests, os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", RINGKERNEL_TARGETS="numba", PYTHONPATH=path)
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "tests/sim", *TARGET_FILES, "-m", "sim", "-q",
                               "-p", "no:cacheprovider"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"simulator tests did not finish in {exc.timeout} s:\n{exc.stdout or ''}")
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, f"tests/sim failed (rc={proc.returncode}):\n{tail}"
    assert re.search(r"\b\d+ passed\b", proc.stdout) and not re.search(r"\b\d+ (failed|error)", proc.stdout), tail
