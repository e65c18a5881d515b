"""CPU (numba.njit) implementations of intrinsics whose `cpu` spelling is `_rt.<name>(...)`.

Generated CPU sources do `from ringkernel_codegen.emit import cpu_rt as _rt`, so this module is the
one namespace they see; the helpers live in topic modules and are re-exported here:

    cpu_rt_bits         bit manipulation, integer arithmetic, bit casts (and `rt_jit`)
    cpu_rt_atomics      atomics (serialised read-modify-writes returning the old value)
    cpu_rt_math         float math that numpy / math lack in njit code
    cpu_rt_clocks       clock32/clock64 (time-stamp counter), globaltimer (CLOCK_MONOTONIC ns)
    cpu_rt_collectives  warp and block collectives over per-thread arrays
    cpu_rt_random       Philox4x32-10 counter-based random numbers
    cpu_rt_launch       the bounds-checked mode's index check

Everything matches the CUDA semantics, not Python's: integers wrap at their width, float division
by zero gives inf/nan instead of raising (error_model="numpy"), atomics return the old value.
A new helper goes into the module of its topic; its public name then appears here by itself.
"""
from __future__ import annotations

from .cpu_rt_atomics import *  # noqa: F401,F403
from .cpu_rt_bits import *  # noqa: F401,F403
from .cpu_rt_clocks import *  # noqa: F401,F403
from .cpu_rt_collectives import *  # noqa: F401,F403
from .cpu_rt_launch import *  # noqa: F401,F403
from .cpu_rt_math import *  # noqa: F401,F403
from .cpu_rt_random import *  # noqa: F401,F403
