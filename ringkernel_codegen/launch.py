"""Launch configuration and argument checking shared by every backend.

Every backend checks what a GPU would refuse or get wrong, so a CPU run fails the same way a CUDA
launch would: CUDA's grid and block limits, arguments converted exactly (no silent truncation or
overflow), arrays written by the kernel must be writable, device arrays C-contiguous, and no two
array arguments may overlap when the kernel writes one of them (CUDA kernels take every array
`__restrict__`). Non-contiguous numpy arrays are staged through a C-contiguous copy on every backend
(the cuda backend copies numpy arrays to the device anyway): `stage_noncontiguous`.
"""
from __future__ import annotations

import decimal
import difflib
import math
import numbers

import numpy as np

from . import types as T
from .errors import LaunchError

_TooHardError = getattr(getattr(np, "exceptions", np), "TooHardError")

MAX_THREADS_PER_BLOCK = 1024
MAX_GRID = (2 ** 31 - 1, 65535, 65535)   # CUDA's gridDim limits (x, y, z)
MAX_BLOCK = (1024, 1024, 64)             # CUDA's blockDim limits (x, y, z); x*y*z <= 1024 too
MAX_CLUSTER_BLOCKS = 16  # sm_90's non-portable limit (8 is portable; the cuda runtime opts in above 8)


def dim3(value, what: str) -> tuple:
    if isinstance(value, numbers.Integral):
        value = (int(value),)
    if not isinstance(value, tuple) or not 1 <= len(value) <= 3 or \
            not all(isinstance(v, numbers.Integral) and v > 0 for v in value):
        raise LaunchError(f"{what} must be a positive int or a tuple of 1-3 positive ints, got {value!r}")
    return tuple(int(v) for v in value) + (1,) * (3 - len(value))


MAX_SHARED_DEFAULT = 48 * 1024   # bytes of shared memory per block a CUDA launch gets without opting in
MAX_SHARED_OPTIN = 227 * 1024    # sm_90's limit with cudaFuncAttributeMaxDynamicSharedMemorySize


def config(key) -> tuple:
    """(grid, block, shared_bytes) of k[grid, block], or numba's k[grid, block, stream, shared_bytes]
    (dynamic shared memory in bytes per block; the stream must be 0: launches synchronise)."""
    if not isinstance(key, tuple) or not 2 <= len(key) <= 4:
        raise LaunchError("launch with kernel[grid, block](...), e.g. saxpy[blocks, 256](a, x, y, n), or with "
                          "dynamic shared memory kernel[grid, block, 0, nbytes](...)")
    grid, block = dim3(key[0], "grid"), dim3(key[1], "block")
    check_limits(grid, block)
    if len(key) >= 3 and not (key[2] is None or isinstance(key[2], numbers.Integral) and not isinstance(key[2], bool)
                              and key[2] == 0):
        raise LaunchError(f"kernel[grid, block, stream, shared_bytes]: the stream must be 0, got {key[2]!r} "
                          "(kernel launches synchronise; streams are not exposed for kernels)")
    return grid, block, shared_bytes_arg(key[3]) if len(key) == 4 else 0


def shared_bytes_arg(value) -> int:
    """A dynamic shared memory size: a non-negative int (bytes per block)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise LaunchError(f"the dynamic shared memory size is a number of bytes per block (an int >= 0), got "
                          f"{value!r}: e.g. kernel[grid, block, 0, 256 * 4](...) for 256 f32 values")
    return int(value)


def check_shared_memory(name: str, dynamic, static: int, shared_bytes: int, backend) -> None:
    """What a GPU would refuse: a dynamic shared array launched without a size, and more shared memory
    per block than the backend's limit (backend.max_shared_bytes)."""
    if dynamic is not None and shared_bytes == 0:
        where = f" at {dynamic.span.where()}" if dynamic.span is not None else ""
        raise LaunchError(f"kernel '{name}' declares the dynamic shared array '{dynamic.name}'{where} "
                          f"(shared_array(0, {dynamic.dtype.name})) but was launched without its size: give the "
                          f"bytes per block as {name}[grid, block, 0, nbytes](...) or "
                          f"{name}[grid, block](..., shared_bytes=nbytes)")
    total, limit = static + shared_bytes, backend.max_shared_bytes
    if total > limit:
        opt_in = (" (the cuda backend opts in up to the device's limit, 227 KiB on sm_90)"
                  if limit <= MAX_SHARED_DEFAULT else "")
        raise LaunchError(f"kernel '{name}' needs {total} bytes of shared memory per block ({static} fixed + "
                          f"{shared_bytes} dynamic); {backend.label} allows at most {limit} ({limit // 1024} KiB)"
                          f"{opt_in}: use less shared memory per block (smaller blocks or tiles)")


