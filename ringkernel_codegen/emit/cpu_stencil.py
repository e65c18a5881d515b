"""The CPU emulator's loops over a stencil's iteration space (`f.space`, passes/stencil.py).

1-D and 2-D: one loop per axis, the outermost a prange. 3-D: the cells in cache tiles of the
stencil's `tile` (tz z-planes x ty y-rows; every x row whole), all tiles under one prange, once a
z-plane of the domain is too big for the last-level cache to hold the three planes a 7-point
stencil reads from; smaller domains run one tile per z-plane, which is the plain loop nest
(prange over z). Measured with hand-written variants of heat3d on this project's 2-core AMD EPYC
(32 MiB L3, 2026-12-07; tools/bench/cpu_kernels.py has the full-size figures, docs/benchmarks.md):

- tiles of (4, 8) x whole rows vs the plain nest, 1 thread: 34x2048x2048 (16 MiB planes) 1.12x,
  34x1448x1448 (8 MiB) 1.10x, 66x1024x1024 (4 MiB) 0.99x, 512^3 (1 MiB) 0.79x, 256^3 0.93x.
  Below a few MiB per plane the plain nest streams each array once from memory already and the
  prefetchers like its long runs; tiles only cut them short. Hence the threshold TILE_MIN_PLANE_BYTES.
- tiling x as well (the CUDA block's x extent, e.g. 32 or 128 cells) 0.43-0.79x everywhere: the
  innermost loop must stay a long contiguous run that LLVM vectorises, so x is never tiled.
- 2-D (2048^2, 8 KiB rows: three rows sit in L1): tiles of (16, 16) 0.44-0.50x, (16, 512) 0.64-0.94x;
  tiling only y is what prange's chunks over y already do. 2-D keeps the plain nest.

The cell coordinates stay i32 (`range(np.int32(a), np.int32(b))`, as the body expects); a tiled
launch computes every cell exactly once with the same body, so results are identical.
"""
from __future__ import annotations

from .. import types as T
from ..ir import nodes as ir
from .cpu_emitter import BAD

# A z-plane of the extent field this big or bigger: tile (see the module docstring). Between the
# 4 MiB planes where tiling was even and the 8 MiB where it won 10%.
TILE_MIN_PLANE_BYTES = 6 << 20


def open_loops(em, f: ir.Function, depth: int) -> int:
    """Write the loop headers over `f.space` at `depth`; returns the depth of the body."""
    space = f.space
    if em.checked:
        return _checked_rows(em, space, depth)
    outer = "prange"
    tile = tuple(f.options.get("tile") or ())
    if space.ndim == 3 and len(tile) == 3:
        return _tiled_3d(em, space, tile, outer, depth)
    for i, a in enumerate(space.axes):
        em.emit(f"for {a.var} in {outer if i == 0 else 'range'}({_start(em, a)}{em.expr(a.stop)}):", depth)
        depth += 1
    return depth


def _checked_rows(em, space, depth) -> int:
    """Bounds-checked mode: worker _w of _nw runs its contiguous run of the outer axis (its error
    record is _rkbad; emit/cpu_checked.py runs the workers), no tiles."""
    for i, a in enumerate(space.axes):
        if i == 0:
            lo, hi = em.expr(a.start), em.expr(a.stop)  # the coordinate stays an i32, as unchecked
            em.emit(f"for {a.var} in range(np.int32(_rt.chunk_start({lo}, {hi}, _w, _nw)), "
                    f"np.int32(_rt.chunk_start({lo}, {hi}, _w + 1, _nw))):", depth)
            em.emit(f"{BAD}.block = {a.var}", depth + 1)  # where the worker stopped, if a check raises
        else:
            em.emit(f"for {a.var} in range({_start(em, a)}{em.expr(a.stop)}):", depth)
        depth += 1
    return depth


def _start(em, a) -> str:
    return "" if isinstance(a.start, ir.Const) and a.start.value == 0 else f"{em.expr(a.start)}, "


def _tiled_3d(em, space, tile, outer, depth) -> int:
    z, y, x = space.axes
    tz, ty = tile[0], tile[1]
    z0, z1, y0, y1 = (f"np.int64({e.value if isinstance(e, ir.Const) else em.expr(e)})"
                      for e in (z.start, z.stop, y.start, y.stop))
    plane = f"np.int64({y.extent_var}) * np.int64({x.extent_var}) * {_itemsize(z)}"
    em.emit(f"# tiles of {tz} z-planes x {ty} y-rows (tile={tile}; x rows whole) where a plane is "
            f">= {TILE_MIN_PLANE_BYTES >> 20} MiB, else one tile per plane (emit/cpu_stencil.py)", depth)
    em.emit(f"_rk_z0 = {z0}", depth)
    em.emit(f"_rk_y0 = {y0}", depth)
    em.emit(f"_rk_z1 = {z1}", depth)
    em.emit(f"_rk_y1 = {y1}", depth)
    em.emit(f"if {plane} >= {TILE_MIN_PLANE_BYTES}:", depth)
    em.emit(f"_rk_tz = np.int64({tz})", depth + 1)
    em.emit(f"_rk_ty = np.int64({ty})", depth + 1)
    em.emit("else:", depth)
    em.emit("_rk_tz = np.int64(1)", depth + 1)
    em.emit("_rk_ty = max(_rk_y1 - _rk_y0, np.int64(1))", depth + 1)
    em.emit("_rk_nty = max((_rk_y1 - _rk_y0 + _rk_ty - 1) // _rk_ty, np.int64(0))", depth)
    em.emit("_rk_ntz = max((_rk_z1 - _rk_z0 + _rk_tz - 1) // _rk_tz, np.int64(0))", depth)
    em.emit(f"for _rk_t in {outer}(_rk_ntz * _rk_nty):", depth)
    # prange's index may be unsigned: the tile's corner in signed arithmetic
    em.emit("_rk_za = _rk_z0 + (np.int64(_rk_t) // _rk_nty) * _rk_tz", depth + 1)
    em.emit("_rk_ya = _rk_y0 + (np.int64(_rk_t) % _rk_nty) * _rk_ty", depth + 1)
    em.emit(f"for {z.var} in range(np.int32(_rk_za), np.int32(min(_rk_za + _rk_tz, _rk_z1))):", depth + 1)
    em.emit(f"for {y.var} in range(np.int32(_rk_ya), np.int32(min(_rk_ya + _rk_ty, _rk_y1))):", depth + 2)
    em.emit(f"for {x.var} in range({_start(em, x)}{em.expr(x.stop)}):", depth + 3)
    return depth + 4


def _itemsize(axis) -> int:
    """Bytes per cell of the field whose shape gives the extents (the first written field)."""
    for n in ir.walk(axis.extent):
        if isinstance(getattr(n, "type", None), T.ArrayType):
            return n.type.dtype.bits // 8
    return 4
