"""CPU (numba.njit) implementations of intrinsics whose `cpu` spelling is `_rt.<name>(...)`.

Everything here matches the CUDA semantics, not Python's: integers wrap at their width, float
division by zero gives inf/nan instead of raising (error_model="numpy"), atomics return the old
value. The emulator runs blocks and threads one after another, so atomics are plain
read-modify-writes. Warp and block collectives receive per-thread arrays (one value per thread of
the block, flat thread id order), the calling thread's flat id `t` and the thread count `nt`;
lanes are flat id % 32 and the last warp of a block may be partial.
"""
from __future__ import annotations

import ctypes
import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

_jit = numba.njit(error_model="numpy", cache=False)

_U32 = np.uint64(0xFFFFFFFF)
_U64_MAX = np.uint64(0xFFFFFFFFFFFFFFFF)


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

@_jit
def atomic_add(arr, idx, v):
    old = arr[idx]
    arr[idx] = old + as_elem(arr, v)
    return old


@_jit
def atomic_sub(arr, idx, v):
    old = arr[idx]
    arr[idx] = old - as_elem(arr, v)
    return old


@_jit
def atomic_min(arr, idx, v):
    old = arr[idx]
    w = as_elem(arr, v)
    if w < old:
        arr[idx] = w
    return old


@_jit
def atomic_max(arr, idx, v):
    old = arr[idx]
    w = as_elem(arr, v)
    if w > old:
        arr[idx] = w
    return old


@_jit
def atomic_exch(arr, idx, v):
    old = arr[idx]
    arr[idx] = as_elem(arr, v)
    return old


@_jit
def atomic_cas(arr, idx, compare, v):
    """Stores v when the old value equals compare (floats: compared by value here, by bits on CUDA)."""
    old = arr[idx]
    if old == as_elem(arr, compare):
        arr[idx] = as_elem(arr, v)
    return old


@_jit
def atomic_and(arr, idx, v):
    old = arr[idx]
    arr[idx] = old & as_elem(arr, v)
    return old


@_jit
def atomic_or(arr, idx, v):
    old = arr[idx]
    arr[idx] = old | as_elem(arr, v)
    return old


@_jit
def atomic_xor(arr, idx, v):
    old = arr[idx]
    arr[idx] = old ^ as_elem(arr, v)
    return old


@_jit
def atomic_inc(arr, idx, v):
    """CUDA atomicInc: old >= v ? 0 : old + 1 (unsigned)."""
    old = arr[idx]
    w = as_elem(arr, v)
    if old >= w:
        arr[idx] = as_elem(arr, 0)
    else:
        arr[idx] = old + as_elem(arr, 1)
    return old


@_jit
def atomic_dec(arr, idx, v):
    """CUDA atomicDec: (old == 0 or old > v) ? v : old - 1 (unsigned)."""
    old = arr[idx]
    w = as_elem(arr, v)
    if old == as_elem(arr, 0) or old > w:
        arr[idx] = w
    else:
        arr[idx] = old - as_elem(arr, 1)
    return old


# --- bits --------------------------------------------------------------------------------------

@_jit
def popc32(x):
    v = np.uint64(np.uint32(x))
    c = 0
    while v:
        v &= v - np.uint64(1)
        c += 1
    return np.int32(c)


@_jit
def popc64(x):
    v = np.uint64(x)
    c = 0
    while v:
        v &= v - np.uint64(1)
        c += 1
    return np.int32(c)


@_jit
def _clz(v, bits):
    n = 0
    for i in range(bits - 1, -1, -1):
        if (v >> np.uint64(i)) & np.uint64(1):
            break
        n += 1
    return np.int32(n)


@_jit
def _ctz(v, bits):
    n = 0
    for i in range(bits):
        if (v >> np.uint64(i)) & np.uint64(1):
            break
        n += 1
    return np.int32(n)


@_jit
def clz32(x):
    return _clz(np.uint64(np.uint32(x)), 32)


@_jit
def clz64(x):
    return _clz(np.uint64(x), 64)


@_jit
def ctz32(x):
    return _ctz(np.uint64(np.uint32(x)), 32)