def check_limits(grid: tuple, block: tuple, context: str = "") -> None:
    """CUDA's launch limits, checked on every backend as a GPU would (context: prefix of the message)."""
    threads = block[0] * block[1] * block[2]
    if threads > MAX_THREADS_PER_BLOCK:
        raise LaunchError(f"{context}a block has at most {MAX_THREADS_PER_BLOCK} threads, got {threads} "
                          f"(block {block}); use smaller blocks and more of them")
    for axis, n, most in zip("xyz", block, MAX_BLOCK):
        if n > most:
            raise LaunchError(f"{context}block {block} has {n} threads on {axis}; CUDA allows at most {most} "
                              f"on {axis} (1024 on x and y, 64 on z): move threads to x or y")
    for axis, n, most in zip("xyz", grid, MAX_GRID):
        if n > most:
            hint = ("use larger blocks, or fewer blocks and a grid-stride loop in the kernel" if axis == "x"
                    else "put the large dimension on x (up to 2**31 - 1 blocks) or loop over it in the kernel")
            raise LaunchError(f"{context}grid {grid} has {n} blocks on {axis}; CUDA allows at most {most} "
                              f"on {axis}: {hint}")


def cluster_dims(value, kernel_name: str) -> tuple:
    """@kernel(cluster=...) as (x, y, z) blocks per cluster; refused here if no GPU could launch it."""
    what = f"@kernel(cluster=...) of '{kernel_name}'"
    if isinstance(value, bool):  # an int to Python, but cluster=True means "use clusters", not a size
        raise LaunchError(f"{what} is the number of blocks per cluster, got {value!r}; write e.g. @kernel(cluster=2)")
    dims = dim3(value, what)
    if math.prod(dims) > MAX_CLUSTER_BLOCKS:
        raise LaunchError(f"{what} = {dims} has {math.prod(dims)} blocks; a thread-block cluster holds at most "
                          f"{MAX_CLUSTER_BLOCKS} (8 portably): use a smaller cluster")
    return dims


