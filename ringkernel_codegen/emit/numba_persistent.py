"""numba.cuda emitter for @persistent kernels: the same resident loop as the CUDA C++ one in grid
mode (one cuda.cg.this_grid().sync() per step; the leader's decisions in emit/numba_rt_persistent.py),
written as a numba.cuda module:

    <name>_persistent[blocks, threads](ctrl, sync, fs, is_, sfs, sis, b0, b1, ...)

ctrl: control block + mailbox (int64, mapped), sync: int64 device words, fs/is_: the mapped scalar
arrays, sfs/sis: their device copies, then one array per buffer (Persistent.slots). The step is the
@stencil body as device function `_rk_cell(_x, _y, _z, _nx, _ny, _nz, params...)` or the @kernel body
as `_rk_step_body(params...)`. numba's CUDA simulator runs it with one block (its grid barrier cannot
span blocks run one after another). sync="cluster" is CUDA C++ only.
"""
from __future__ import annotations

from ..errors import CodegenError
from ..passes.stencil import IMPLICIT
from .numba import HEADER, NumbaEmitter, _devices, _src, space_outside


def emit_persistent(f, k) -> str:
    if k.sync == "cluster":
        raise CodegenError(f"sync=\"cluster\" is not available on numba.cuda ('{k.name}')", f.span,
                           "use sync=\"grid\", or the cuda backend")
    out = [HEADER.format(source=_src(f), kind="persistent", name=f.name),
           "from ringkernel_codegen.emit import numba_rt_persistent as _prt", "", *_devices(f)]
    names = [p.name for p in f.params]
    cell = NumbaEmitter(f)
    cell.emit("@cuda.jit(device=True)", 0)
    if k.stencil_form:
        cell.emit(f"def _rk_cell({', '.join(['_x', '_y', '_z', '_nx', '_ny', '_nz', *names])}):", 0)
        cell.declare_locals(1, skip=IMPLICIT)
    else:
        cell.emit(f"def _rk_step_body({', '.join(names)}):", 0)
        cell.declare_locals(1, skip={a.name for a in _allocs(f)})
    cell.block(f.body, 1)
    cell.lines.append("")
    out.extend(cell.lines)

    slots = k.slots()
    nbuf = sum(w == "array" for w, _ in slots)
    bufs = [f"b{i}" for i in range(nbuf)]

    def args(parity):
        a = []
        for p, (w, i) in zip(f.params, slots):
            if w == "array":
                a.append(f"b{k.buffer_for(i, parity)}")
            else:
                a.append(f"_s_{p.name}")
        return ", ".join(a)

    em = NumbaEmitter(f)
    w = em.emit
    w("@cuda.jit", 0)
    w(f"def {f.name}_persistent({', '.join(['ctrl', 'sync', 'fs', 'is_', 'sfs', 'sis', *bufs])}):", 0)
    w("grid = cuda.cg.this_grid()", 1)
    w("thread0 = cuda.threadIdx.x == 0 and cuda.threadIdx.y == 0 and cuda.threadIdx.z == 0", 1)
    w("leader = thread0 and cuda.blockIdx.x == 0 and cuda.blockIdx.y == 0 and cuda.blockIdx.z == 0", 1)
    w("steps = _prt.ld(ctrl, _prt._STEPS)", 1)
    w("if leader:", 1)
    w("sync[_prt.S_SEEN] = _prt.poll(ctrl, _prt._ACK)", 2)
    w("sync[_prt.S_DECISION] = _prt.SLOW", 2)
    if k.stencil_form:
        ext = next(i for p, (wh, i) in zip(f.params, slots) if p.name == k.extent_field)
        nd = k.ndim
        rev = list(reversed(k.tile)) + [1, 1]
        w(f"nx = b{ext}.shape[{nd - 1}]", 1)
        w(f"ny = b{ext}.shape[{nd - 2}]" if nd >= 2 else "ny = 1", 1)
        w("nz = b{}.shape[0]".format(ext) if nd >= 3 else "nz = 1", 1)
        w("_nx, _ny, _nz = numba.int32(nx), numba.int32(ny), numba.int32(nz)", 1)
        w(f"tiles_x = (nx + {rev[0] - 1}) // {rev[0]}", 1)
        w(f"tiles_y = (ny + {rev[1] - 1}) // {rev[1]}", 1)
        w(f"tiles = tiles_x * tiles_y * ((nz + {rev[2] - 1}) // {rev[2]})", 1)
        w("nblocks = cuda.gridDim.x * cuda.gridDim.y * cuda.gridDim.z", 1)
    w("it = 0", 1)
    w("grid.sync()", 1)
    w("while True:", 1)
    w("if _prt.ld(sync, _prt.S_DECISION + (it & 1)) == _prt.SLOW:", 2)
    w("if leader:", 3)
    w("sync[_prt.S_DECISION2] = _prt.wait_for_work(ctrl, sync, steps, fs, is_, sfs, sis)", 4)
    w("grid.sync()", 3)
    w("if _prt.ld(sync, _prt.S_DECISION2) == _prt.EXIT:", 3)
    w("return", 4)
    for p, (wh, i) in zip(f.params, slots):
        if wh != "array":
            src = f"_prt.ld(sfs, {i})" if wh == "float" else f"_prt.ld(sis, {i})"
            w(f"_s_{p.name} = {em.cast(p.type, src)}", 2)
    if k.stencil_form:
        w("t = cuda.blockIdx.x", 2)
        w("while t < tiles:", 2)
        w("tz = t // (tiles_x * tiles_y)", 3)
        w("r = t % (tiles_x * tiles_y)", 3)
        w(f"_x = (r % tiles_x) * {rev[0]} + cuda.threadIdx.x", 3)
        w(f"_y = (r // tiles_x) * {rev[1]} + cuda.threadIdx.y", 3)
        w(f"_z = tz * {rev[2]} + cuda.threadIdx.z", 3)
        # the cells of the stencil's iteration space (f.space), the tile's threads past the edge excluded
        guard = f"_x < nx and _y < ny and _z < nz and not ({space_outside(f.space, em)})"
        w(f"if {guard}:", 3)
        cellargs = "_x, _y, _z, nx, ny, nz, "
        if k.swap:
            w("if (steps & 1) == 0:", 4)
            w(f"_rk_cell({cellargs}{args(0)})", 5)
            w("else:", 4)
            w(f"_rk_cell({cellargs}{args(1)})", 5)
        else:
            w(f"_rk_cell({cellargs}{args(0)})", 4)
        w("t += nblocks", 3)
    else:
        if k.swap:
            w("if (steps & 1) == 0:", 2)
            w(f"_rk_step_body({args(0)})", 3)
            w("else:", 2)
            w(f"_rk_step_body({args(1)})", 3)
        else:
            w(f"_rk_step_body({args(0)})", 2)
    w("steps += 1", 2)
    w("it += 1", 2)
    w("if leader:", 2)
    w("sync[_prt.S_DECISION + (it & 1)] = _prt.fast_decision(ctrl, sync, steps)", 3)
    w("grid.sync()", 2)
    w("if leader:", 2)
    w("ctrl[_prt._STEPS] = steps", 3)
    out.extend(em.lines)
    return "\n".join(out) + "\n"


def _allocs(f):
    from ..ir import nodes as ir

    return [a for a in ir.walk(f.body) if isinstance(a, ir.Alloc)]
