"""numba.cuda device helpers for intrinsics whose `numba` spelling is `_nrt.<name>(...)`.

Used where numba.cuda has no built-in: funnel shifts and rotates, __byte_perm, the sm_80
__reduce_*_sync family, whole-warp reductions of any type, clocks (inline PTX), and ordered
loads/stores. numba has no acquire/release loads, so those are built from fences around an
uncached access: stronger than needed, never weaker (DESIGN.md: a fence before each poll load is
what made polling mapped memory work from numba).
"""
from __future__ import annotations

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
