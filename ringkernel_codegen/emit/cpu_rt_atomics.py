"""CPU runtime helpers (cpu_rt): atomics with CUDA semantics, each returning the old value.

The emulator runs blocks and threads one after another, so an atomic is a plain read-modify-write.
"""
from __future__ import annotations

from numba.extending import overload

from .cpu_rt_bits import rt_jit


# --- casts -------------------------------------------------------------------------------------

def as_elem(arr, v):
    """v converted to arr's element type (CUDA converts the operand before the atomic op)."""


@overload(as_elem)
def _as_elem(arr, v):
    elem = arr.dtype

    def impl(arr, v):
        return elem(v)
    return impl


# --- atomics (serialised: plain read-modify-write, returns the old value) -----------------------

@rt_jit
def atomic_add(arr, idx, v):
    old = arr[idx]
    arr[idx] = old + as_elem(arr, v)
    return old


@rt_jit
def atomic_sub(arr, idx, v):
    old = arr[idx]
    arr[idx] = old - as_elem(arr, v)
    return old


@rt_jit
def atomic_min(arr, idx, v):
    old = arr[idx]
    w = as_elem(arr, v)
    if w < old:
        arr[idx] = w
    return old


@rt_jit
def atomic_max(arr, idx, v):
    old = arr[idx]
    w = as_elem(arr, v)
    if w > old:
        arr[idx] = w
    return old


@rt_jit
def atomic_exch(arr, idx, v):
    old = arr[idx]
    arr[idx] = as_elem(arr, v)
    return old


@rt_jit
def atomic_cas(arr, idx, compare, v):
    """Stores v when the old value equals compare (floats: compared by value here, by bits on CUDA)."""
    old = arr[idx]
    if old == as_elem(arr, compare):
        arr[idx] = as_elem(arr, v)
    return old


@rt_jit
def atomic_and(arr, idx, v):
    old = arr[idx]
    arr[idx] = old & as_elem(arr, v)
    return old


@rt_jit
def atomic_or(arr, idx, v):
    old = arr[idx]
    arr[idx] = old | as_elem(arr, v)
    return old


@rt_jit
def atomic_xor(arr, idx, v):
    old = arr[idx]
    arr[idx] = old ^ as_elem(arr, v)
    return old


@rt_jit
def atomic_inc(arr, idx, v):
    """CUDA atomicInc: old >= v ? 0 : old + 1 (unsigned)."""
    old = arr[idx]
    w = as_elem(arr, v)
    if old >= w:
        arr[idx] = as_elem(arr, 0)
    else:
        arr[idx] = old + as_elem(arr, 1)
    return old


@rt_jit
def atomic_dec(arr, idx, v):
    """CUDA atomicDec: (old == 0 or old > v) ? v : old - 1 (unsigned)."""
    old = arr[idx]
    w = as_elem(arr, v)
    if old == as_elem(arr, 0) or old > w:
        arr[idx] = w
    else:
        arr[idx] = old - as_elem(arr, 1)
    return old
