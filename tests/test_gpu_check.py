"""tools/gpu_check.py without a GPU: its bounds-checked cpu reference pass runs every corpus kernel
with the launch geometry recorded beside it (GEOMETRY / ARGS in each corpus module), and a kernel
indexing out of bounds is a per-kernel error line, never heap corruption."""
import glob
import importlib
import importlib.util
import os
import re
import subprocess
import sys

import pytest

from ringkernel_codegen import Kernel, Stencil
from ringkernel_codegen.emit.common import device_functions
from ringkernel_codegen.intrinsics import Intrinsic
from ringkernel_codegen.ir import nodes as ir
from tests.kernels import objects_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Found here, not taken from gpu_check.CORPORA: a corpus file gpu_check does not list fails test (a).
CORPUS_FILES = sorted(glob.glob(os.path.join(ROOT, "tests", "kernels", "*_kernels.py"))) + [
    os.path.join(ROOT, "examples", "saxpy.py"), os.path.join(ROOT, "examples", "heat2d.py")]
# Kernels the cpu backend rejects by design (their errors are specified in test_fission.py and
# test_grid_sync.py): gpu_check reports them as refused, not as run.
REFUSED_BY_DESIGN = {"barrier_kernels.divergent_if_barrier", "barrier_kernels.divergent_loop_barrier",
                     "grid_kernels.grid_sync_in_branch"}
NEEDS_GEOMETRY_KINDS = {"alloc", "warp_collective", "block_collective"}
LINE = re.compile(r"^(?P<label>\w+\.\S+)\s+(?P<launch>stencil|\[.*?\])\s+(?P<status>.*)$")


