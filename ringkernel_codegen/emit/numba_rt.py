"""numba.cuda device helpers for intrinsics whose `numba` spelling is `_nrt.<name>(...)`.

Used where numba.cuda has no built-in: funnel shifts and rotates, __byte_perm, the sm_80
__reduce_*_sync family, whole-warp reductions of any type, clocks (inline PTX), and ordered
loads/stores, and Philox4x32-10 random numbers (the same arithmetic as the CUDA prelude's rk_philox*).
numba has no acquire/release loads, so those are built from fences around an
uncached access: stronger than needed, never weaker (DESIGN.md: a fence before each poll load is
what made polling mapped memory work from numba).
"""
from __future__ import annotations

import math

from llvmlite import ir
from numba import cuda, types
from numba.cuda.extending import intrinsic

_dev = cuda.jit(device=True, inline=True)


def _read_special(reg: str, bits: int):
    @intrinsic
    def read(typingctx):
        ret = types.uint32 if bits == 32 else types.uint64

        def codegen(context, builder, sig, args):
            asm = ir.InlineAsm(ir.FunctionType(ir.IntType(bits), []),
                               f"mov.u{bits} $0, %{reg};", "=r" if bits == 32 else "=l", side_effect=True)
            return builder.call(asm, [])
        return ret(), codegen
    return read


_clock32 = _read_special("clock", 32)
_clock64 = _read_special("clock64", 64)
_globaltimer = _read_special("globaltimer", 64)


@_dev
def clock32():
    return _clock32()


@_dev
def clock64():
    return _clock64()


@_dev
def globaltimer():
    return _globaltimer()


# --- bits --------------------------------------------------------------------------------------

@_dev
def funnelshift_l(lo, hi, shift):
    v = (types.uint64(hi) << types.uint64(32)) | types.uint64(types.uint32(lo))
    return types.uint32((v << types.uint64(types.uint32(shift) & types.uint32(31))) >> types.uint64(32))


@_dev
def funnelshift_lc(lo, hi, shift):
    if types.uint32(shift) >= types.uint32(32):
        return types.uint32(lo)
    return funnelshift_l(lo, hi, shift)


@_dev
def funnelshift_r(lo, hi, shift):
    v = (types.uint64(hi) << types.uint64(32)) | types.uint64(types.uint32(lo))
    return types.uint32((v >> types.uint64(types.uint32(shift) & types.uint32(31))) & types.uint64(0xFFFFFFFF))


@_dev
def funnelshift_rc(lo, hi, shift):
    if types.uint32(shift) >= types.uint32(32):
        return types.uint32(hi)
    return funnelshift_r(lo, hi, shift)


@_dev
def rotl32(x, n):
    return funnelshift_l(x, x, n)


@_dev
def rotr32(x, n):
    return funnelshift_r(x, x, n)


@_dev
def rotl64(x, n):
    v = types.uint64(x)
    s = types.uint64(types.uint32(n) & types.uint32(63))
    if s == types.uint64(0):
        return v
    return (v << s) | (v >> (types.uint64(64) - s))


@_dev
def rotr64(x, n):
    v = types.uint64(x)
    s = types.uint64(types.uint32(n) & types.uint32(63))
    if s == types.uint64(0):
        return v
    return (v >> s) | (v << (types.uint64(64) - s))


@_dev
def byte_perm(x, y, s):
    return types.uint32(cuda.libdevice.byte_perm(types.int32(x), types.int32(y), types.int32(s)))


# --- warp reductions ---------------------------------------------------------------------------
# __reduce_*_sync semantics for any mask: every lane in mask reads every other lane in mask with
# shfl_sync (32 shuffles; correct for partial masks, where a butterfly is not).

def _make_reduce(op, unsigned):
    @_dev
    def reduce_sync(mask, value):
        v = types.int32(value)
        acc = types.uint32(v) if unsigned else v
        first = True
        for lane in range(32):
            got = cuda.shfl_sync(mask, v, lane)
            other = types.uint32(got) if unsigned else got
            if (mask >> lane) & 1:
                if first:
                    acc = other
                    first = False
                else:
                    acc = op(acc, other)
        return types.uint32(acc) if unsigned else types.int32(acc)
    return reduce_sync