@_jit
def ctz64(x):
    return _ctz(np.uint64(x), 64)


@_jit
def ffs32(x):
    v = np.uint64(np.uint32(x))
    return np.int32(0) if v == 0 else np.int32(_ctz(v, 32) + 1)


@_jit
def ffs64(x):
    v = np.uint64(x)
    return np.int32(0) if v == 0 else np.int32(_ctz(v, 64) + 1)


@_jit
def _brev(v, bits):
    r = np.uint64(0)
    for i in range(bits):
        r = (r << np.uint64(1)) | ((v >> np.uint64(i)) & np.uint64(1))
    return r


@_jit
def brev32(x):
    return np.uint32(_brev(np.uint64(np.uint32(x)), 32))


@_jit
def brev64(x):
    return np.uint64(_brev(np.uint64(x), 64))


@_jit
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


@_jit
def funnelshift_l(lo, hi, shift):
    """Upper 32 bits of (hi:lo) << (shift & 31)."""
    n = np.uint64(np.uint32(shift) & np.uint32(31))
    v = (np.uint64(np.uint32(hi)) << np.uint64(32)) | np.uint64(np.uint32(lo))
    return np.uint32((v << n) >> np.uint64(32))


@_jit
def funnelshift_lc(lo, hi, shift):
    """Upper 32 bits of (hi:lo) << min(shift, 32)."""
    s = np.uint32(shift)
    if s >= np.uint32(32):
        return np.uint32(lo)
    return funnelshift_l(lo, hi, s)


@_jit
def funnelshift_r(lo, hi, shift):
    """Lower 32 bits of (hi:lo) >> (shift & 31)."""
    n = np.uint64(np.uint32(shift) & np.uint32(31))
    v = (np.uint64(np.uint32(hi)) << np.uint64(32)) | np.uint64(np.uint32(lo))
    return np.uint32((v >> n) & _U32)


@_jit
def funnelshift_rc(lo, hi, shift):
    """Lower 32 bits of (hi:lo) >> min(shift, 32)."""
    s = np.uint32(shift)
    if s >= np.uint32(32):
        return np.uint32(hi)
    return funnelshift_r(lo, hi, s)


@_jit
def rotl32(x, n):
    return funnelshift_l(x, x, n)


@_jit
def rotr32(x, n):
    return funnelshift_r(x, x, n)


@_jit
def rotl64(x, n):
    v = np.uint64(x)
    s = np.uint64(np.uint32(n) & np.uint32(63))
    if s == 0:
        return v
    return (v << s) | (v >> (np.uint64(64) - s))


@_jit
def rotr64(x, n):
    v = np.uint64(x)
    s = np.uint64(np.uint32(n) & np.uint32(63))
    if s == 0:
        return v
    return (v >> s) | (v << (np.uint64(64) - s))


@_jit
def mulhi_i32(a, b):
    return np.int32((np.int64(np.int32(a)) * np.int64(np.int32(b))) >> 32)


@_jit
def mulhi_u32(a, b):
    return np.uint32((np.uint64(np.uint32(a)) * np.uint64(np.uint32(b))) >> np.uint64(32))


@_jit
def mulhi_u64(a, b):
    """Upper 64 bits of the 128-bit unsigned product, from 32-bit limbs."""
    x = np.uint64(a)
    y = np.uint64(b)
    x0 = x & _U32
    x1 = x >> np.uint64(32)
    y0 = y & _U32
    y1 = y >> np.uint64(32)
    p00 = x0 * y0
    p01 = x0 * y1
    p10 = x1 * y0
    p11 = x1 * y1
    mid = (p00 >> np.uint64(32)) + (p01 & _U32) + (p10 & _U32)
    return p11 + (p01 >> np.uint64(32)) + (p10 >> np.uint64(32)) + (mid >> np.uint64(32))


@_jit
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


@_jit
def hadd_i32(a, b):
    return np.int32((np.int64(a) + np.int64(b)) >> 1)


@_jit
def rhadd_i32(a, b):
    return np.int32((np.int64(a) + np.int64(b) + 1) >> 1)


@_jit
def hadd_u32(a, b):
    return np.uint32((np.int64(np.uint32(a)) + np.int64(np.uint32(b))) >> 1)


