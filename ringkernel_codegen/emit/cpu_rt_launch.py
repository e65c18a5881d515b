"""CPU runtime helpers (cpu_rt): the bounds-checked mode's index check."""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(error_model="numpy", cache=False, inline="always")
def bounds(i, extent, site, array, axis):
    """Index `i` of `array`'s axis `axis` checked against its extent (.to("cpu", boundscheck=True)):
    the IndexError's first argument marks it for KernelBase._run, which reports it as a
    KernelRuntimeError naming `site` (file:line), the array, the index and the extent."""
    if i < 0 or i >= extent:
        raise IndexError("ringkernel-bounds", site, array, axis, np.int64(i), np.int64(extent))
    return np.uint64(i)
