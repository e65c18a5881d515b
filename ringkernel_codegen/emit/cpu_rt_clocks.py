"""CPU runtime helpers (cpu_rt): clocks. clock32/clock64 read the host's time-stamp counter
(llvm.readcyclecounter), globaltimer reads CLOCK_MONOTONIC in nanoseconds like CUDA's %globaltimer.
"""
from __future__ import annotations

import ctypes

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .cpu_rt_bits import U32, rt_jit


@intrinsic
def _readcyclecounter(typingctx):
    """llvm.readcyclecounter: the CPU time-stamp counter (rdtsc on x86), monotonic per core."""
    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(64), []),
                                            "llvm.readcyclecounter")
        return builder.call(fn, [])
    return types.int64(), codegen


@rt_jit
def clock64():
    return np.uint64(_readcyclecounter())


@rt_jit
def clock32():
    return np.uint32(np.uint64(_readcyclecounter()) & U32)


try:  # CLOCK_MONOTONIC nanoseconds through libc, callable from njit code
    _libc = ctypes.CDLL(None)
    _clock_gettime = _libc.clock_gettime
    _clock_gettime.argtypes = [ctypes.c_int, ctypes.c_void_p]
    _clock_gettime.restype = ctypes.c_int
    _HAVE_CLOCK_GETTIME = True
except (OSError, AttributeError):  # pragma: no cover - non-POSIX hosts
    _HAVE_CLOCK_GETTIME = False

if _HAVE_CLOCK_GETTIME:
    @rt_jit
    def globaltimer():
        """Monotonic nanoseconds (CLOCK_MONOTONIC); the GPU's %globaltimer is also in ns."""
        ts = np.zeros(2, np.int64)
        _clock_gettime(1, ts.ctypes)
        return np.uint64(ts[0] * 1000000000 + ts[1])
else:  # pragma: no cover
    @rt_jit
    def globaltimer():
        return np.uint64(_readcyclecounter())
