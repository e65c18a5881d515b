"""CUDA C++ emitter for @persistent kernels: one resident, cooperatively launched kernel
(templates/persistent.cu.j2, device runtime templates/persistent_runtime.cuh).

The step is the @stencil body as `rk_cell(_x, _y, _z, _nx, _ny, _nz, params...)` (stencil form) or
the @kernel body as `rk_step_body(params...)` (general form), written by emit/cuda.py's CudaEmitter
exactly as for a @stencil / @kernel. The kernel `<name>_persistent` takes the simulation's control
block + mailbox (mapped; ringkernel_codegen.abi.persistent), its device-memory sync words, the
scalar arrays (mapped float64 / int64, Persistent.slots) and one pointer + shape per array buffer:

    <name>_persistent(rk_persistent_block*, rk_persistent_sync*, const double* fs, const long long* is,
                      T0* _rk_b0, long long _rk_b0_shape0.., T1* _rk_b1, ...)

sync="grid": blocks loop over the tiles; one grid barrier per step (the leader decides the next
step before it). sync="cluster": each cluster owns a contiguous range of tiles and waits only for
the clusters holding tiles within the halo (flags in device memory), the leader's command check is
broadcast in a cluster through DSMEM; a grid barrier only at start, commands and the end of a run.
"""
from __future__ import annotations

import math

from ..abi import layout, lifecycle
from ..abi import persistent as pabi
from ..errors import CodegenError
from .cuda import CudaEmitter, _common, _env, _text, cname, space_outside


def _constants() -> str:
    consts = sorted((k, getattr(lifecycle, k)) for k in dir(lifecycle) if k.startswith(("CMD_", "EXIT_")))
    consts += [(f"STATE_{s.name}", int(s)) for s in lifecycle.KernelState]
    return "\n".join(f"#define RK_{k} ({int(v)})" for k, v in consts)


def emit_persistent(f, k) -> str:
    if k.sync == "cluster" and not k.stencil_form:
        raise CodegenError(f"sync=\"cluster\" needs the stencil form (Field parameters); '{k.name}' is a general "
                           "persistent kernel", f.span, "use sync=\"grid\" (grid_sync() inside the step)")
    em = CudaEmitter(f)
    body = em.body()
    ctx = _common(f, em)
    slots = k.slots()
    arrays = [(p, i) for p, (w, i) in zip(f.params, slots) if w == "array"]
    buffer_params = []
    for p, i in arrays:
        buffer_params.append(f"{p.type.dtype.c_name}* __restrict__ _rk_b{i}")
        buffer_params += [f"const long long _rk_b{i}_shape{d}" for d in range(p.type.ndim)]
    scalars = []
    for p, (w, i) in zip(f.params, slots):
        if w != "array":
            scalars.append(dict(ctype=p.type.c_name, var=f"_rk_s_{cname(p.name)}",
                                array="fs" if w == "float" else "is", index=i))

    def call_args(parity: int) -> str:
        out = []
        for p, (w, i) in zip(f.params, slots):
            if w == "array":
                j = k.buffer_for(i, parity)
                out += [f"_rk_b{j}"] + [f"_rk_b{j}_shape{d}" for d in range(p.type.ndim)]
            else:
                out.append(f"_rk_s_{cname(p.name)}")
        return ", ".join(out)

    tile = tuple(k.tile)
    rev = list(reversed(tile)) + [1, 1]
    ndim = k.ndim or 1
    values = dict(form="stencil" if k.stencil_form else "kernel", sync=k.sync, cluster=k.cluster,
                  layout_header=layout.c_header().replace("#pragma once\n", "") + pabi.c_header(),
                  constants=_constants(), runtime=_text("persistent_runtime.cuh").replace("#pragma once\n", ""),
                  n_float=max(1, sum(w == "float" for w, _ in slots)), n_int=max(1, sum(w == "int" for w, _ in slots)),
                  body=body, buffer_params=",\n    ".join(buffer_params), scalars=scalars,
                  args_even=call_args(0), args_odd=call_args(1), ndim=ndim, tile=tile, halo=k.halo,
                  boundary=k.boundary, tile_x=rev[0], tile_y=rev[1], tile_z=rev[2])
    if "cooperative_groups.h" not in ctx["includes"]:
        ctx["includes"] = ["cooperative_groups.h", *ctx["includes"]]
    if k.stencil_form:
        extent = next(i for p, i in arrays if p.name == k.extent_field)
        reach = [-(-k.halo // t) for t in rev[:3]]
        values.update(extent=extent, reach_x=reach[0], reach_y=reach[1], reach_z=reach[2],
                      launch_bounds=math.prod(tile),
                      tile_body=_tile_body(k, f, em, ndim, rev, call_args, 16 if k.sync == "cluster" else 12))
    else:
        values.update(launch_bounds=1024, tile_body="")
    return _env().get_template("persistent.cu.j2").render(**values, **ctx)


def _tile_body(k, f, em, ndim, rev, call_args, indent: int) -> str:
    ind = " " * indent
    lines = [f"{ind}const long long _rk_tz = _rk_t / (_rk_tiles_x * _rk_tiles_y);",
             f"{ind}const long long _rk_r = _rk_t % (_rk_tiles_x * _rk_tiles_y);",
             f"{ind}const int _x = (int)((_rk_r % _rk_tiles_x) * {rev[0]} + threadIdx.x);",
             f"{ind}const int _y = (int)((_rk_r / _rk_tiles_x) * {rev[1]} + threadIdx.y);",
             f"{ind}const int _z = (int)(_rk_tz * {rev[2]} + threadIdx.z);"]
    # the cells of the stencil's iteration space (f.space), the tile's threads past the edge excluded
    lines.append(f"{ind}const int _nx = _rk_nx, _ny = _rk_ny, _nz = _rk_nz;")
    guard = f"_x < _rk_nx && _y < _rk_ny && _z < _rk_nz && !({space_outside(f.space, em)})"
    cell = "_x, _y, _z, _rk_nx, _rk_ny, _rk_nz"
    lines += [f"{ind}if ({guard}) {{",
              f"{ind}    if (_rk_parity == 0) rk_cell({cell}, {call_args(0)});",
              f"{ind}    else rk_cell({cell}, {call_args(1)});",
              f"{ind}}}"]
    return "\n".join(lines)


__all__ = ["emit_persistent"]