def corpus_module(path):
    name = os.path.splitext(os.path.basename(path))[0]
    if os.path.dirname(path).endswith("kernels"):
        return name, importlib.import_module(f"tests.kernels.{name}")  # the corpus package
    spec = importlib.util.spec_from_file_location(f"_gpu_check_corpus_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return name, module


def corpus_kernels(module) -> list:
    """Every distinct kernel or stencil object a module holds, by name or in a module-level dict/list
    (@persistent kernels are not launched once: tests/test_persistent_gpu.py checks them)."""
    return [k for _, _, k in objects_of(module, (Kernel, Stencil))]


CORPUS = [corpus_module(p) for p in CORPUS_FILES]


def uses_kind(f: ir.Function, kinds) -> bool:
    return any(isinstance(getattr(n, "callee", None), Intrinsic) and n.callee.kind in kinds
               for fn in (f, *device_functions(f)) for n in ir.walk(fn.body))


def block_dims(block) -> tuple:
    block = (block,) if isinstance(block, int) else tuple(block)
    return block + (1,) * (3 - len(block))


@pytest.fixture(scope="module")
def reference_pass():
    """One run of `gpu_check.py --reference-only` over the whole corpus (numba caches the compiles,
    in a folder of gpu_check's own: a first run on a fresh machine takes a minute or two)."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, os.path.join("tools", "gpu_check.py"), "--reference-only"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    return proc


def test_reference_pass_runs_every_corpus_kernel_in_bounds(reference_pass):
    proc = reference_pass
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "import failed" not in out and "malloc" not in out, out[-4000:]
    lines = [m for m in map(LINE.match, proc.stdout.splitlines()) if m]
    reported = {}
    for m in lines:
        reported.setdefault(m["label"].split(".")[0], []).append(m)
    for name, module in CORPUS:
        assert len(reported.get(name, [])) == len(corpus_kernels(module)), \
            f"{name}: {len(corpus_kernels(module))} kernels, gpu_check reported {len(reported.get(name, []))}"
    assert not [m.group(0) for m in lines if "out of bounds" in m["status"]]
    refused = {m["label"] for m in lines if m["status"].startswith("skipped")}
    assert refused == REFUSED_BY_DESIGN, [m.group(0) for m in lines if m["status"].startswith("skipped")]
    assert all(m["status"] == "ok" for m in lines if m["label"] not in REFUSED_BY_DESIGN)
    assert re.search(r"cpu reference: \d+ kernels, \d+ ok, 3 refused, 0 out of bounds", proc.stdout)


@pytest.mark.parametrize("name,module", CORPUS, ids=[n for n, _ in CORPUS])
def test_kernels_assuming_a_block_shape_record_their_geometry(name, module):
    """Kernels with shared/local arrays or warp/block collectives have a GEOMETRY entry; where a
    shared array is indexed by a bare thread index, the block covers its extent on that axis (so
    every slot is written: a larger block is caught by the bounds-checked reference pass above)."""
    geometry, args = getattr(module, "GEOMETRY", {}), getattr(module, "ARGS", {})
    kernels = {k.name: k for k in corpus_kernels(module)}
    assert set(geometry) <= set(kernels) and set(args) <= set(kernels), "entries for kernels this module lacks"
    for kname, given in args.items():
        assert set(given) <= {p.name for p in kernels[kname].params}, f"{kname}: ARGS names no such parameter"
    for k in kernels.values():
        if isinstance(k, Stencil):
            continue
        if uses_kind(k._f, NEEDS_GEOMETRY_KINDS):
            assert k.name in geometry, f"{name}.{k.name} assumes a block shape but has no GEOMETRY entry"
        if k.name not in geometry:
            continue
        block = block_dims(geometry[k.name][1])
        assigned = {}
        for n in ir.walk(k._f.body):
            if isinstance(n, ir.Assign):
                assigned.setdefault(n.target, []).append(n.value)
        axis_of = {}
        for var, values in assigned.items():
            names = {getattr(getattr(v, "callee", None), "name", None) for v in values}
            if len(names) == 1 and next(iter(names)) in ("thread_idx_x", "thread_idx_y", "thread_idx_z"):
                axis_of[var] = "xyz".index(next(iter(names))[-1])
        shared = {n.name: n.shape for n in ir.walk(k._f.body) if isinstance(n, ir.Alloc) and n.space == "shared"}
        for n in ir.walk(k._f.body):
            if isinstance(n, (ir.Load, ir.Store)) and isinstance(n.array, ir.Var) and n.array.name in shared:
                extent = shared[n.array.name]
                extent = (extent,) if isinstance(extent, int) else tuple(extent)
                for pos, index in enumerate(n.indices):
                    if isinstance(index, ir.Var) and index.name in axis_of:
                        axis = axis_of[index.name]
                        assert block[axis] >= extent[pos], (
                            f"{name}.{k.name}: block {block} leaves shared {n.array.name}{list(extent)} "
                            f"index {pos} ({index.name}) partly unwritten")


OUT_OF_BOUNDS_SCRIPT = r"""
import gpu_check as G  # before numba compiles anything: the reference runs bounds-checked
import numpy as np
from tests.kernels import barrier_kernels as B
from tests.kernels import type_kernels as T

def show(what, k, geom, fixed):
    args = G.make_args(k, 32, np.random.default_rng(0), geom, fixed)
    print(what, *G.reference(k, args, geom), sep=" | ", flush=True)

show("wide block", B.barrier_in_for_loop, (1, 32), {"rounds": 3})            # 16-element shared buf
show("short array", T.annotated_i64, (2, 32), {"out": (10,)})                # blocks run under prange
show("as recorded", B.barrier_in_for_loop, B.GEOMETRY["barrier_in_for_loop"], B.ARGS["barrier_in_for_loop"])
print("still alive")
"""


def test_out_of_bounds_kernel_is_a_clean_error_for_that_kernel():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.path.join(ROOT, "tools")]))
    proc = subprocess.run([sys.executable, "-c", OUT_OF_BOUNDS_SCRIPT], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "malloc" not in out
    lines = proc.stdout.splitlines()
    # the checked cpu mode's report: the kernel's file:line, the array, the index and its extent
    assert re.match(r"wide block \| out of bounds \| KernelRuntimeError: out-of-bounds access in kernel .barrier_in_for_loop. at barrier_kernels.py:\d+: index 16 is outside", lines[0]), out
    assert re.match(r"short array \| out of bounds \| KernelRuntimeError: out-of-bounds access in kernel .annotated_i64. at type_kernels.py:\d+: index 10 is outside", lines[1]), out
    assert lines[2] == "as recorded | ok | ", out
    assert lines[3] == "still alive"
