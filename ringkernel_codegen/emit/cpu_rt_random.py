"""CPU runtime helpers (cpu_rt): Philox4x32-10 counter-based random numbers.

The same algorithm, mapping and conversions as the CUDA helpers in templates/cuda_prelude.cuh
(intrinsics/random.toml describes them): every integer and uniform result is bit-identical to the
GPU's; normals use the host's log/sqrt/cos/sin and so agree to a few ulp.
"""
from __future__ import annotations

import numpy as np

from .cpu_rt_bits import rt_jit

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint32(0x9E3779B9)
_W1 = np.uint32(0xBB67AE85)
_LO = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_TWO_PI_F32 = np.float32(6.283185307179586)
_TWO_PI_F64 = np.float64(6.283185307179586)
_F32_ULP = np.float32(2.0 ** -24)
_F64_ULP = np.float64(2.0 ** -53)


@rt_jit
def philox4x32(c0, c1, c2, c3, k0, k1):
    """The four output words of Philox4x32-10 for counter (c0..c3) and key (k0, k1)."""
    c0, c1, c2, c3 = np.uint32(c0), np.uint32(c1), np.uint32(c2), np.uint32(c3)
    k0, k1 = np.uint32(k0), np.uint32(k1)
    for r in range(10):
        if r > 0:
            k0 = np.uint32(k0 + _W0)
            k1 = np.uint32(k1 + _W1)
        p0 = _M0 * np.uint64(c0)
        p1 = _M1 * np.uint64(c2)
        n0 = np.uint32(np.uint32(p1 >> _S32) ^ c1 ^ k0)
        n2 = np.uint32(np.uint32(p0 >> _S32) ^ c3 ^ k1)
        c0, c1, c2, c3 = n0, np.uint32(p1 & _LO), n2, np.uint32(p0 & _LO)
    return c0, c1, c2, c3


@rt_jit
def philox4x32_store(out, i, c0, c1, c2, c3, k0, k1):
    w0, w1, w2, w3 = philox4x32(c0, c1, c2, c3, k0, k1)
    out[i] = w0
    out[i + 1] = w1
    out[i + 2] = w2
    out[i + 3] = w3


@rt_jit
def _block(seed, stream, block):
    seed, stream, block = np.uint64(seed), np.uint64(stream), np.uint64(block)
    return philox4x32(np.uint32(block & _LO), np.uint32(block >> _S32), np.uint32(stream & _LO),
                      np.uint32(stream >> _S32), np.uint32(seed & _LO), np.uint32(seed >> _S32))


@rt_jit
def _f32_of(u):
    return np.float32((np.uint32(u) >> np.uint32(9)) * np.uint32(2) + np.uint32(1)) * _F32_ULP


@rt_jit
def _f64_of(hi, lo):
    x = (np.uint64(hi) << np.uint64(20)) | (np.uint64(lo) >> np.uint64(12))
    return np.float64(x * np.uint64(2) + np.uint64(1)) * _F64_ULP


@rt_jit
def _word(w, i):
    if i == 0:
        return w[0]
    if i == 1:
        return w[1]
    if i == 2:
        return w[2]
    return w[3]


@rt_jit
def philox_u32(seed, stream, draw):
    d = np.uint64(draw)
    return _word(_block(seed, stream, d >> np.uint64(2)), d & np.uint64(3))


@rt_jit
def philox_uniform_f32(seed, stream, draw):
    return _f32_of(philox_u32(seed, stream, draw))


@rt_jit
def philox_uniform_f64(seed, stream, draw):
    d = np.uint64(draw)
    w = _block(seed, stream, d >> np.uint64(1))
    if d & np.uint64(1):
        return _f64_of(w[2], w[3])
    return _f64_of(w[0], w[1])


@rt_jit
def philox_normal_f32(seed, stream, draw):
    d = np.uint64(draw)
    w = _block(seed, stream, d >> np.uint64(2))
    if (d >> np.uint64(1)) & np.uint64(1):
        u1, u2 = _f32_of(w[2]), _f32_of(w[3])
    else:
        u1, u2 = _f32_of(w[0]), _f32_of(w[1])
    r = np.sqrt(np.float32(-2.0) * np.log(u1))
    t = _TWO_PI_F32 * u2
    if d & np.uint64(1):
        return np.float32(r * np.sin(t))
    return np.float32(r * np.cos(t))


@rt_jit
def philox_normal_f64(seed, stream, draw):
    d = np.uint64(draw)
    w = _block(seed, stream, d >> np.uint64(1))
    r = np.sqrt(-2.0 * np.log(_f64_of(w[0], w[1])))
    t = _TWO_PI_F64 * _f64_of(w[2], w[3])
    if d & np.uint64(1):
        return r * np.sin(t)
    return r * np.cos(t)
