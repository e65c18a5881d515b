"""The CUDA backend (cuda-python): NVRTC compile with an on-disk cache, module load, memory,
plain / cooperative / cluster launches, and `launch_source`, the one call the codegen makes.

Importing this module touches neither the driver nor NVRTC. `available()` says whether a GPU
can be used (it never raises); everything that needs one raises BackendUnavailableError naming
the cause (cuda-python missing, no driver, cuInit error code, no device). `compile_cuda` needs
only NVRTC and works on a machine without a GPU.

Pieces, each its own module:
    cuda_nvrtc   compile_cuda, CompiledModule, the cache and its counters
    cuda_driver  available, require_device, device_info, DeviceArray, MappedBuffer, Stream
    cuda_launch  Module, Kernel (occupancy, cooperative and cluster checks), parameter packing
    cuda_actor   make_actor: resident ring-kernel actors for Runtime(backend="cuda")
    cuda_resources  the arenas, stream pool and residency ledger those actors draw from
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from ringkernel_codegen.errors import LaunchError

from .cuda_driver import (  # noqa: F401  (re-exported API)
    CudaDriverError, DeviceArray, DeviceInfo, MappedBuffer, Stream, available, default_arch,
    device_info, mapped_array, mapped_device_pointer, require_device, synchronize,
    unavailable_reason, wait_stream,
)
from .cuda_launch import (  # noqa: F401
    SCALAR_CTYPES, Kernel, KernelAttributes, Module, load_module,
)
from .cuda_nvrtc import (  # noqa: F401  (ringkernel_codegen.nvrtc, with this device's arch)
    CacheStats, CompiledModule, cache_stats, compile_cuda, default_cache_dir, include_dirs,
    reset_cache_stats,
)

__all__ = [
    "available", "unavailable_reason", "require_device", "device_info", "DeviceInfo",
    "compile_cuda", "CompiledModule", "cache_stats", "reset_cache_stats", "CacheStats",
    "default_cache_dir", "load_module", "Module", "Kernel", "DeviceArray", "MappedBuffer",
    "mapped_array", "mapped_device_pointer", "Stream", "synchronize", "get_kernel",
    "launch_source",
    "marshal_args", "CudaDriverError",
]

log = logging.getLogger("ringkernel.cuda")
_kernels: dict[tuple, Kernel] = {}
_kernels_lock = threading.Lock()


def get_kernel(source: str, kernel_name: str, *, options: tuple[str, ...] = (),
               arch: str | None = None, cache_dir: Path | None = None) -> Kernel:
    """Compile (or fetch from the NVRTC cache), load once per process, and look up a kernel."""
    key = (source, kernel_name, tuple(options), arch, str(cache_dir))
    with _kernels_lock:
        kernel = _kernels.get(key)
        if kernel is None:
            require_device()
            compiled = compile_cuda(source, options=tuple(options), arch=arch,
                                    cache_dir=cache_dir)
            from . import cuda_driver
            if cuda_driver.resident_count():
                # a module load may wait for running kernels; resident actors never finish
                log.warning("loading the module of %s while %d actor launch(es) are resident; if this "
                            "hangs, load it first: Runtime(..., preload=[kernels])",
                            kernel_name, cuda_driver.resident_count())
            kernel = load_module(compiled).kernel(kernel_name)
            _kernels[key] = kernel
    return kernel


class _Copy:
    """A numpy argument staged in device memory for one launch."""

    def __init__(self, target: np.ndarray, writable: bool) -> None:
        self.target = target
        self.host = np.ascontiguousarray(target)
        self.device = DeviceArray.from_host(self.host)
        self.writable = writable

    def copy_back(self) -> None:
        if self.writable:
            self.device.copy_to_host(self.host)
            if self.host is not self.target:
                self.target[...] = self.host


def _c_contiguous_strides(shape, itemsize: int) -> tuple[int, ...]:
    strides, step = [], itemsize
    for extent in reversed(shape):
        strides.append(step)
        step *= extent
    return tuple(reversed(strides))


def _cai_pointer(index: int, obj, writable: bool) -> int:
    cai = obj.__cuda_array_interface__
    pointer, readonly = cai["data"]
    strides = cai.get("strides")
    itemsize = np.dtype(cai["typestr"]).itemsize
    if strides is not None and tuple(strides) != _c_contiguous_strides(cai["shape"], itemsize):
        raise LaunchError(f"argument {index}: device array with strides {tuple(strides)} is not "
                          "C-contiguous; kernels index arrays in C order (copy it first)")
    if readonly and writable:
        raise LaunchError(f"argument {index}: the kernel may write this array, but its "
                          "__cuda_array_interface__ marks it read-only")
    return int(pointer or 0)


def marshal_args(args: list[tuple]) -> tuple[list[tuple[str, object]], list[_Copy]]:
    """Turn launch_source's args into (C type, value) params plus the numpy copies made."""
    params: list[tuple[str, object]] = []
    copies: list[_Copy] = []
    try:
        for index, arg in enumerate(args):
            if not isinstance(arg, tuple) or len(arg) not in (2, 3):
                raise LaunchError(f"argument {index}: expected (c_type, value) or "
                                  f"('array', array, writable), got {arg!r}")
            if arg[0] != "array":
                if len(arg) != 2:
                    raise LaunchError(f"argument {index}: a scalar is (c_type, value), "
                                      f"got {arg!r}")
                params.append((arg[0], arg[1]))
                continue
            obj = arg[1]
            writable = bool(arg[2]) if len(arg) == 3 else True
            if hasattr(obj, "__cuda_array_interface__"):
                params.append(("ptr", _cai_pointer(index, obj, writable)))
            elif isinstance(obj, np.ndarray):
                if writable and not obj.flags.writeable:
                    raise LaunchError(f"argument {index}: the kernel may write this array, but "
                                      "the numpy array is read-only")
                mapped = mapped_device_pointer(obj) if obj.flags.c_contiguous else None
                if mapped is not None:
                    params.append(("ptr", mapped))
                else:
                    copies.append(_Copy(obj, writable))
                    params.append(("ptr", copies[-1].device.ptr))
            else:
                raise LaunchError(f"argument {index}: expected a numpy array or an object with "
                                  f"__cuda_array_interface__, got {type(obj).__name__}")
    except BaseException:
        for copy in copies:
            copy.device.free()
        raise
    return params, copies