@_dev
def _add(a, b):
    return a + b


@_dev
def _and(a, b):
    return a & b


@_dev
def _or(a, b):
    return a | b


@_dev
def _xor(a, b):
    return a ^ b


@_dev
def _min(a, b):
    return b if b < a else a


@_dev
def _max(a, b):
    return b if b > a else a


@_dev
def _fmin(a, b):
    """fminf semantics: a NaN operand is ignored."""
    if a != a:
        return b
    return b if b < a else a


@_dev
def _fmax(a, b):
    if a != a:
        return b
    return b if b > a else a


reduce_add_sync = _make_reduce(_add, False)
reduce_and_sync = _make_reduce(_and, False)
reduce_or_sync = _make_reduce(_or, False)
reduce_xor_sync = _make_reduce(_xor, False)
reduce_min_sync = _make_reduce(_min, False)
reduce_max_sync = _make_reduce(_max, False)
reduce_add_sync_u32 = _make_reduce(_add, True)
reduce_and_sync_u32 = _make_reduce(_and, True)
reduce_or_sync_u32 = _make_reduce(_or, True)
reduce_xor_sync_u32 = _make_reduce(_xor, True)
reduce_min_sync_u32 = _make_reduce(_min, True)
reduce_max_sync_u32 = _make_reduce(_max, True)


def _make_warp_fold(op, carrier, back):
    """Fold over the lanes present in the caller's warp (the last warp may be partial).
    numba's shfl_sync moves i32/i64/f32/f64 only: unsigned values travel as the same-width int."""
    @_dev
    def fold(value):
        tid = cuda.threadIdx.x + cuda.threadIdx.y * cuda.blockDim.x + cuda.threadIdx.z * cuda.blockDim.x * cuda.blockDim.y
        nt = cuda.blockDim.x * cuda.blockDim.y * cuda.blockDim.z
        base = tid - tid % 32
        n = min(32, nt - base)
        mask = 0xFFFFFFFF if n == 32 else (1 << n) - 1
        v = carrier(value)
        acc = back(v)
        for lane in range(32):
            other = back(cuda.shfl_sync(mask, v, lane))
            if lane < n:
                acc = other if lane == 0 else op(acc, other)
        return acc
    return fold


@_dev
def _same(x):
    return x


@_dev
def _to_i32(x):
    return types.int32(x)


@_dev
def _to_u32(x):
    return types.uint32(x)


@_dev
def _to_i64(x):
    return types.int64(x)


@_dev
def _to_u64(x):
    return types.uint64(x)


warp_reduce_sum = _make_warp_fold(_add, _same, _same)
warp_reduce_min = _make_warp_fold(_min, _same, _same)
warp_reduce_max = _make_warp_fold(_max, _same, _same)
warp_reduce_fmin = _make_warp_fold(_fmin, _same, _same)
warp_reduce_fmax = _make_warp_fold(_fmax, _same, _same)
warp_reduce_sum_u32 = _make_warp_fold(_add, _to_i32, _to_u32)
warp_reduce_min_u32 = _make_warp_fold(_min, _to_i32, _to_u32)
warp_reduce_max_u32 = _make_warp_fold(_max, _to_i32, _to_u32)
warp_reduce_sum_u64 = _make_warp_fold(_add, _to_i64, _to_u64)
warp_reduce_min_u64 = _make_warp_fold(_min, _to_i64, _to_u64)
warp_reduce_max_u64 = _make_warp_fold(_max, _to_i64, _to_u64)


# --- ordered loads and stores ------------------------------------------------------------------

@_dev
def load_acquire(arr, i):
    v = cuda.ldcv(arr, i)
    cuda.threadfence()
    return v


@_dev
def store_release(arr, i, v):
    cuda.threadfence()
    arr[i] = v


@_dev
def load_acquire_system(arr, i):
    cuda.threadfence_system()
    v = cuda.ldcv(arr, i)
    cuda.threadfence_system()
    return v


