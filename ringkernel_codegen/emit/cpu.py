"""CPU emitter: numba.njit source that emulates a CUDA launch block by block, thread by thread.

Kernels without barriers: each thread runs `_rk_thread(...)`; blocks run under prange when the
kernel has no atomics (blocks are independent then); a 1-D launch of one whose threads differ only
by global_id() runs as one flat loop over that index (_flat_loop), a grid-stride map as
`for k: for block: for thread:` (emit/cpu_gridmap.py), one with another grid-stride loop through
the segment writer, which interchanges the loop with the thread loop (emit/cpu_schedule.py). Kernels with barriers or collectives are
split by passes/fission.py: locals (scalars and local arrays) become per-thread arrays and each
segment runs for every live thread before the next starts; control flow around warp collectives
that may diverge runs as a warp region under a per-thread active mask (emit/cpu_segments.py); grid
barriers end one loop over the blocks and start the next (emit/cpu_fission.py). Device functions
holding barriers or collectives are inlined into the kernel first (passes/inline.py). Stencils loop
directly over the domain (prange over the outer axis, or over cache tiles in 3-D: emit/cpu_stencil.py).
CpuEmitter lives in emit/cpu_emitter.py.
"""
from __future__ import annotations

import copy
import re

from ..errors import CodegenError
from ..ir import nodes as ir
from ..passes import fission as F
from ..passes import inline
from ..passes.dynamic_shared import add_size_param, cpu_shape
from ..passes.stencil import IMPLICIT
from ..intrinsics import Intrinsic
from .common import device_functions, py_constant_lines, source_comment, spelling
from .cpu_emitter import (BAD, CTX, HEADER, JIT, JIT_PARALLEL, CpuEmitter,  # noqa: F401 - CTX for cpu_ring
                          blocks_independent, indent, inline_body, jit_for, param_names, shared_allocs)
from . import cpu_checked_fast
from .cpu_fission import fission_kernel
from .cpu_gridmap import emit_grid_map, grid_map_loop
from .cpu_schedule import wants_interchange
from .cpu_stencil import open_loops

GLOBAL_ID = "(_bx * _bdx + _tx)"  # global_id()'s cpu spelling (intrinsics/indexing.toml)
FLAT_CHUNKS = 64
PARALLEL_THREADS = 1 << 16  # a plain launch of this many threads or more runs under prange


def emit_device(dev: ir.Function) -> list:
    sync = next((n for n in ir.walk(dev.body) if F.is_sync(n) or F.is_grid_sync(n)
                 or isinstance(n, ir.Alloc) and n.space == "shared"), None)
    if sync is not None:
        # kernels inline such functions before fission; anywhere else the barrier would be `pass`
        # (and a shared array would have no block to belong to)
        what = "shared_array" if isinstance(sync, ir.Alloc) else sync.callee.name
        raise CodegenError(f"{what}() inside device function '{dev.name}' cannot run on the CPU "
                           "emulator here", sync.span, "call the device function from a @kernel, or move the "
                           "barrier or collective out of it")
    em = CpuEmitter(dev)
    em.emit(jit_for(len(em.ctx) + len(dev.params)), 0)
    em.emit(f"def {dev.name}({', '.join([*em.ctx, *param_names(dev)])}):", 0)
    em.declare_locals(1)
    em.block(dev.body, 1)
    em.lines.append("")
    return em.lines


