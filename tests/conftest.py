"""Shared fixtures for the codegen suite: the `target` parametrisation.

Kernel corpora live in the package tests/kernels (real files: the front end reads source via
inspect), imported as `from tests.kernels import basic_kernels`; tests/ is a package, so nothing
edits sys.path. The numba CUDA simulator is fixed at import time, so tests/sim/ is collected only
in its own process (see tests/test_sim.py).
"""
import os
import shutil

# numba's OpenMP workers busy-wait between parallel regions; on an oversubscribed CI machine (2
# cores, actor threads spinning) that made each small CPU-backend launch take ~12 ms instead of
# 0.1 ms. Passive waiting keeps the suite fast; set before numba loads its threading layer.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
# Check the IR between compiler passes (ringkernel_codegen/ir/verify.py) in every test.
os.environ.setdefault("RINGKERNEL_VERIFY_IR", "1")

import pytest

collect_ignore = [] if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else ["sim"]

# Every gpu test gets a time limit (RINGKERNEL_GPU_TEST_TIMEOUT seconds, default 120) unless it
# sets its own: one failing spin test would otherwise leave a kernel resident and hang every later
# test. The thread method dumps each thread's stack (where the host is blocked) and ends the run.
GPU_TEST_TIMEOUT = float(os.environ.get("RINGKERNEL_GPU_TEST_TIMEOUT", "120"))


def pytest_addoption(parser):
    parser.addoption("--boundscheck", action="store_true",
                     help="run every cpu launch that does not say otherwise bounds-checked "
                          "(RINGKERNEL_BOUNDSCHECK=1): an out-of-bounds index fails its test with the "
                          "kernel's file:line, the array, the index and the extent")


def pytest_configure(config):
    if config.getoption("--boundscheck"):
        os.environ["RINGKERNEL_BOUNDSCHECK"] = "1"


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


# The targets expression/type/fission/stencil tests run on: every backend in the registry
# (ringkernel_codegen.backends), cpu always, the others where their provider is available here:
# numba under numba's CUDA simulator (tests/test_sim.py runs those files again in a simulator
# process) or on a GPU, cuda on a GPU. RINGKERNEL_TARGETS=numba,cpu restricts the list.
_SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
# What numba's simulator cannot run: warp/block collectives and cross-block grid barriers, and
# libdevice math (the simulator's math is Python's); the reason is the skip message.
SIM_LACKS_KINDS = {"warp_collective": "the simulator has no warp operations",
                   "block_collective": "the simulator has no block collectives",
                   "grid_barrier": "the simulator runs blocks one after another (no grid barrier)"}


class Target(str):
    """The backend name a test passes to .to(...); `.needs(kernel)` skips what this target cannot run."""

    backend = None
    simulated = False

    def needs(self, *kernels):
        if not self.simulated:
            return
        from ringkernel_codegen.emit.common import device_functions
        from ringkernel_codegen.intrinsics import Intrinsic
        from ringkernel_codegen.ir import nodes as ir

        for k in kernels:
            for fn in (k._f, *device_functions(k._f)):
                for n in ir.walk(fn.body):
                    c = getattr(n, "callee", None)
                    if isinstance(c, Intrinsic) and c.kind in SIM_LACKS_KINDS:
                        pytest.skip(f"{k.name}: {SIM_LACKS_KINDS[c.kind]} ({c.name})")
            if "cuda.libdevice" in k.numba_source():
                pytest.skip(f"{k.name}: the simulator has no libdevice (math spelled for the GPU)")


def _target_params():
    from ringkernel_codegen import backends

    wanted = [t for t in os.environ.get("RINGKERNEL_TARGETS", "").split(",") if t]
    out = []
    for name in backends.names():
        if wanted and name not in wanted:
            continue
        b = backends.get(name)
        if b is backends.CPU:
            marks, ident = [], name
        elif b is backends.NUMBA and _SIMULATOR:
            marks, ident = [pytest.mark.sim], f"{name}-sim"
        else:
            marks, ident = [pytest.mark.gpu], name
        out.append(pytest.param(name, id=ident, marks=marks))
    return out


@pytest.fixture(params=_target_params())
def target(request):
    """A backend name for .to(...) (a Target: str with .needs(kernel)); skipped where unavailable."""
    from ringkernel_codegen import backends

    b = backends.get(request.param)
    why = b.unavailable_reason()
    if why is not None:
        pytest.skip(f"the {b.name} backend is not available here ({why})")
    t = Target(b.name)
    t.backend = b
    t.simulated = b is backends.NUMBA and _SIMULATOR
    return t


@pytest.fixture(scope="session")
def nvcc():
    path = nvcc_path()
    if path is None:
        pytest.skip("nvcc not found on PATH")
    return path
