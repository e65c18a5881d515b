"""CPU runtime helpers (cpu_rt): integer bit manipulation, integer arithmetic and bit casts.

Also home of `rt_jit`, the compile options every cpu_rt helper shares: error_model="numpy" makes
float division by zero give inf/nan instead of raising, as on CUDA. Integers wrap at their width.
"""
from __future__ import annotations

import numba
import numpy as np

rt_jit = numba.njit(error_model="numpy", cache=False)

U32 = np.uint64(0xFFFFFFFF)


# --- bits --------------------------------------------------------------------------------------

@rt_jit
def popc32(x):
    v = np.uint64(np.uint32(x))
    c = 0
    while v:
        v &= v - np.uint64(1)
        c += 1
    return np.int32(c)


@rt_jit
def popc64(x):
    v = np.uint64(x)
    c = 0
    while v:
        v &= v - np.uint64(1)
        c += 1
    return np.int32(c)


@rt_jit
def _clz(v, bits):
    n = 0
    for i in range(bits - 1, -1, -1):
        if (v >> np.uint64(i)) & np.uint64(1):
            break
        n += 1
    return np.int32(n)


@rt_jit
def _ctz(v, bits):
    n = 0
    for i in range(bits):
        if (v >> np.uint64(i)) & np.uint64(1):
            break
        n += 1
    return np.int32(n)


@rt_jit
def clz32(x):
    return _clz(np.uint64(np.uint32(x)), 32)


@rt_jit
def clz64(x):
    return _clz(np.uint64(x), 64)


@rt_jit
def ctz32(x):
    return _ctz(np.uint64(np.uint32(x)), 32)


@rt_jit
def ctz64(x):
    return _ctz(np.uint64(x), 64)


@rt_jit
def ffs32(x):
    v = np.uint64(np.uint32(x))
    return np.int32(0) if v == 0 else np.int32(_ctz(v, 32) + 1)


@rt_jit
def ffs64(x):
    v = np.uint64(x)
    return np.int32(0) if v == 0 else np.int32(_ctz(v, 64) + 1)


@rt_jit
def _brev(v, bits):
    r = np.uint64(0)
    for i in range(bits):
        r = (r << np.uint64(1)) | ((v >> np.uint64(i)) & np.uint64(1))
    return r


@rt_jit
def brev32(x):
    return np.uint32(_brev(np.uint64(np.uint32(x)), 32))


@rt_jit
def brev64(x):
    return np.uint64(_brev(np.uint64(x), 64))


@rt_jit
def byte_perm(x, y, s):
    """CUDA __byte_perm: result byte i = byte (s >> 4i) & 7 of the 8-byte value y:x."""
    src = (np.uint64(np.uint32(y)) << np.uint64(32)) | np.uint64(np.uint32(x))
    sel = np.uint64(np.uint32(s))
    r = np.uint64(0)
    for i in range(4):
        k = (sel >> np.uint64(4 * i)) & np.uint64(7)
        byte = (src >> (np.uint64(8) * k)) & np.uint64(0xFF)
        r |= byte << np.uint64(8 * i)
    return np.uint32(r)


@rt_jit
def funnelshift_l(lo, hi, shift):
    """Upper 32 bits of (hi:lo) << (shift & 31)."""
    n = np.uint64(np.uint32(shift) & np.uint32(31))
    v = (np.uint64(np.uint32(hi)) << np.uint64(32)) | np.uint64(np.uint32(lo))
    return np.uint32((v << n) >> np.uint64(32))


@rt_jit
def funnelshift_lc(lo, hi, shift):
    """Upper 32 bits of (hi:lo) << min(shift, 32)."""
    s = np.uint32(shift)
    if s >= np.uint32(32):
        return np.uint32(lo)
    return funnelshift_l(lo, hi, s)


@rt_jit
def funnelshift_r(lo, hi, shift):
    """Lower 32 bits of (hi:lo) >> (shift & 31)."""
    n = np.uint64(np.uint32(shift) & np.uint32(31))
    v = (np.uint64(np.uint32(hi)) << np.uint64(32)) | np.uint64(np.uint32(lo))
    return np.uint32((v >> n) & U32)


