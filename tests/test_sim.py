"""Runs tests/sim in its own process with numba's CUDA simulator (chosen at numba import time)."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.sim
def test_numba_source_runs_in_cuda_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "tests/sim", "-q", "-p", "no:cacheprovider"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"simulator tests did not finish in {exc.timeout} s:\n{exc.stdout or ''}")
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, f"tests/sim failed (rc={proc.returncode}):\n{tail}"
    assert re.search(r"\b\d+ passed\b", proc.stdout) and not re.search(r"\b\d+ (failed|error)", proc.stdout), tail
