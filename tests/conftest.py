"""Shared fixtures for the codegen suite: the `target` parametrisation and the kernel corpora path.

Kernel corpora live in tests/kernels/*.py (real files: the front end reads source via inspect) and
are imported by module name (basic_kernels, stencil_kernels, ...). The numba CUDA simulator is fixed
at import time, so tests/sim/ is collected only in its own process (see tests/test_sim.py).
"""
import os
import shutil
import sys

# numba's OpenMP workers busy-wait between parallel regions; on an oversubscribed CI machine (2
# cores, actor threads spinning) that made each small CPU-backend launch take ~12 ms instead of
# 0.1 ms. Passive waiting keeps the suite fast; set before numba loads its threading layer.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
# Check the IR between compiler passes (ringkernel_codegen/ir/verify.py) in every test.
os.environ.setdefault("RINGKERNEL_VERIFY_IR", "1")

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "kernels"))

collect_ignore = [] if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else ["sim"]

# Every gpu test gets a time limit (RINGKERNEL_GPU_TEST_TIMEOUT seconds, default 120) unless it
# sets its own: one failing spin test would otherwise leave a kernel resident and hang every later
# test. The thread method dumps each thread's stack (where the host is blocked) and ends the run.
GPU_TEST_TIMEOUT = float(os.environ.get("RINGKERNEL_GPU_TEST_TIMEOUT", "120"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("gpu") is not None and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(GPU_TEST_TIMEOUT, method="thread"))


def gpu_available() -> bool:
    try:
        from ringkernel_runtime.backends import cuda

        return bool(cuda.available())
    except Exception:  # noqa: BLE001 - no driver / no cuda-python: no GPU
        return False


def nvcc_path():
    return shutil.which("nvcc")


# "cpu" always; "gpu" runs the generated CUDA C++ through the cuda backend when a GPU is usable.
TARGETS = [
    pytest.param("cpu", id="cpu"),
    pytest.param("gpu", id="gpu", marks=pytest.mark.gpu),
]


@pytest.fixture(params=TARGETS)
def target(request):
    """The backend name to pass to .to(...): "cpu", or "cuda" for the gpu target."""
    if request.param == "gpu":
        if not gpu_available():
            pytest.skip("no usable CUDA GPU (ringkernel_runtime.backends.cuda.available() is False)")
        return "cuda"
    return "cpu"


@pytest.fixture(scope="session")
def nvcc():
    path = nvcc_path()
    if path is None:
        pytest.skip("nvcc not found on PATH")
    return path