@rt_jit
def funnelshift_rc(lo, hi, shift):
    """Lower 32 bits of (hi:lo) >> min(shift, 32)."""
    s = np.uint32(shift)
    if s >= np.uint32(32):
        return np.uint32(hi)
    return funnelshift_r(lo, hi, s)


@rt_jit
def rotl32(x, n):
    return funnelshift_l(x, x, n)


@rt_jit
def rotr32(x, n):
    return funnelshift_r(x, x, n)


@rt_jit
def rotl64(x, n):
    v = np.uint64(x)
    s = np.uint64(np.uint32(n) & np.uint32(63))
    if s == 0:
        return v
    return (v << s) | (v >> (np.uint64(64) - s))


@rt_jit
def rotr64(x, n):
    v = np.uint64(x)
    s = np.uint64(np.uint32(n) & np.uint32(63))
    if s == 0:
        return v
    return (v >> s) | (v << (np.uint64(64) - s))


@rt_jit
def mulhi_i32(a, b):
    return np.int32((np.int64(np.int32(a)) * np.int64(np.int32(b))) >> 32)


@rt_jit
def mulhi_u32(a, b):
    return np.uint32((np.uint64(np.uint32(a)) * np.uint64(np.uint32(b))) >> np.uint64(32))


@rt_jit
def mulhi_u64(a, b):
    """Upper 64 bits of the 128-bit unsigned product, from 32-bit limbs."""
    x = np.uint64(a)
    y = np.uint64(b)
    x0 = x & U32
    x1 = x >> np.uint64(32)
    y0 = y & U32
    y1 = y >> np.uint64(32)
    p00 = x0 * y0
    p01 = x0 * y1
    p10 = x1 * y0
    p11 = x1 * y1
    mid = (p00 >> np.uint64(32)) + (p01 & U32) + (p10 & U32)
    return p11 + (p01 >> np.uint64(32)) + (p10 >> np.uint64(32)) + (mid >> np.uint64(32))


@rt_jit
def mulhi_i64(a, b):
    """Signed high half: the unsigned one minus b when a < 0 and minus a when b < 0 (mod 2**64)."""
    x = np.int64(a)
    y = np.int64(b)
    ux = np.uint64(x)
    uy = np.uint64(y)
    h = mulhi_u64(ux, uy)
    if x < 0:
        h = h - uy
    if y < 0:
        h = h - ux
    return np.int64(h)


@rt_jit
def hadd_i32(a, b):
    return np.int32((np.int64(a) + np.int64(b)) >> 1)


@rt_jit
def rhadd_i32(a, b):
    return np.int32((np.int64(a) + np.int64(b) + 1) >> 1)


@rt_jit
def hadd_u32(a, b):
    return np.uint32((np.int64(np.uint32(a)) + np.int64(np.uint32(b))) >> 1)


@rt_jit
def rhadd_u32(a, b):
    return np.uint32((np.int64(np.uint32(a)) + np.int64(np.uint32(b)) + 1) >> 1)


@rt_jit
def sad_i32(a, b, c):
    d = np.int64(np.int32(a)) - np.int64(np.int32(b))
    return np.uint32((abs(d) + np.int64(np.uint32(c))) & 0xFFFFFFFF)


@rt_jit
def sad_u32(a, b, c):
    d = np.int64(np.uint32(a)) - np.int64(np.uint32(b))
    return np.uint32((abs(d) + np.int64(np.uint32(c))) & 0xFFFFFFFF)


@rt_jit
def abs_i32(x):
    return np.int32(abs(np.int64(x)))  # truncation keeps CUDA's abs(INT_MIN) == INT_MIN


@rt_jit
def abs_i64(x):
    v = np.int64(x)
    return np.int64(np.uint64(0) - np.uint64(v)) if v < 0 else v


# --- bit casts ---------------------------------------------------------------------------------

@rt_jit
def f32_as_i32(x):
    return np.array([x], np.float32).view(np.int32)[0]


@rt_jit
def f32_as_u32(x):
    return np.array([x], np.float32).view(np.uint32)[0]


@rt_jit
def i32_as_f32(x):
    return np.array([np.uint32(x)], np.uint32).view(np.float32)[0]


@rt_jit
def f64_as_i64(x):
    return np.array([x], np.float64).view(np.int64)[0]


@rt_jit
def i64_as_f64(x):
    return np.array([np.int64(x)], np.int64).view(np.float64)[0]