@_dev
def store_release_system(arr, i, v):
    cuda.threadfence_system()
    arr[i] = v


# --- random: Philox4x32-10 (intrinsics/random.toml: the mapping of seed, stream, draw) ----------

_U64 = types.uint64


@_dev
def philox4x32(c0, c1, c2, c3, k0, k1):
    c0, c1, c2, c3 = _U64(c0), _U64(c1), _U64(c2), _U64(c3)
    k0, k1 = _U64(k0), _U64(k1)
    lo, s32 = _U64(0xFFFFFFFF), _U64(32)
    for r in range(10):
        if r > 0:
            k0 = (k0 + _U64(0x9E3779B9)) & lo
            k1 = (k1 + _U64(0xBB67AE85)) & lo
        p0 = _U64(0xD2511F53) * c0
        p1 = _U64(0xCD9E8D57) * c2
        n0 = (p1 >> s32) ^ c1 ^ k0
        n2 = (p0 >> s32) ^ c3 ^ k1
        c0, c1, c2, c3 = n0, p1 & lo, n2, p0 & lo
    return types.uint32(c0), types.uint32(c1), types.uint32(c2), types.uint32(c3)


@_dev
def philox4x32_store(out, i, c0, c1, c2, c3, k0, k1):
    w0, w1, w2, w3 = philox4x32(c0, c1, c2, c3, k0, k1)
    out[i] = w0
    out[i + 1] = w1
    out[i + 2] = w2
    out[i + 3] = w3


@_dev
def _philox_at(seed, stream, block):
    lo, s32 = _U64(0xFFFFFFFF), _U64(32)
    seed, stream, block = _U64(seed), _U64(stream), _U64(block)
    return philox4x32(block & lo, block >> s32, stream & lo, stream >> s32, seed & lo, seed >> s32)


@_dev
def _philox_f32_of(u):
    return types.float32((_U64(u) >> _U64(9)) * _U64(2) + _U64(1)) * types.float32(5.9604644775390625e-08)


@_dev
def _philox_f64_of(hi, lo):
    x = (_U64(hi) << _U64(20)) | (_U64(lo) >> _U64(12))
    return types.float64(x * _U64(2) + _U64(1)) * types.float64(1.1102230246251565e-16)


@_dev
def philox_u32(seed, stream, draw):
    d = _U64(draw)
    w0, w1, w2, w3 = _philox_at(seed, stream, d >> _U64(2))
    k = d & _U64(3)
    if k == _U64(0):
        return w0
    if k == _U64(1):
        return w1
    if k == _U64(2):
        return w2
    return w3


@_dev
def philox_uniform_f32(seed, stream, draw):
    return _philox_f32_of(philox_u32(seed, stream, draw))


@_dev
def philox_uniform_f64(seed, stream, draw):
    d = _U64(draw)
    w0, w1, w2, w3 = _philox_at(seed, stream, d >> _U64(1))
    if d & _U64(1):
        return _philox_f64_of(w2, w3)
    return _philox_f64_of(w0, w1)


@_dev
def philox_normal_f32(seed, stream, draw):
    d = _U64(draw)
    w0, w1, w2, w3 = _philox_at(seed, stream, d >> _U64(2))
    if (d >> _U64(1)) & _U64(1):
        u1, u2 = _philox_f32_of(w2), _philox_f32_of(w3)
    else:
        u1, u2 = _philox_f32_of(w0), _philox_f32_of(w1)
    r = math.sqrt(types.float32(-2.0) * math.log(u1))
    t = types.float32(6.283185307179586) * u2
    if d & _U64(1):
        return types.float32(r * math.sin(t))
    return types.float32(r * math.cos(t))


@_dev
def philox_normal_f64(seed, stream, draw):
    d = _U64(draw)
    w0, w1, w2, w3 = _philox_at(seed, stream, d >> _U64(1))
    r = math.sqrt(-2.0 * math.log(_philox_f64_of(w0, w1)))
    t = 6.283185307179586 * _philox_f64_of(w2, w3)
    if d & _U64(1):
        return r * math.sin(t)
    return r * math.cos(t)