def emit_kernel(f: ir.Function) -> str:
    out = [HEADER.format(source=_src(f), kind="kernel", name=f.name), *py_constant_lines(f)]
    # a grid-stride loop runs interchanged with the thread loop, through the segment writer (cpu_schedule)
    interchange = wants_interchange(f)
    if inline.needed(f) or F.needs_fission(f) or interchange or any(isinstance(n, ir.Alloc) and n.dynamic for n in ir.walk(f.body)):
        f = copy.deepcopy(f)  # inlining, fission and the size parameter rewrite it: a copy, never the kernel's IR
    inline.run(f)  # device functions holding barriers/collectives become part of the kernel body
    add_size_param(f)  # a dynamic shared array's launch size: a hidden last parameter
    for dev in device_functions(f):
        out.extend(emit_device(dev))
    gridmap = None if F.needs_fission(f) else grid_map_loop(f)
    if gridmap is not None:
        em = CpuEmitter(f)
        if em.checked:  # one serial call, whose failed check's IndexError reaches Python (emit/cpu_checked.py)
            _checked_grid_map(em, f, gridmap)
        elif blocks_independent(f):
            em.emit("from numba import get_num_threads as _rk_threads", 0)
            serial_or_parallel(em, f, lambda name, parallel: emit_grid_map(em, *gridmap, name, parallel), workers=True)
        else:
            emit_grid_map(em, *gridmap, "_rk_launch", False)
        out.extend(em.lines)
    elif F.needs_fission(f) or interchange:
        out.extend(fission_kernel(f))
    else:
        out.extend(_plain_kernel(f))
    return "\n".join(out) + "\n"


def _src(f):
    import os

    return os.path.basename(f.file) + (f":{f.span.line}" if f.span else "")


def _block_loop(f, em, parallel, flat=None, name="_rk_launch"):
    shared = shared_allocs(f)
    head = ['_gdx', '_gdy', '_gdz', '_bdx', '_bdy', '_bdz', *param_names(f)]
    if em.checked:  # blocks _b0.._b1 of worker _w, its error record _rkerr[_w] (emit/cpu_checked.py calls it)
        em.checks.launch = ("blocks", parallel, head)
        em.emit(JIT, 0)
        em.emit(f"def _rk_blocks({', '.join(['_b0', '_b1', '_rkerr', '_w', *head])}):", 0)
        em.emit(f"{BAD} = _rkerr[_w]", 1)
        em.emit("for _b in range(_b0, _b1):", 1)
        em.emit(f"{BAD}.block = _b", 2)  # where the worker stopped, if a check raises
    else:
        em.emit(f"@njit(nogil=True, error_model='numpy', cache=True{', parallel=True' if parallel else ''})", 0)
        em.emit(f"def {name}({', '.join(head)}):", 0)
        if flat is not None:
            _flat_loop(em, parallel, flat)
        em.emit(f"for _b in {'prange' if parallel else 'range'}(_gdx * _gdy * _gdz):", 1)
    em.emit("_bx = _b % _gdx", 2)
    em.emit("_by = (_b // _gdx) % _gdy", 2)
    em.emit("_bz = _b // (_gdx * _gdy)", 2)
    for a in shared:
        text = source_comment(a.span)
        if text:
            em.emit(f"# {text}", 2)
        em.emit(f"{a.name} = np.zeros({cpu_shape(a)}, {em.tname(a.dtype)})", 2)
    return shared


def _plain_kernel(f):
    """Blocks under prange (when independent) x threads; each thread's body is written inside the
    thread loop (inline_body), else it is `_rk_thread`, a function numba inlines where it can."""
    em = CpuEmitter(f)
    shared = [a.name for a in shared_allocs(f)]
    thread = CpuEmitter(f)
    thread.in_thread_loop = inline_body(f.body)
    if not thread.in_thread_loop:
        thread.emit(jit_for(len(thread.ctx) + len(shared) + len(f.params)), 0)
        thread.emit(f"def _rk_thread({', '.join([*thread.ctx, *shared, *param_names(f)])}):", 0)
    thread.declare_locals(1)
    thread.block(f.body, 1)
    if not thread.in_thread_loop:
        em.lines.extend([*thread.lines, ""])
    flat = thread.lines if thread.in_thread_loop and not shared and not em.checked and only_global_id(f) else None

    def launcher(name, parallel):
        _block_loop(f, em, parallel, flat, name)
        em.emit("for _tz in range(_bdz):", 2)
        em.emit("for _ty in range(_bdy):", 3)
        em.emit("for _tx in range(_bdx):", 4)
        if thread.in_thread_loop:
            em.lines.extend(indent(thread.lines, 5))
        else:
            em.emit(f"_rk_thread({', '.join([*thread.ctx, *shared, *param_names(f)])})", 5)
        em.lines.append("")

    if em.checked:  # one checked block function; emit/cpu_checked.py runs it on parallel workers
        launcher("_rk_launch", blocks_independent(f))
    elif blocks_independent(f):
        serial_or_parallel(em, f, launcher)
    else:
        launcher("_rk_launch", False)
    return em.lines


