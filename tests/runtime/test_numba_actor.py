"""The numba.cuda actor (Runtime(backend="numba")), checked without a GPU.

Its behaviour runs in the numba CUDA simulator (tests/sim/test_numba_actors.py) and on a GPU
(test_gpu_actors.py, `numba` parameter). Here: every DSL ring kernel's numba actor module types
and lowers to PTX for sm_90 through numba itself, links with the CUDA C++ ordered-access helpers
(templates/numba_actor_ops.cu) into an sm_90 cubin, polls and publishes mapped positions only
through those helpers, and is byte-identical for identical input.
"""
import re
import shutil
import subprocess

import numba
import numpy as np
import pytest

from test_gpu_actors import RING_KERNELS
from ringkernel_codegen.loader import load_source
from ringkernel_runtime import Runtime
from ringkernel_runtime import actor_abi as abi
from ringkernel_runtime.backends import numba_ops
from ringkernel_runtime.errors import BackendUnavailableError, LaunchError
from ringkernel_runtime.layout import CB_WORDS
from ringkernel_runtime.queues import Queue


@pytest.fixture
def offline_sm90(monkeypatch):
    """numba compiles device functions for the *current* device's compute capability, which asks
    the driver; with no GPU here, answer sm_90 (the PTX is what a GPU's numba would build)."""
    import numba.cuda.dispatcher as dispatcher

    class Sm90:
        compute_capability = (9, 0)

    monkeypatch.setattr(dispatcher, "get_current_device", lambda: Sm90())


def _signature(kernel):
    """Argument types of rk_actor_<name>, built the way NumbaActor passes them (1-D C arrays)."""
    def lane(t):
        q = Queue(t.dtype if t is not None else abi.NO_OUTPUT_DTYPE, 8, 0)
        return [q.hdr, q.meta, q.payload]

    state = np.zeros(1, kernel.state_type.dtype if kernel.state_type else abi.NO_STATE_DTYPE)
    args = [np.zeros(CB_WORDS, np.int64), np.zeros(abi.CTX_WORDS, np.int64), *lane(kernel.input_type),
            *lane(kernel.input_type), *lane(kernel.output_type), state, np.int64(16)]
    for name in sorted(kernel.peers):
        args += [*lane(kernel.peers[name]), np.zeros(16, np.uint64)]
    return tuple(numba.typeof(a) for a in args)


def _ptx(kernel) -> str:
    from numba import cuda
    module = load_source(kernel.numba_source(threads=128), f"{kernel.name}_ring_numba")
    fn = getattr(module, f"rk_actor_{kernel.name}")
    ptx, _ = cuda.compile_ptx(fn.py_func, _signature(kernel), cc=(9, 0))
    return ptx


pytestmark = pytest.mark.skipif(numba_ops.SIMULATOR, reason="needs the real numba.cuda compiler")


@pytest.mark.parametrize("kernel", RING_KERNELS, ids=lambda k: k.name)
def test_numba_actor_lowers_to_ptx_calling_the_linked_helpers(kernel, offline_sm90):
    ptx = _ptx(kernel)
    assert ".visible .entry" in ptx and ".target sm_90" in ptx
    for helper in ("rk_nb_poll_u64", "rk_nb_publish_u64", "rk_nb_fence_acq_rel_sys", "rk_nb_globaltimer"):
        assert re.search(r"\.extern \.func .*" + helper, ptx), helper


@pytest.mark.nvcc
@pytest.mark.parametrize("kernel", RING_KERNELS, ids=lambda k: k.name)
def test_numba_actor_links_with_the_cuda_helpers_into_an_sm90_cubin(kernel, offline_sm90, nvcc, tmp_path):
    ptxas, nvlink = shutil.which("ptxas"), shutil.which("nvlink")
    if not (ptxas and nvlink):
        pytest.skip("ptxas / nvlink not on PATH")
    (tmp_path / "actor.ptx").write_text(_ptx(kernel))
    steps = [
        [nvcc, "-arch=sm_90", "-rdc=true", "-ptx", numba_ops.ops_source_path(), "-o", str(tmp_path / "ops.ptx")],
        [ptxas, "-arch=sm_90", "-c", str(tmp_path / "actor.ptx"), "-o", str(tmp_path / "actor.o")],
        [ptxas, "-arch=sm_90", "-c", str(tmp_path / "ops.ptx"), "-o", str(tmp_path / "ops.o")],
        [nvlink, "-arch=sm_90", str(tmp_path / "actor.o"), str(tmp_path / "ops.o"), "-o", str(tmp_path / "a.cubin")],
    ]
    for cmd in steps:
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stderr}"
    assert (tmp_path / "a.cubin").stat().st_size > 0


@pytest.mark.parametrize("kernel", RING_KERNELS, ids=lambda k: k.name)
def test_mapped_positions_and_commands_go_through_the_ordered_helpers(kernel):
    src = kernel.numba_source(threads=128)
    loop = src[src.index("# ---- resident actor loop"):]
    for m in re.finditer(r"\b(_QH_TAIL|_QH_HEAD|_CB_SEQ|_CB_ACK|_CB_EXIT|_CB_CMD)\b", loop):
        line = loop[loop.rfind("\n", 0, m.start()) + 1:loop.find("\n", m.end())]
        if line.lstrip().startswith(("_QH_", "_CB_")):          # the constants' definitions
            continue
        assert re.search(r"_rko\.(poll|publish|store)_[iu]\(\w+, " + m.group(1), line), line
    assert "_rko.fence_sys()       # acquire: the host's payload before its tail" in loop


@pytest.mark.parametrize("kernel", RING_KERNELS, ids=lambda k: k.name)
def test_numba_actor_source_is_byte_identical_for_identical_input(kernel):
    assert kernel.numba_source(threads=128) == kernel.numba_source(threads=128)


def test_helpers_use_system_scope_relaxed_polls_and_release_stores():
    cu = open(numba_ops.ops_source_path()).read()
    assert "ld.relaxed.sys.b64" in cu and "st.release.sys.b64" in cu and "fence.acq_rel.sys" in cu
    assert "%%globaltimer" in cu and "#include" not in cu


def test_numba_backend_without_a_gpu_is_a_clear_error():
    from ringkernel_runtime.backends import cuda
    if cuda.available():
        pytest.skip("a GPU is usable here")
    with pytest.raises(BackendUnavailableError, match="numba backend is not available"):
        Runtime(backend="numba")


def test_hand_written_handlers_are_refused_with_advice():
    from kernels import adder as njit_adder
    from ringkernel_runtime.backends.numba_actor import NumbaActor
    with pytest.raises(LaunchError, match="backend='cpu'"):
        NumbaActor(njit_adder, 1, 8, np.zeros(1, abi.NO_STATE_DTYPE), 0, 0, 1)
