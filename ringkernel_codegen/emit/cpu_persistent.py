"""CPU emitter for @persistent kernels: the @stencil (or @kernel) module that runs one step, plus
`_rk_step`, the one call the runtime's njit step loop (ringkernel_runtime.backends.cpu_persistent)
makes per step:

    _rk_step(bufs, fs, is_, geo, parity)
        bufs    tuple of the simulation's arrays, in parameter order (Persistent.slots)
        fs, is_ float64 / int64 arrays of the scalar parameters (cast to their types here)
        geo     int64[6]: grid and block of the general form (unused by stencils)
        parity  steps completed % 2: on odd steps every swap pair's buffers exchange roles

The step itself is exactly what emit/cpu.py writes for the same function as a @stencil or
@kernel, so a persistent run equals relaunching that stencil once per step.
"""
from __future__ import annotations

import re

from .cpu import emit_kernel, emit_stencil
from .cpu_emitter import CpuEmitter


def emit_persistent(f, k) -> str:
    em = CpuEmitter(f)
    types = {p.name: p.type for p in f.params}
    if k.stencil_form:
        base = emit_stencil(f)
        geo = []
    else:
        base = emit_kernel(f)
        geo = [f"geo[{i}]" for i in range(6)]
    names = [p.name for p in f.params]
    slots = k.slots()

    def args(parity: int) -> str:
        out = list(geo)
        for name, (where, i) in zip(names, slots):
            if where == "array":
                out.append(f"bufs[{k.buffer_for(i, parity)}]")
            elif where == "float":
                out.append(em.cast(types[name], f"fs[{i}]"))
            else:
                out.append(em.cast(types[name], f"is_[{i}]"))
        return ", ".join(out)

    # where a small-launch dispatcher (plain Python) fronts the njit launchers, call the prange one
    # (the grid-stride map's takes the worker count, `_nw`, last: emit/cpu.py serial_or_parallel)
    launch = "_rk_launch_parallel" if "\ndef _rk_launch_parallel(" in base else "_rk_launch"
    # (numba.get_num_threads() does not always type inside njit code: the count when the module loads)
    workers = ", _RK_WORKERS" if re.search(r"\ndef _rk_launch_parallel\([^)]*, _nw\):", base) else ""
    lines = ["", "_RK_WORKERS = _rk_threads()"] if workers else []
    lines += ["", "# one step of the persistent loop: the same launch with the swap pairs' roles by parity",
             "@njit(nogil=True, error_model='numpy')",
             "def _rk_step(bufs, fs, is_, geo, parity):"]
    if k.swap:
        lines += ["    if parity == 0:", f"        {launch}({args(0)}{workers})",
                  "    else:", f"        {launch}({args(1)}{workers})"]
    else:
        lines.append(f"    {launch}({args(0)}{workers})")
    return base + "\n".join(lines) + "\n"
