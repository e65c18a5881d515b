"""CPU runtime helpers (cpu_rt): float math that numpy and math lack inside njit code.

Each matches the CUDA function: fma rounds once (llvm.fma), round() halves away from zero,
remainder() is the IEEE one, and the special functions handle inf/NaN/zero like CUDA's.
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .cpu_rt_bits import f32_as_i32, i32_as_f32, rt_jit


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


@rt_jit
def fma(a, b, c):
    return _llvm_fma(a, b, c)


@rt_jit
def round_away(x):
    """C round(): halfway cases away from zero (Python's round() rounds half to even)."""
    if not np.isfinite(x):
        return x
    t = np.trunc(x)
    if abs(x - t) >= 0.5:
        t += np.copysign(1.0, x)
    return np.copysign(t, x)


@rt_jit
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


@rt_jit
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


@rt_jit
def exp10(x):
    return np.power(10.0, np.float64(x))


@rt_jit
def rsqrt(x):
    return np.divide(1.0, np.sqrt(np.float64(x)))


@rt_jit
def rcbrt(x):
    return np.divide(1.0, np.cbrt(np.float64(x)))


@rt_jit
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


@rt_jit
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


@rt_jit
def normcdf(x):
    return 0.5 * math.erfc(-np.float64(x) * 0.7071067811865476)


@rt_jit
def normcdfinv(p):
    return -1.4142135623730951 * erfcinv(2.0 * np.float64(p))


@rt_jit
def sinpi(x):
    """sin(pi*x) with exact argument reduction: exact zeros at integers."""
    x = np.float64(x)
    if not np.isfinite(x):
        return np.nan
    r = np.fmod(x, 2.0)          # exact, in (-2, 2)
    if r == 0.0:
        return np.copysign(0.0, x)
    return math.sin(math.pi * r) if abs(r) != 1.0 else np.copysign(0.0, r)


@rt_jit
def cospi(x):
    """cos(pi*x) with exact argument reduction: exact zeros at half-integers."""
    x = np.float64(x)
    if not np.isfinite(x):
        return np.nan
    r = abs(np.fmod(x, 2.0))
    if r == 0.5 or r == 1.5:
        return 0.0
    return math.cos(math.pi * r)


@rt_jit
def fdim(x, y):
    """Positive difference: x - y when x > y, else +0; NaN in, NaN out."""
    if np.isnan(x) or np.isnan(y):
        return np.nan
    return np.float64(x) - np.float64(y) if x > y else 0.0


@rt_jit
def logb(x):
    x = np.float64(x)
    if np.isnan(x):
        return x
    if x == 0.0:
        return -np.inf
    if np.isinf(x):
        return np.inf
    return np.float64(ilogb(x))


@rt_jit
def ilogb(x):
    """Unbiased exponent; INT_MIN for 0 and NaN, INT_MAX for inf (CUDA's FP_ILOGB0/NAN)."""
    x = np.float64(x)
    if np.isnan(x) or x == 0.0:
        return np.int32(-2147483648)
    if np.isinf(x):
        return np.int32(2147483647)
    m, e = math.frexp(x)
    return np.int32(e - 1)


@rt_jit
def saturate(x):
    """Clamp to [0, 1]; NaN -> 0 (CUDA __saturatef)."""
    if np.isnan(x):
        return 0.0
    return min(max(np.float64(x), 0.0), 1.0)


@rt_jit
def fdiv(x, y):
    return np.divide(np.float64(x), np.float64(y))


@rt_jit
def rhypot(x, y):
    return np.divide(1.0, np.hypot(np.float64(x), np.float64(y)))


@rt_jit
def norm3d(x, y, z):
    return np.hypot(np.hypot(np.float64(x), np.float64(y)), np.float64(z))


@rt_jit
def rnorm3d(x, y, z):
    return np.divide(1.0, norm3d(x, y, z))
