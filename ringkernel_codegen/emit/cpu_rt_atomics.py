"""CPU runtime helpers (cpu_rt): atomics with CUDA semantics, each returning the old value.

Threads of one block run one after another, so an atomic on the block's own shared or local array
is a plain read-modify-write (block_atomic_*). Blocks may run in parallel (emit/cpu_fission.py),
so on other arrays atomics on a 1-D array with an integer index are real ones: add, sub, exch,
and, or, xor (and min/max on integers) are LLVM `atomicrmw` instructions (relaxed, as CUDA's
atomics are). The rest (cas, inc, dec, float min/max, multi-dimensional indices) are plain
read-modify-writes: a kernel using one of those on an array every block sees runs its blocks one
after another (ATOMIC_RMW below, emit/cpu_emitter.py blocks_independent).
"""
from __future__ import annotations

from numba.core import cgutils, types
from numba.extending import intrinsic, overload

from .cpu_rt_bits import rt_jit

# intrinsic name -> (atomicrmw op for integers, for floats, for unsigned integers); None: not atomic
ATOMIC_RMW = {
    "atomic_add": ("add", "fadd", "add"), "atomic_sub": ("sub", "fsub", "sub"),
    "atomic_exch": ("xchg", "xchg", "xchg"), "atomic_and": ("and", None, "and"),
    "atomic_or": ("or", None, "or"), "atomic_xor": ("xor", None, "xor"),
    "atomic_min": ("min", None, "umin"), "atomic_max": ("max", None, "umax"),
}


@intrinsic
def _rmw(typingctx, op, arr, idx, val):
    """`atomicrmw op` on arr[idx] (1-D array, integer index, val of the element type); the old value."""
    if not isinstance(op, types.StringLiteral) or not isinstance(arr, types.Array) or arr.ndim != 1 \
            or not isinstance(idx, types.Integer) or val != arr.dtype:
        return None
    name = op.literal_value

    def codegen(context, builder, sig, args):
        _, ary_v, idx_v, v = args
        ary = context.make_array(sig.args[1])(context, builder, ary_v)
        i = context.cast(builder, idx_v, sig.args[2], types.intp)
        ptr = cgutils.get_item_pointer(context, builder, sig.args[1], ary, [i], wraparound=False)
        return builder.atomic_rmw(name, ptr, v, "monotonic")

    return arr.dtype(op, arr, idx, val), codegen


def _atomic_op(elem):
    """Index into an ATOMIC_RMW entry for element type `elem`."""
    if isinstance(elem, types.Float):
        return 1
    return 2 if isinstance(elem, types.Integer) and not elem.signed else 0


def _overload_rmw(stub, name, serial):
    """`stub` in njit code: the atomicrmw where ATOMIC_RMW has one for these types, else `serial`."""
    @overload(stub, jit_options={"error_model": "numpy"})
    def _impl(arr, idx, v):
        op = ATOMIC_RMW[name][_atomic_op(arr.dtype)] if isinstance(arr, types.Array) else None
        if op is not None and arr.ndim == 1 and isinstance(idx, types.Integer):
            def impl(arr, idx, v):
                return _rmw(op, arr, idx, as_elem(arr, v))
            return impl
        return lambda arr, idx, v: serial(arr, idx, v)
    return stub


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
def block_atomic_add(arr, idx, v):
    old = arr[idx]
    arr[idx] = old + as_elem(arr, v)
    return old


@rt_jit
def block_atomic_sub(arr, idx, v):
    old = arr[idx]
    arr[idx] = old - as_elem(arr, v)
    return old


@rt_jit
def block_atomic_min(arr, idx, v):
    old = arr[idx]
    w = as_elem(arr, v)
    if w < old:
        arr[idx] = w
    return old


@rt_jit
def block_atomic_max(arr, idx, v):
    old = arr[idx]
    w = as_elem(arr, v)
    if w > old:
        arr[idx] = w
    return old


@rt_jit
def block_atomic_exch(arr, idx, v):
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
def block_atomic_and(arr, idx, v):
    old = arr[idx]
    arr[idx] = old & as_elem(arr, v)
    return old


@rt_jit
def block_atomic_or(arr, idx, v):
    old = arr[idx]
    arr[idx] = old | as_elem(arr, v)
    return old


@rt_jit
def block_atomic_xor(arr, idx, v):
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


# --- what generated code calls (njit only) -----------------------------------------------------


def _rmw_stub(name: str):
    """The Python object generated code calls as `_rt.<name>` (njit only: see _overload_rmw)."""
    def stub(arr, idx, v):
        """njit only: see _overload_rmw."""
    stub.__name__ = stub.__qualname__ = name
    return stub


# atomic_add, atomic_sub, atomic_exch, atomic_and, atomic_or, atomic_xor, atomic_min, atomic_max:
# an LLVM atomicrmw where ATOMIC_RMW has one for the types, else the block_ read-modify-write
for _name in ATOMIC_RMW:
    globals()[_name] = _overload_rmw(_rmw_stub(_name), _name, globals()["block_" + _name])
del _name


# atomics on a block's own (shared or local) arrays: its threads run one after another, so a plain
# read-modify-write is exact and cheaper than a locked instruction (CpuEmitter.intrinsic picks these)
block_atomic_cas = atomic_cas
block_atomic_inc = atomic_inc
block_atomic_dec = atomic_dec
