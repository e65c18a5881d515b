"""A pure-Python Philox4x32-10 (Salmon et al., SC'11), written from the paper's description, and the
(seed, stream, draw) mapping of intrinsics/random.toml: the reference the backends are checked
against. It shares no code with ringkernel; tests/test_random.py first checks it against the
published Random123 known-answer vectors."""
import math

import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF

# Random123 tests/kat_vectors, the "philox4x32 10" lines: counter (4 words), key (2), output (4).
KAT = [
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


def philox(ctr, key, rounds=10):
    x0, x1, x2, x3 = ctr
    k0, k1 = key
    for r in range(rounds):
        if r:
            k0, k1 = (k0 + W0) & MASK, (k1 + W1) & MASK
        p0, p1 = M0 * x0, M1 * x2
        x0, x1, x2, x3 = (p1 >> 32) ^ x1 ^ k0, p1 & MASK, (p0 >> 32) ^ x3 ^ k1, p0 & MASK
    return x0, x1, x2, x3


def block(seed, stream, b):
    return philox((b & MASK, b >> 32, stream & MASK, stream >> 32), (seed & MASK, seed >> 32))


def u32(seed, stream, draw):
    return block(seed, stream, draw >> 2)[draw & 3]


def f32_of(word):
    return float(np.float32(((word >> 9) * 2 + 1) / 2.0 ** 24))


def f64_of(hi, lo):
    return ((((hi << 20) | (lo >> 12)) * 2 + 1) / 2.0 ** 53)


def uniform_f32(seed, stream, draw):
    return f32_of(u32(seed, stream, draw))


def uniform_f64(seed, stream, draw):
    w = block(seed, stream, draw >> 1)
    p = 2 * (draw & 1)
    return f64_of(w[p], w[p + 1])


def normal_f32(seed, stream, draw):
    """In f64 from the f32 uniforms: the backends compute it in f32 and agree to f32 rounding."""
    w = block(seed, stream, draw >> 2)
    p = 2 * ((draw >> 1) & 1)
    r = math.sqrt(-2.0 * math.log(f32_of(w[p])))
    t = float(np.float32(2 * math.pi)) * f32_of(w[p + 1])
    return r * (math.sin(t) if draw & 1 else math.cos(t))


def normal_f64(seed, stream, draw):
    w = block(seed, stream, draw >> 1)
    r = math.sqrt(-2.0 * math.log(f64_of(w[0], w[1])))
    t = 2 * math.pi * f64_of(w[2], w[3])
    return r * (math.sin(t) if draw & 1 else math.cos(t))