def _checked_grid_map(em, f, gridmap):
    """The bounds-checked grid-stride map `_rk_grid(..., _rkerr)`. When its indices and control
    flow read no memory (cpu_checked_fast.eligible), a probe pass over the whole grid (indices
    compared with extents, nothing read or written) first; all inside: the unchecked map (it
    vectorises), else the checked one, which raises at the first bad access."""
    if not cpu_checked_fast.eligible(f):
        emit_grid_map(em, *gridmap, "_rk_grid", False)
        return
    probe = cpu_checked_fast.ProbeEmitter(f, cpu_checked_fast.tainted(f))
    emit_grid_map(probe, *gridmap, "_rk_grid_probe", False)
    plain = CpuEmitter(f)
    plain.checks, plain.checked = None, False
    parallel = blocks_independent(f)  # the unchecked run on numba's workers, as unchecked launches
    emit_grid_map(plain, *gridmap, "_rk_grid_plain", parallel)
    emit_grid_map(em, *gridmap, "_rk_grid_checked", False)
    head = ", ".join(["_gdx", "_gdy", "_gdz", "_bdx", "_bdy", "_bdz", *param_names(f)])
    em.lines[:0] = [*probe.lines, *plain.lines]
    if parallel:  # the worker count when the module loads; so this small function is not cached
        em.lines += ["from numba import get_num_threads as _rk_threads", "_RK_WORKERS = _rk_threads()", "",
                     "@njit(nogil=True, error_model='numpy')"]
    else:
        em.emit(JIT, 0)
    em.emit(f"def _rk_grid({head}, _rkerr):", 0)
    em.emit(f"if _rk_grid_probe({head}):", 1)
    em.emit(f"_rk_grid_plain({head}{', _RK_WORKERS' if parallel else ''})", 2)
    em.emit("else:", 1)
    em.emit(f"_rk_grid_checked({head}, _rkerr)", 2)
    em.lines.append("")


def serial_or_parallel(em, f, launcher, workers=False):
    """`launcher(name, parallel)` writes an njit launcher: a serial and a prange one, and
    `_rk_launch`, which runs small launches serially (waking numba's workers costs more than they
    save there, and a launch that never takes the prange one never compiles it). workers: the prange
    one takes numba's thread count as a last argument `_nw` (asked for outside it: inside, numba
    would not cache it)."""
    launcher("_rk_launch_serial", False)
    launcher("_rk_launch_parallel", True)
    head = ", ".join(["_gdx", "_gdy", "_gdz", "_bdx", "_bdy", "_bdz", *param_names(f)])
    em.emit(f"def _rk_launch({head}):", 0)
    em.emit(f'"""Launches of fewer than {PARALLEL_THREADS} threads run serially."""', 1)
    em.emit(f"if _gdx * _gdy * _gdz * _bdx * _bdy * _bdz >= {PARALLEL_THREADS}:", 1)
    em.emit(f"return _rk_launch_parallel({head}{', _rk_threads()' if workers else ''})", 2)
    em.emit(f"return _rk_launch_serial({head})", 1)