def launch_source(source: str, kernel_name: str, grid, block, args: list[tuple],
                  shared_mem: int = 0, cooperative: bool = False, cluster=None, *,
                  options: tuple[str, ...] = (), arch: str | None = None,
                  stream: Stream | None = None, sync: bool = True,
                  cache_dir: Path | None = None) -> None:
    """Compile `source` (cached), launch `kernel_name` once, and copy numpy results back.

    grid, block, cluster: an int or a tuple of 1-3 ints (x, y, z); `cluster` (blocks per
    cluster) launches with cuLaunchKernelEx and CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
    `cooperative=True` allows grid-wide barriers (cooperative_groups grid.sync) and is refused
    with LaunchError when the grid exceeds what can be resident (occupancy x SM count).

    args: one entry per kernel parameter, in order, passed exactly as given:
      (c_type, value)            a scalar. c_type is the C spelling from the kernel signature:
                                 "bool", "int", "unsigned int", "long long",
                                 "unsigned long long", "float", "double", "char",
                                 "unsigned char", "short", "unsigned short", "int8_t" ...
                                 "uint64_t", "size_t"; ("ptr", address) or ("T*", address) for
                                 a raw device address. Integers out of range are refused.
      ("array", obj, writable)   an array parameter (a `T*` in the kernel). obj is a numpy
                                 array (copied to the device before the launch, and back after
                                 it when writable; arrays in mapped memory from mapped_array()
                                 are passed by pointer, no copy) or any object with
                                 __cuda_array_interface__ (passed by pointer; must be
                                 C-contiguous). writable=False promises the kernel only reads.
    Shapes are not added here: generated kernels take them as extra "long long" params that
    the codegen appends itself.

    With sync=True (default) this waits for the kernel on its stream; a fault in the kernel
    raises KernelRuntimeError. sync=False queues the launch and returns at once; it is refused
    when numpy arrays would need copying (pass device or mapped arrays instead).
    """
    kernel = get_kernel(source, kernel_name, options=options, arch=arch, cache_dir=cache_dir)
    params, copies = marshal_args(args)
    try:
        if copies and not sync:
            raise LaunchError("sync=False cannot copy numpy arrays back; pass DeviceArray, "
                              "mapped_array() or __cuda_array_interface__ arrays instead")
        if copies and stream is not None:  # the copies went through the legacy stream
            wait_stream(0)
        kernel.launch(grid, block, params, shared_mem=shared_mem, stream=stream,
                      cooperative=cooperative, cluster=cluster)
        if sync:
            wait_stream(stream.handle if stream is not None else 0)
            for copy in copies:
                copy.copy_back()
    finally:
        for copy in copies:
            copy.device.free()