@_jit
def rhadd_u32(a, b):
    return np.uint32((np.int64(np.uint32(a)) + np.int64(np.uint32(b)) + 1) >> 1)


@_jit
def sad_i32(a, b, c):
    d = np.int64(np.int32(a)) - np.int64(np.int32(b))
    return np.uint32((abs(d) + np.int64(np.uint32(c))) & 0xFFFFFFFF)


@_jit
def sad_u32(a, b, c):
    d = np.int64(np.uint32(a)) - np.int64(np.uint32(b))
    return np.uint32((abs(d) + np.int64(np.uint32(c))) & 0xFFFFFFFF)


@_jit
def abs_i32(x):
    return np.int32(abs(np.int64(x)))  # truncation keeps CUDA's abs(INT_MIN) == INT_MIN


@_jit
def abs_i64(x):
    v = np.int64(x)
    return np.int64(np.uint64(0) - np.uint64(v)) if v < 0 else v


# --- bit casts ---------------------------------------------------------------------------------

@_jit
def f32_as_i32(x):
    return np.array([x], np.float32).view(np.int32)[0]


@_jit
def f32_as_u32(x):
    return np.array([x], np.float32).view(np.uint32)[0]


@_jit
def i32_as_f32(x):
    return np.array([np.uint32(x)], np.uint32).view(np.float32)[0]


@_jit
def f64_as_i64(x):
    return np.array([x], np.float64).view(np.int64)[0]


@_jit
def i64_as_f64(x):
    return np.array([np.int64(x)], np.int64).view(np.float64)[0]


# --- float math that numpy / math lack in njit --------------------------------------------------

@intrinsic
def _llvm_fma(typingctx, a, b, c):
    """Fused multiply-add through llvm.fma (one rounding, like CUDA fma/fmaf)."""
    if not (isinstance(a, types.Float) and a == b == c):
        return None

    def codegen(context, builder, sig, args):
        ty = context.get_value_type(sig.return_type)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ty, [ty, ty, ty]),
                                            f"llvm.fma.{'f32' if ty == ir.FloatType() else 'f64'}")
        return builder.call(fn, list(args))
    return a(a, a, a), codegen


@_jit
def fma(a, b, c):
    return _llvm_fma(a, b, c)


@_jit
def round_away(x):
    """C round(): halfway cases away from zero (Python's round() rounds half to even)."""
    if not np.isfinite(x):
        return x
    t = np.trunc(x)
    if abs(x - t) >= 0.5:
        t += np.copysign(1.0, x)
    return np.copysign(t, x)


@_jit
def remainder(x, y):
    """IEEE remainder: x - n*y with n = x/y rounded to nearest, ties to even (exact)."""
    x = np.float64(x)
    y = np.float64(y)
    if np.isnan(x) or np.isnan(y) or np.isinf(x) or y == 0.0:
        return np.nan
    if np.isinf(y):
        return x
    ay = abs(y)
    r = np.fmod(x, ay)  # exact; the truncated quotient's parity decides ties
    two = 2.0 * ay
    odd = abs(np.fmod(x, two)) >= ay if np.isfinite(two) else abs(x) >= ay
    ar = abs(r)
    if ar > ay - ar or (ar == ay - ar and odd):
        r = r - np.copysign(ay, r)
    if r == 0.0:
        return np.copysign(0.0, x)
    return r


@_jit
def nextafter_f32(x, y):
    """The f32 after x toward y, by stepping the bit pattern (np.nextafter on scalars works in f64)."""
    a = np.float32(x)
    b = np.float32(y)
    if np.isnan(a) or np.isnan(b):
        return np.float32(np.nan)
    if a == b:
        return b
    if a == 0:
        tiny = i32_as_f32(1)
        return tiny if b > 0 else -tiny
    bits = f32_as_i32(a)
    if (a < b) == (a > 0):
        bits += 1
    else:
        bits -= 1
    return i32_as_f32(bits)


@_jit
def exp10(x):
    return np.power(10.0, np.float64(x))


@_jit
def rsqrt(x):
    return np.divide(1.0, np.sqrt(np.float64(x)))


