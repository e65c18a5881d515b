"""Launch configuration and argument checking shared by every backend."""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import types as T
from .errors import LaunchError

MAX_THREADS_PER_BLOCK = 1024
MAX_CLUSTER_BLOCKS = 16  # sm_90's non-portable limit (8 is portable; the cuda runtime opts in above 8)


def dim3(value, what: str) -> tuple:
    if isinstance(value, numbers.Integral):
        value = (int(value),)
    if not isinstance(value, tuple) or not 1 <= len(value) <= 3 or \
            not all(isinstance(v, numbers.Integral) and v > 0 for v in value):
        raise LaunchError(f"{what} must be a positive int or a tuple of 1-3 positive ints, got {value!r}")
    return tuple(int(v) for v in value) + (1,) * (3 - len(value))


def config(key) -> tuple:
    if not isinstance(key, tuple) or len(key) != 2:
        raise LaunchError("launch with kernel[grid, block](...), e.g. saxpy[blocks, 256](a, x, y, n)")
    grid, block = dim3(key[0], "grid"), dim3(key[1], "block")
    if block[0] * block[1] * block[2] > MAX_THREADS_PER_BLOCK:
        raise LaunchError(f"a block has at most {MAX_THREADS_PER_BLOCK} threads, got {block[0] * block[1] * block[2]}")
    return grid, block


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


def check_args(f, args, backend) -> list:
    """Arguments converted to what the backend's entry point expects (backend: a backends.Backend);
    errors name the parameter."""
    if len(args) != len(f.params):
        names = ", ".join(p.name for p in f.params)
        raise LaunchError(f"{f.name}() takes {len(f.params)} arguments ({names}), got {len(args)}")
    out = []
    for p, a in zip(f.params, args):
        if isinstance(p.type, T.ArrayType):
            out.append(_array(p, a, backend))
        else:
            out.append(_scalar(p, a))
    return out


def _array(p, a, backend):
    want = p.type.dtype.np_dtype
    if is_device_array(a):
        if not backend.accepts_device_arrays:
            raise LaunchError(f"argument '{p.name}' is a GPU array; the {backend.name} backend needs numpy "
                              "arrays (copy it to the host first, e.g. cupy.asnumpy(x))")
        cai = a.__cuda_array_interface__
        dt, nd = np.dtype(cai["typestr"]), len(cai["shape"])
    elif isinstance(a, np.ndarray):
        dt, nd = a.dtype, a.ndim
    else:
        raise LaunchError(f"argument '{p.name}' must be an array ({p.type.name}), got {type(a).__name__}")
    if dt != want:
        raise LaunchError(f"argument '{p.name}' must have dtype {want}, got {dt}; convert it with "
                          f".astype(np.{want})")
    if nd != p.type.ndim:
        raise LaunchError(f"argument '{p.name}' must be {p.type.ndim}D, got {nd}D")
    return a


def _scalar(p, a):
    t = p.type
    if isinstance(a, np.ndarray) or is_device_array(a):
        raise LaunchError(f"argument '{p.name}' is a scalar ({t.name}), got an array")
    if not isinstance(a, (numbers.Number, np.generic, bool)):
        raise LaunchError(f"argument '{p.name}' must be a number ({t.name}), got {type(a).__name__}")
    if t.is_int and isinstance(a, float) and not float(a).is_integer():
        raise LaunchError(f"argument '{p.name}' is {t.name}, got the non-integer {a!r}")
    try:
        if t.is_int:
            info = np.iinfo(t.np_dtype)
            if not info.min <= int(a) <= info.max:
                raise LaunchError(f"argument '{p.name}' = {a} does not fit in {t.name}")
        return t.np_dtype.type(a)
    except (OverflowError, ValueError, TypeError) as exc:
        raise LaunchError(f"argument '{p.name}' cannot be converted to {t.name}: {exc}") from None