def only_global_id(f) -> bool:
    """Does the kernel (and every device function it calls) tell its threads apart only by
    global_id() (no thread_idx_x(), block_idx_x(), lane, ...)? Then a 1-D launch can run as one
    flat loop over the global index (_flat_loop)."""
    for fn in (f, *device_functions(f)):
        for n in ir.walk(fn.body):
            if isinstance(n, ir.Call) and isinstance(n.callee, Intrinsic):
                text = str(spelling(n.callee, "cpu", n)).replace(GLOBAL_ID, "")
                if re.search(r"\b_(tx|bx)\b", text):
                    return False
    return True


def _flat_loop(em, parallel, thread_lines):
    """A 1-D launch of a kernel whose threads differ only by global_id(): one loop over the global
    index per worker (a chunk of whole blocks' worth of indices), so the body vectorises over long
    stretches instead of one block's threads at a time. `_bx * _bdx + _tx` is the global index with
    _bx = 0 and _tx = the index; the y and z indices are 0 in a 1-D launch."""
    em.emit("if _gdy == 1 and _gdz == 1 and _bdy == 1 and _bdz == 1:", 1)
    em.emit("_ng = _gdx * _bdx", 2)
    em.emit(f"_nch = min(_gdx, {FLAT_CHUNKS})", 2)
    em.emit(f"for _cu in {'prange' if parallel else 'range'}(_nch):", 2)
    em.emit("_c = np.int64(_cu)", 3)  # prange's index may be unsigned: uint64 * int64 is a float in numba
    em.emit("_bx = 0", 3)
    em.emit("_by = 0", 3)
    em.emit("_bz = 0", 3)
    em.emit("_ty = 0", 3)
    em.emit("_tz = 0", 3)
    em.emit("for _tx in range(_c * _ng // _nch, (_c + 1) * _ng // _nch):", 3)
    em.lines.extend(indent(thread_lines, 4))
    em.emit("return", 2)


# ---------------------------------------------------------------- stencils
def emit_stencil(f: ir.Function) -> str:
    """The body inside the loops over `f.space` (emit/cpu_stencil.py: plain nest, or cache tiles in 3-D)."""
    out = [HEADER.format(source=_src(f), kind="stencil", name=f.name), *py_constant_lines(f)]
    for dev in device_functions(f):
        out.extend(emit_device(dev))
    em = CpuEmitter(f)
    em.emit(JIT if em.checked else JIT_PARALLEL, 0)
    if em.checked:  # chunk _w of _nw of the outermost axis, its error record _rkerr[_w] (emit/cpu_checked.py)
        em.checks.launch = ("rows", True, param_names(f))
        em.emit(f"def _rk_rows({', '.join(['_w', '_nw', '_rkerr', *param_names(f)])}):", 0)
        em.emit(f"{BAD} = _rkerr[_w]", 1)
    else:
        em.emit(f"def _rk_launch({', '.join(param_names(f))}):", 0)
    for a in f.space.axes:
        em.emit(f"{a.extent_var} = {em.expr(a.extent)}", 1)
    for var, extent_var in f.space.absent:
        em.emit(f"{var} = 0", 1)
        em.emit(f"{extent_var} = 1", 1)
    em.declare_locals(1, skip=IMPLICIT)
    depth = open_loops(em, f, 1)
    if any(isinstance(n, ir.Return) for n in ir.walk(f.body)):
        # an early return leaves this cell only: run the body as a per-cell function
        cell = CpuEmitter(f)
        cell_args = ['_x', '_y', '_z', '_nx', '_ny', '_nz', *([BAD] if em.checked else []), *param_names(f)]
        cell.emit(jit_for(len(cell_args)), 0)
        cell.emit(f"def _rk_cell({', '.join(cell_args)}):", 0)
        cell.declare_locals(1, skip=IMPLICIT)
        cell.block(f.body, 1)
        cell.lines.append("")
        out.extend(cell.lines)
        em.emit(f"_rk_cell({', '.join(cell_args)})", depth)
    else:
        em.block(f.body, depth)
    out.extend(em.lines)
    return "\n".join(out) + "\n"