@_jit
def rcbrt(x):
    return np.divide(1.0, np.cbrt(np.float64(x)))


@_jit
def erfinv(y):
    """Inverse error function: initial guess (Giles 2010) then Newton steps on math.erf."""
    y = np.float64(y)
    if np.isnan(y) or y < -1.0 or y > 1.0:
        return np.nan
    if y == 1.0:
        return np.inf
    if y == -1.0:
        return -np.inf
    w = -math.log((1.0 - y) * (1.0 + y))
    if w < 5.0:
        w -= 2.5
        p = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                  -0.00417768164, 0.246640727, 1.50140941):
            p = c + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                  0.00943887047, 1.00167406, 2.83297682):
            p = c + p * w
    x = p * y
    for _ in range(3):
        err = math.erf(x) - y
        x -= err / (1.1283791670955126 * math.exp(-x * x))
    return x


@_jit
def erfcinv(y):
    """Inverse complementary error function; Newton steps on erfc keep precision for small y."""
    y = np.float64(y)
    if np.isnan(y) or y < 0.0 or y > 2.0:
        return np.nan
    if y == 0.0:
        return np.inf
    if y == 2.0:
        return -np.inf
    x = erfinv(1.0 - y)
    if not np.isfinite(x):
        x = math.sqrt(-math.log(y * 0.5 if y < 1.0 else (2.0 - y) * 0.5))
        if y > 1.0:
            x = -x
    for _ in range(4):
        e = math.exp(-x * x)
        if e == 0.0:
            break
        x += (math.erfc(x) - y) / (1.1283791670955126 * e)
    return x


@_jit
def normcdf(x):
    return 0.5 * math.erfc(-np.float64(x) * 0.7071067811865476)


@_jit
def normcdfinv(p):
    return -1.4142135623730951 * erfcinv(2.0 * np.float64(p))


@_jit
def sinpi(x):
    """sin(pi*x) with exact argument reduction: exact zeros at integers."""
    x = np.float64(x)
    if not np.isfinite(x):
        return np.nan
    r = np.fmod(x, 2.0)          # exact, in (-2, 2)
    if r == 0.0:
        return np.copysign(0.0, x)
    return math.sin(math.pi * r) if abs(r) != 1.0 else np.copysign(0.0, r)


@_jit
def cospi(x):
    """cos(pi*x) with exact argument reduction: exact zeros at half-integers."""
    x = np.float64(x)
    if not np.isfinite(x):
        return np.nan
    r = abs(np.fmod(x, 2.0))
    if r == 0.5 or r == 1.5:
        return 0.0
    return math.cos(math.pi * r)


@_jit
def fdim(x, y):
    """Positive difference: x - y when x > y, else +0; NaN in, NaN out."""
    if np.isnan(x) or np.isnan(y):
        return np.nan
    return np.float64(x) - np.float64(y) if x > y else 0.0


@_jit
def logb(x):
    x = np.float64(x)
    if np.isnan(x):
        return x
    if x == 0.0:
        return -np.inf
    if np.isinf(x):
        return np.inf
    return np.float64(ilogb(x))


@_jit
def ilogb(x):
    """Unbiased exponent; INT_MIN for 0 and NaN, INT_MAX for inf (CUDA's FP_ILOGB0/NAN)."""
    x = np.float64(x)
    if np.isnan(x) or x == 0.0:
        return np.int32(-2147483648)
    if np.isinf(x):
        return np.int32(2147483647)
    m, e = math.frexp(x)
    return np.int32(e - 1)


@_jit
def saturate(x):
    """Clamp to [0, 1]; NaN -> 0 (CUDA __saturatef)."""
    if np.isnan(x):
        return 0.0
    return min(max(np.float64(x), 0.0), 1.0)


@_jit
def fdiv(x, y):
    return np.divide(np.float64(x), np.float64(y))


@_jit
def rhypot(x, y):
    return np.divide(1.0, np.hypot(np.float64(x), np.float64(y)))


@_jit
def norm3d(x, y, z):
    return np.hypot(np.hypot(np.float64(x), np.float64(y)), np.float64(z))


