"""Acquire/release loads and stores, atomic RMW and a clock for njit code (numba lacks them).

Why: the actor loop spins on queue positions and control words that another thread (the
Python host, or another actor) writes. A plain load in a njit spin loop may be hoisted by LLVM
and never see the write; an acquire load may not. Producers publish the payload, then store the
position with release; consumers load the position with acquire, then read the payload.

Host side (CPython + numpy) uses plain element stores/loads. That is correct because (1) every
numpy element access is a separate C call the compiler cannot reorder across, executed in
program order by one interpreter thread, and (2) the supported hosts (x86-64: TSO; the loop's
acquire/release pairs) do not reorder a store after an earlier store. On weakly ordered CPUs
(AArch64) the host must call `fence()` (an njit release fence) before publishing an index:
`queues.HostQueue` does that when `platform.machine()` is not x86.

All functions take an int64 or uint64 array and an element index.
"""
from __future__ import annotations

import ctypes

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.extending import intrinsic


def _word_ptr(context, builder, aryty, arg, idx):
    ary = context.make_array(aryty)(context, builder, arg)
    return cgutils.get_item_pointer(context, builder, aryty, ary, [idx], wraparound=False)


def _is_word_array(arr) -> bool:
    return isinstance(arr, types.Array) and arr.dtype in (types.int64, types.uint64)


@intrinsic
def load_acquire(typingctx, arr, idx):
    """`arr[idx]` with acquire ordering (never hoisted out of a loop)."""
    if not (_is_word_array(arr) and isinstance(idx, types.Integer)):
        return None
    sig = arr.dtype(arr, types.intp)

    def codegen(context, builder, sig, args):
        ptr = _word_ptr(context, builder, sig.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "acquire", 8)
    return sig, codegen


@intrinsic
def store_release(typingctx, arr, idx, value):
    """`arr[idx] = value` with release ordering (everything written before is visible first)."""
    if not (_is_word_array(arr) and isinstance(idx, types.Integer) and isinstance(value, types.Integer)):
        return None
    sig = types.void(arr, types.intp, arr.dtype)

    def codegen(context, builder, sig, args):
        ptr = _word_ptr(context, builder, sig.args[0], args[0], args[1])
        builder.store_atomic(args[2], ptr, "release", 8)
        return context.get_dummy_value()
    return sig, codegen


@intrinsic
def fetch_add(typingctx, arr, idx, value):
    """Atomic `old = arr[idx]; arr[idx] += value; return old` (acq_rel)."""
    if not (_is_word_array(arr) and isinstance(idx, types.Integer) and isinstance(value, types.Integer)):
        return None
    sig = arr.dtype(arr, types.intp, arr.dtype)

    def codegen(context, builder, sig, args):
        ptr = _word_ptr(context, builder, sig.args[0], args[0], args[1])
        return builder.atomic_rmw("add", ptr, args[2], "acq_rel")
    return sig, codegen


@intrinsic
def compare_exchange(typingctx, arr, idx, expected, desired):
    """Atomic CAS; returns True when `arr[idx]` was `expected` and is now `desired` (acq_rel)."""
    if not (_is_word_array(arr) and isinstance(idx, types.Integer)):
        return None
    sig = types.boolean(arr, types.intp, arr.dtype, arr.dtype)

    def codegen(context, builder, sig, args):
        ptr = _word_ptr(context, builder, sig.args[0], args[0], args[1])
        res = builder.cmpxchg(ptr, args[2], args[3], "acq_rel", "acquire")
        return builder.extract_value(res, 1)
    return sig, codegen


@intrinsic
def _fence(typingctx):
    sig = types.void()

    def codegen(context, builder, sig, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()
    return sig, codegen


@njit(nogil=True, cache=True)
def fence():
    """A full memory fence, callable from Python and njit code."""
    _fence()


@intrinsic
def now_ns(typingctx):
    """CLOCK_REALTIME in nanoseconds (same clock as Python's time.time_ns(); HLC physical time)."""
    sig = types.int64()

    def codegen(context, builder, sig, args):
        i64, i32 = ir.IntType(64), ir.IntType(32)
        ts = cgutils.alloca_once(builder, ir.ArrayType(i64, 2))
        fnty = ir.FunctionType(i32, [i32, ts.type])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "clock_gettime")
        builder.call(fn, [ir.Constant(i32, 0), ts])
        zero = ir.Constant(i32, 0)
        sec = builder.load(builder.gep(ts, [zero, zero]))
        nsec = builder.load(builder.gep(ts, [zero, ir.Constant(i32, 1)]))
        return builder.add(builder.mul(sec, ir.Constant(i64, 1_000_000_000)), nsec)
    return sig, codegen


_libc = ctypes.CDLL(None)
usleep = _libc.usleep          # njit-callable through numba's ctypes support
usleep.argtypes = [ctypes.c_uint]
usleep.restype = ctypes.c_int
sched_yield = _libc.sched_yield
sched_yield.argtypes = []
sched_yield.restype = ctypes.c_int