def check_cluster_grid(grid: tuple, cluster: tuple, kernel_name: str) -> None:
    """A cluster launch needs whole clusters on every axis; every backend checks, as a GPU would."""
    if any(g % c for g, c in zip(grid, cluster)):
        fits = tuple(-(-g // c) * c for g, c in zip(grid, cluster))
        raise LaunchError(f"kernel '{kernel_name}' runs in clusters of {cluster} blocks, but grid {grid} is not a "
                          f"whole number of clusters; make each grid dimension a multiple of the cluster's, "
                          f"e.g. grid {fits} (guard the extra threads)")


def is_device_array(a) -> bool:
    return hasattr(a, "__cuda_array_interface__") and not isinstance(a, np.ndarray)


def bind_args(f, args, kwargs) -> tuple:
    """Positional and keyword arguments (by parameter name) as one tuple in parameter order."""
    names = [p.name for p in f.params]
    signature = f"{f.name}({', '.join(names)})"
    if not kwargs:
        if len(args) != len(names):
            raise LaunchError(f"{f.name}() takes {len(names)} arguments ({', '.join(names)}), got {len(args)}: "
                              f"call it as {signature}")
        return tuple(args)
    if len(args) > len(names):
        raise LaunchError(f"{f.name}() takes {len(names)} arguments ({', '.join(names)}), got {len(args)} "
                          f"positional ones and {len(kwargs)} by name: call it as {signature}")
    bound = dict(zip(names, args))
    for name, value in kwargs.items():
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            maybe = f" (did you mean '{close[0]}'?)" if close else ""
            raise LaunchError(f"{f.name}() has no parameter '{name}'{maybe}; its parameters are "
                              f"{', '.join(names)}: call it as {signature}")
        if name in bound:
            raise LaunchError(f"{f.name}() got argument '{name}' twice, by position and by name: "
                              f"give it once, as in {signature}")
        bound[name] = value
    missing = [n for n in names if n not in bound]
    if missing:
        raise LaunchError(f"{f.name}() is missing argument{'s' if len(missing) > 1 else ''} "
                          f"{', '.join(repr(n) for n in missing)}: call it as {signature}")
    return tuple(bound[n] for n in names)


def check_args(f, args, backend, kwargs=None) -> list:
    """Arguments converted to what the backend's entry point expects (backend: a backends.Backend;
    kwargs: arguments given by parameter name); errors name the parameter."""
    args = bind_args(f, args, kwargs or {})
    out = []
    for p, a in zip(f.params, args):
        if isinstance(p.type, T.ArrayType):
            out.append(_array(f, p, a, backend))
        else:
            out.append(_scalar(p, a))
    check_aliasing(f, out)
    return out


def _array(f, p, a, backend):
    want = p.type.dtype.np_dtype
    writes = not p.readonly
    if is_device_array(a):
        if not backend.accepts_device_arrays:
            raise LaunchError(f"argument '{p.name}' is a GPU array; the {backend.name} backend needs numpy "
                              "arrays (copy it to the host first, e.g. cupy.asnumpy(x))")
        cai = a.__cuda_array_interface__
        dt, nd = np.dtype(cai["typestr"]), len(cai["shape"])
    elif isinstance(a, np.ma.MaskedArray):
        raise LaunchError(f"argument '{p.name}' is a masked array; kernels ignore masks: pass "
                          f"{p.name}.filled(value) or {p.name}.data")
    elif isinstance(a, np.ndarray):
        dt, nd = a.dtype, a.ndim
    else:
        hint = (f"; convert it with np.asarray({p.name}, dtype=np.{want})"
                if isinstance(a, (list, tuple)) else "")
        raise LaunchError(f"argument '{p.name}' must be an array ({p.type.name}), got {type(a).__name__}{hint}")
    if dt != want:
        raise LaunchError(f"argument '{p.name}' must have dtype {want}, got {dt}; convert it with "
                          f".astype(np.{want})")
    if nd != p.type.ndim:
        raise LaunchError(f"argument '{p.name}' must be {p.type.ndim}D, got {nd}D")
    if is_device_array(a):
        _check_device_array(f, p, a.__cuda_array_interface__, writes)
    elif writes and not a.flags.writeable:
        raise LaunchError(f"argument '{p.name}' is a read-only numpy array (flags.writeable is False), but "
                          f"{f.name} writes it; pass a writable array (e.g. {p.name}.copy())")
    return a


def _c_strides(shape, itemsize: int) -> tuple:
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def _check_device_array(f, p, cai, writes: bool) -> None:
    shape, strides = tuple(cai["shape"]), cai.get("strides")
    itemsize = np.dtype(cai["typestr"]).itemsize
    if strides is not None and math.prod(shape) > 1 and \
            any(s != c for n, s, c in zip(shape, strides, _c_strides(shape, itemsize)) if n > 1):
        raise LaunchError(f"argument '{p.name}' is a device array with strides {tuple(strides)}, not C-contiguous; "
                          f"kernels index arrays in C order: pass a contiguous copy (e.g. "
                          f"cupy.ascontiguousarray({p.name}))")
    if writes and cai["data"][1]:
        raise LaunchError(f"argument '{p.name}' is a read-only device array (its __cuda_array_interface__ "
                          f"marks the data read-only), but {f.name} writes it; pass a writable array")


def _device_range(cai) -> tuple:
    """[first byte, one past the last byte) of a device array, or None when it is empty."""
    shape = tuple(cai["shape"])
    if math.prod(shape) == 0:
        return None
    itemsize = np.dtype(cai["typestr"]).itemsize
    strides = cai.get("strides") or _c_strides(shape, itemsize)
    ptr = int(cai["data"][0] or 0)
    lo = ptr + sum(min(0, (n - 1) * s) for n, s in zip(shape, strides))
    hi = ptr + sum(max(0, (n - 1) * s) for n, s in zip(shape, strides)) + itemsize
    return lo, hi


def _overlap(a, b) -> bool:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if not np.may_share_memory(a, b):
            return False
        try:
            return bool(np.shares_memory(a, b, max_work=100_000))
        except _TooHardError:
            return True  # cannot tell cheaply: treat as overlapping
    if is_device_array(a) and is_device_array(b):
        ra, rb = _device_range(a.__cuda_array_interface__), _device_range(b.__cuda_array_interface__)
        return ra is not None and rb is not None and ra[0] < rb[1] and rb[0] < ra[1]
    return False  # host and device memory never alias here


def check_aliasing(f, args) -> None:
    """Two array arguments may not overlap when the kernel writes either: CUDA kernels take every
    array `__restrict__`, so a GPU may read stale or half-written values; refused on every backend."""
    arrays = [(p, a) for p, a in zip(f.params, args) if isinstance(p.type, T.ArrayType)]
    for i, (p, a) in enumerate(arrays):
        for q, b in arrays[i + 1:]:
            if p.readonly and q.readonly:
                continue
            if _overlap(a, b):
                same = "the same array" if a is b else "overlapping memory"
                written = " and ".join(f"'{r.name}'" for r in (p, q) if not r.readonly)
                read = p if p.readonly else q if q.readonly else None
                fix = (f"pass a copy as '{read.name}' (e.g. {read.name}.copy()), so the kernel reads the old "
                       f"values while it writes {written}" if read is not None
                       else "pass separate arrays (a copy for one of them) and combine the results after")
                raise LaunchError(
                    f"arguments '{p.name}' and '{q.name}' of {f.name} are {same}, and {f.name} writes "
                    f"{written}; every array parameter is __restrict__ in CUDA (no other parameter may "
                    f"alias it), so the result would depend on the backend and the schedule: {fix}")


def stage_noncontiguous(f, args) -> tuple:
    """Non-C-contiguous numpy arrays replaced by C-contiguous copies for the launch, as the cuda backend
    does; returns (args, writeback) where writeback() copies the written ones back after the launch."""
    out, back = list(args), []
    for i, (p, a) in enumerate(zip(f.params, args)):
        if isinstance(a, np.ndarray) and not a.flags.c_contiguous:
            out[i] = np.ascontiguousarray(a)
            if not p.readonly:
                back.append((a, out[i]))

    def writeback():
        for target, copy in back:
            target[...] = copy

    return out, writeback


def _real(p, a):
    """The argument as an exact real number (int, Fraction, Decimal, float), or a LaunchError."""
    t = p.type
    if isinstance(a, (bool, np.bool_)):
        return int(a)
    if isinstance(a, np.ndarray) or is_device_array(a):
        raise LaunchError(f"argument '{p.name}' is a scalar ({t.name}), got an array")
    if isinstance(a, (numbers.Real, decimal.Decimal)):
        return a
    if isinstance(a, numbers.Complex):
        raise LaunchError(f"argument '{p.name}' is {t.name}, got the complex number {a!r}; pass its real part "
                          f"({p.name}.real) if that is what you mean")
    raise LaunchError(f"argument '{p.name}' must be a number ({t.name}), got {type(a).__name__}")


def _finite(a) -> bool:
    if isinstance(a, decimal.Decimal):
        return a.is_finite()
    if isinstance(a, numbers.Rational):
        return True
    return math.isfinite(a)


def _scalar(p, a):
    """A scalar argument converted to the parameter's type exactly: integers (and bool) only from
    integral values (Fraction(8, 2) and Decimal("4") are fine, 7.9 or Decimal("7.9") are refused,
    never truncated); floats from any real number that does not overflow the type (rounding is fine,
    inf from a finite value is refused)."""
    t = p.type
    v = _real(p, a)
    if t.is_int or t.is_bool:
        try:
            n = int(v)
            exact = n == v
        except (OverflowError, ValueError, ArithmeticError):
            exact = False
        if not exact:
            raise LaunchError(f"argument '{p.name}' is {t.name}, got the non-integer {a!r}; integer parameters "
                              f"are never truncated: pass an int (e.g. round({p.name}) or int({p.name}))")
        if t.is_bool:
            if n not in (0, 1):
                raise LaunchError(f"argument '{p.name}' is {t.name}, got {a!r}; pass True or False")
            return np.bool_(n)
        info = np.iinfo(t.np_dtype)
        if not info.min <= n <= info.max:
            raise LaunchError(f"argument '{p.name}' = {a!r} does not fit in {t.name} "
                              f"({info.min} .. {info.max})")
        return t.np_dtype.type(n)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            out = t.np_dtype.type(float(v) if isinstance(v, (decimal.Decimal, numbers.Rational)) else v)
    except OverflowError:  # an int or Fraction too large for a Python float
        out = t.np_dtype.type(math.inf)
    except (ValueError, TypeError) as exc:
        raise LaunchError(f"argument '{p.name}' cannot be converted to {t.name}: {exc}") from None
    if not math.isfinite(out) and _finite(v):
        raise LaunchError(f"argument '{p.name}' = {a!r} overflows {t.name} (largest "
                          f"{float(np.finfo(t.np_dtype).max):.4g}); pass a smaller value or make the "
                          f"parameter wider (f64)")
    return out