@_jit
def rnorm3d(x, y, z):
    return np.divide(1.0, norm3d(x, y, z))


# --- clocks ------------------------------------------------------------------------------------

@intrinsic
def _readcyclecounter(typingctx):
    """llvm.readcyclecounter: the CPU time-stamp counter (rdtsc on x86), monotonic per core."""
    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(64), []),
                                            "llvm.readcyclecounter")
        return builder.call(fn, [])
    return types.int64(), codegen


@_jit
def clock64():
    return np.uint64(_readcyclecounter())


@_jit
def clock32():
    return np.uint32(np.uint64(_readcyclecounter()) & _U32)


try:  # CLOCK_MONOTONIC nanoseconds through libc, callable from njit code
    _libc = ctypes.CDLL(None)
    _clock_gettime = _libc.clock_gettime
    _clock_gettime.argtypes = [ctypes.c_int, ctypes.c_void_p]
    _clock_gettime.restype = ctypes.c_int
    _HAVE_CLOCK_GETTIME = True
except (OSError, AttributeError):  # pragma: no cover - non-POSIX hosts
    _HAVE_CLOCK_GETTIME = False

if _HAVE_CLOCK_GETTIME:
    @_jit
    def globaltimer():
        """Monotonic nanoseconds (CLOCK_MONOTONIC); the GPU's %globaltimer is also in ns."""
        ts = np.zeros(2, np.int64)
        _clock_gettime(1, ts.ctypes)
        return np.uint64(ts[0] * 1000000000 + ts[1])
else:  # pragma: no cover
    @_jit
    def globaltimer():
        return np.uint64(_readcyclecounter())


# --- warp collectives --------------------------------------------------------------------------

@_jit
def _warp_lanes(t, nt):
    """(first flat id of t's warp, lanes present in that warp)."""
    base = (t // 32) * 32
    return base, min(32, nt - base)


@_jit
def shfl_idx(vals, src, t, nt):
    """__shfl_sync: value of lane src & 31; own value when that lane does not exist."""
    base, n = _warp_lanes(t, nt)
    lane = np.int64(src[t]) & 31
    return vals[base + lane] if lane < n else vals[t]


@_jit
def shfl_up(vals, delta, t, nt):
    base, n = _warp_lanes(t, nt)
    j = (t - base) - np.int64(np.uint32(delta[t]))
    return vals[base + j] if 0 <= j < n else vals[t]


@_jit
def shfl_down(vals, delta, t, nt):
    base, n = _warp_lanes(t, nt)
    j = (t - base) + np.int64(np.uint32(delta[t]))
    return vals[base + j] if j < n else vals[t]


@_jit
def shfl_xor(vals, lanemask, t, nt):
    base, n = _warp_lanes(t, nt)
    j = (t - base) ^ np.int64(np.uint32(lanemask[t]))
    return vals[base + j] if j < n else vals[t]


@_jit
def ballot(mask, pred, t, nt):
    """Bit i set when lane i exists, is in the caller's mask and has a non-zero predicate."""
    base, n = _warp_lanes(t, nt)
    m = np.uint64(np.uint32(mask[t]))
    r = np.uint64(0)
    for i in range(n):
        if (m >> np.uint64(i)) & np.uint64(1) and pred[base + i] != 0:
            r |= np.uint64(1) << np.uint64(i)
    return np.uint32(r)


@_jit
def any_sync(mask, pred, t, nt):
    return np.int32(ballot(mask, pred, t, nt) != 0)


@_jit
def all_sync(mask, pred, t, nt):
    base, n = _warp_lanes(t, nt)
    m = np.uint64(np.uint32(mask[t]))
    for i in range(n):
        if (m >> np.uint64(i)) & np.uint64(1) and pred[base + i] == 0:
            return np.int32(0)
    return np.int32(1)


@_jit
def activemask(t, nt):
    """Lanes present in the caller's warp (the emulator runs every thread to every collective)."""
    base, n = _warp_lanes(t, nt)
    return np.uint32((np.uint64(1) << np.uint64(n)) - np.uint64(1))


@_jit
def match_any(mask, vals, t, nt):
    base, n = _warp_lanes(t, nt)
    m = np.uint64(np.uint32(mask[t]))
    r = np.uint64(0)
    for i in range(n):
        if (m >> np.uint64(i)) & np.uint64(1) and vals[base + i] == vals[t]:
            r |= np.uint64(1) << np.uint64(i)
    return np.uint32(r)


@_jit
def match_all(mask, vals, t, nt):
    """mask (restricted to present lanes) when every lane in it holds the caller's value, else 0."""
    base, n = _warp_lanes(t, nt)
    m = np.uint64(np.uint32(mask[t]))
    r = np.uint64(0)
    for i in range(n):
        if (m >> np.uint64(i)) & np.uint64(1):
            if vals[base + i] != vals[t]:
                return np.uint32(0)
            r |= np.uint64(1) << np.uint64(i)
    return np.uint32(r)


@_jit
def _masked_reduce(mask, vals, t, nt, op):
    base, n = _warp_lanes(t, nt)
    m = np.uint64(np.uint32(mask[t]))
    acc = np.zeros(1, vals.dtype)
    first = True
    for i in range(n):
        if (m >> np.uint64(i)) & np.uint64(1):
            v = vals[base + i]
            if first:
                acc[0] = v
                first = False
            elif op == 0:
                acc[0] = acc[0] + v
            elif op == 1:
                acc[0] = min(acc[0], v)
            elif op == 2:
                acc[0] = max(acc[0], v)
            elif op == 3:
                acc[0] = acc[0] & v
            elif op == 4:
                acc[0] = acc[0] | v
            else:
                acc[0] = acc[0] ^ v
    return acc[0]


@_jit
def reduce_add(mask, vals, t, nt):
    return _masked_reduce(mask, vals, t, nt, 0)


@_jit
def reduce_min(mask, vals, t, nt):
    return _masked_reduce(mask, vals, t, nt, 1)


@_jit
def reduce_max(mask, vals, t, nt):
    return _masked_reduce(mask, vals, t, nt, 2)


@_jit
def reduce_and(mask, vals, t, nt):
    return _masked_reduce(mask, vals, t, nt, 3)


@_jit
def reduce_or(mask, vals, t, nt):
    return _masked_reduce(mask, vals, t, nt, 4)


@_jit
def reduce_xor(mask, vals, t, nt):
    return _masked_reduce(mask, vals, t, nt, 5)


@_jit
def _warp_fold(vals, t, nt, op):
    base, n = _warp_lanes(t, nt)
    return _fold(vals, base, base + n, op)


@_jit
def _fold(vals, lo, hi, op):
    """Fold vals[lo:hi] in order; floats: min/max ignore NaN like fminf/fmaxf."""
    acc = np.zeros(1, vals.dtype)
    acc[0] = vals[lo]
    for i in range(lo + 1, hi):
        v = vals[i]
        if op == 0:
            acc[0] = acc[0] + v
        elif op == 1:
            acc[0] = np.fmin(acc[0], v)
        else:
            acc[0] = np.fmax(acc[0], v)
    return acc[0]


@_jit
def warp_reduce_sum(vals, t, nt):
    return _warp_fold(vals, t, nt, 0)


@_jit
def warp_reduce_min(vals, t, nt):
    return _warp_fold(vals, t, nt, 1)


@_jit
def warp_reduce_max(vals, t, nt):
    return _warp_fold(vals, t, nt, 2)


# --- block collectives -------------------------------------------------------------------------

@_jit
def syncthreads_count(pred, nt):
    c = 0
    for i in range(nt):
        if pred[i] != 0:
            c += 1
    return np.int32(c)


@_jit
def syncthreads_and(pred, nt):
    return np.int32(syncthreads_count(pred, nt) == nt)


@_jit
def syncthreads_or(pred, nt):
    return np.int32(syncthreads_count(pred, nt) != 0)


@_jit
def block_reduce_sum(vals, nt):
    return _fold(vals, 0, nt, 0)


@_jit
def block_reduce_min(vals, nt):
    return _fold(vals, 0, nt, 1)


@_jit
def block_reduce_max(vals, nt):
    return _fold(vals, 0, nt, 2)
