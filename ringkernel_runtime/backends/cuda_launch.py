"""Loaded modules, kernels and launches: plain, cooperative (grid barrier) and cluster.

Parameters are packed by hand into a C array of pointers (the `void** kernelParams` the driver
wants), each pointing at a ctypes value that lives until the launch call returns; the driver
copies the values at launch, so nothing needs to outlive the call.
"""
from __future__ import annotations

import ctypes
import operator
from dataclasses import dataclass

from ringkernel_codegen.errors import LaunchError

from .cuda_driver import Stream, _driver, check, require_device
from .cuda_nvrtc import CompiledModule

# C spellings the codegen uses for scalar parameters -> ctypes type.
SCALAR_CTYPES: dict[str, type] = {
    "bool": ctypes.c_bool,
    "char": ctypes.c_int8, "signed char": ctypes.c_int8, "int8_t": ctypes.c_int8,
    "unsigned char": ctypes.c_uint8, "uint8_t": ctypes.c_uint8,
    "short": ctypes.c_int16, "int16_t": ctypes.c_int16,
    "unsigned short": ctypes.c_uint16, "uint16_t": ctypes.c_uint16,
    "int": ctypes.c_int32, "int32_t": ctypes.c_int32,
    "unsigned int": ctypes.c_uint32, "unsigned": ctypes.c_uint32, "uint32_t": ctypes.c_uint32,
    "long long": ctypes.c_int64, "int64_t": ctypes.c_int64,
    "unsigned long long": ctypes.c_uint64, "uint64_t": ctypes.c_uint64,
    "size_t": ctypes.c_uint64,
    "float": ctypes.c_float, "double": ctypes.c_double,
    "ptr": ctypes.c_uint64,
}
_FLOATS = (ctypes.c_float, ctypes.c_double)


def _is_pointer_type(type_name: str) -> bool:
    return type_name == "ptr" or type_name.rstrip().endswith("*")


def scalar_value(type_name: str, value) -> ctypes._SimpleCData:
    """`value` as the ctypes object for C type `type_name`; integers are range-checked."""
    if _is_pointer_type(type_name):
        ctype = ctypes.c_uint64
    else:
        ctype = SCALAR_CTYPES.get(type_name)
        if ctype is None:
            known = ", ".join(sorted(SCALAR_CTYPES))
            raise LaunchError(f"unknown kernel parameter type {type_name!r}; known: {known}, "
                              "and any pointer type ('T*')")
    if ctype in _FLOATS:
        return ctype(float(value))
    if ctype is ctypes.c_bool:
        return ctype(bool(value))
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise LaunchError(f"{type_name} parameter needs an integer, got {value!r}") from exc
    if number != value and not isinstance(value, bool):
        raise LaunchError(f"{type_name} parameter needs an integer, got {value!r}")
    bits = ctypes.sizeof(ctype) * 8
    signed = ctype(-1).value < 0
    low, high = (-(1 << bits - 1), (1 << bits - 1) - 1) if signed else (0, (1 << bits) - 1)
    if not low <= number <= high:
        raise LaunchError(f"{value} does not fit a {type_name} parameter [{low}, {high}]")
    return ctype(number)


class PackedParams:
    """A `void**` array pointing at one ctypes value per kernel parameter."""

    def __init__(self, params: list[tuple[str, object]]) -> None:
        self.values = [scalar_value(t, v) for t, v in params]
        self.pointers = (ctypes.c_void_p * max(len(self.values), 1))(
            *[ctypes.addressof(v) for v in self.values])

    @property
    def address(self) -> int:
        return ctypes.addressof(self.pointers) if self.values else 0


def dim3(value, what: str) -> tuple[int, int, int]:
    """An int or a tuple of 1-3 positive ints as (x, y, z)."""
    try:
        dims = (value,) if not isinstance(value, (tuple, list)) else tuple(value)
        dims = tuple(operator.index(d) for d in dims)  # ints, numpy ints; not floats
    except TypeError:
        dims = ()
    if not 1 <= len(dims) <= 3 or not all(d >= 1 for d in dims):
        raise LaunchError(f"{what} must be a positive int or a tuple of 1-3 positive ints, "
                          f"got {value!r}")
    return dims + (1,) * (3 - len(dims))


def _volume(dims: tuple[int, int, int]) -> int:
    return dims[0] * dims[1] * dims[2]


class Module:
    """A loaded CUDA module; `kernel(name)` finds a kernel by its source name."""

    def __init__(self, compiled: CompiledModule) -> None:
        require_device()
        self.compiled = compiled
        self.handle = check(_driver().cuModuleLoadData(compiled.image), "cuModuleLoadData")
        self._kernels: dict[str, Kernel] = {}

    def kernel(self, name: str) -> "Kernel":
        if name not in self._kernels:
            symbol = self.compiled.symbol(name)
            err, handle = _driver().cuModuleGetFunction(self.handle, symbol.encode())
            if err != _driver().CUresult.CUDA_SUCCESS:
                raise LaunchError(f"kernel {name!r} not found in the module (looked up "
                                  f"{symbol!r}); declare it extern \"C\" __global__ or pass it "
                                  "in name_expressions when compiling")
            self._kernels[name] = Kernel(self, name, handle)
        return self._kernels[name]


def load_module(compiled: CompiledModule) -> Module:
    return Module(compiled)


@dataclass(frozen=True)
class KernelAttributes:
    max_threads_per_block: int
    num_registers: int
    static_shared_bytes: int
    local_bytes: int


class Kernel:
    """One __global__ function of a loaded module, with its launch checks."""

    def __init__(self, module: Module, name: str, handle) -> None:
        self.module, self.name, self.handle = module, name, handle
        driver = _driver()
        names = driver.CUfunction_attribute
        attr = lambda n: int(check(  # noqa: E731
            driver.cuFuncGetAttribute(getattr(names, f"CU_FUNC_ATTRIBUTE_{n}"), handle),
            f"cuFuncGetAttribute({n})"))
        self.attributes = KernelAttributes(
            max_threads_per_block=attr("MAX_THREADS_PER_BLOCK"), num_registers=attr("NUM_REGS"),
            static_shared_bytes=attr("SHARED_SIZE_BYTES"), local_bytes=attr("LOCAL_SIZE_BYTES"))
        self._param_sizes = self._read_param_sizes()
        self._dynamic_shared_limit = 48 * 1024

    def _read_param_sizes(self) -> list[int] | None:
        """Sizes of the kernel's parameters, or None where the driver cannot say."""
        driver = _driver()
        try:
            count = check(driver.cuFuncGetParamCount(self.handle), "cuFuncGetParamCount")
            return [int(check(driver.cuFuncGetParamInfo(self.handle, i), "cuFuncGetParamInfo")[1])
                    for i in range(int(count))]
        except Exception:  # older drivers lack these entry points
            return None

    def max_active_blocks_per_sm(self, block, shared_mem: int = 0) -> int:
        threads = _volume(dim3(block, "block"))
        return int(check(_driver().cuOccupancyMaxActiveBlocksPerMultiprocessor(
            self.handle, threads, shared_mem), "cuOccupancyMaxActiveBlocksPerMultiprocessor"))

    def max_cooperative_blocks(self, block, shared_mem: int = 0) -> int:
        """The most blocks a cooperative launch may have: all must be resident at once."""
        self._allow_shared_mem(shared_mem)
        return self.max_active_blocks_per_sm(block, shared_mem) * require_device().sm_count

    def _check_params(self, params: list[tuple[str, object]]) -> None:
        if self._param_sizes is None:
            return
        if len(params) != len(self._param_sizes):
            raise LaunchError(f"kernel {self.name!r} takes {len(self._param_sizes)} parameters, "
                              f"{len(params)} were given")
        for i, ((type_name, _), size) in enumerate(zip(params, self._param_sizes)):
            ctype = ctypes.c_uint64 if _is_pointer_type(type_name) else SCALAR_CTYPES.get(type_name)
            if ctype is not None and ctypes.sizeof(ctype) != size:
                raise LaunchError(f"parameter {i} of kernel {self.name!r} is {size} bytes, but "
                                  f"{type_name!r} is {ctypes.sizeof(ctype)} bytes")

    def _allow_shared_mem(self, shared_mem: int) -> None:
        """Raise the dynamic shared memory limit past 48 KB when asked for more."""
        if shared_mem <= self._dynamic_shared_limit:
            return
        info = require_device()
        available = info.max_shared_memory_per_block_optin - self.attributes.static_shared_bytes
        if shared_mem > available:
            raise LaunchError(f"{shared_mem} bytes of dynamic shared memory requested; "
                              f"{info.name} allows {available} for kernel {self.name!r}")
        driver = _driver()
        attr = driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
        check(driver.cuFuncSetAttribute(self.handle, attr, shared_mem), "cuFuncSetAttribute",
              LaunchError)
        self._dynamic_shared_limit = shared_mem

    def launch(self, grid, block, params: list[tuple[str, object]], *, shared_mem: int = 0,
               stream: Stream | None = None, cooperative: bool = False, cluster=None) -> None:
        """Queue one launch (asynchronous). `params`: (C type, value) per kernel parameter,
        pointers as ("ptr", address). Refuses, with LaunchError, what cannot run."""
        info = require_device()
        grid, block = dim3(grid, "grid"), dim3(block, "block")
        threads = _volume(block)
        if threads > self.attributes.max_threads_per_block:
            raise LaunchError(f"block of {threads} threads; kernel {self.name!r} allows at most "
                              f"{self.attributes.max_threads_per_block} (registers: "
                              f"{self.attributes.num_registers}/thread)")
        if grid[0] > 2**31 - 1 or grid[1] > 65535 or grid[2] > 65535:
            raise LaunchError(f"grid {grid} exceeds the limits (2^31-1, 65535, 65535)")
        self._check_params(params)
        self._allow_shared_mem(shared_mem)
        packed = PackedParams(params)
        hstream = stream.handle if stream is not None else 0
        driver = _driver()
        if cluster is not None:
            config = self._cluster_config(grid, block, dim3(cluster, "cluster"), shared_mem,
                                          hstream, cooperative, info)
            check(driver.cuLaunchKernelEx(config, self.handle, packed.address, 0),
                  f"cuLaunchKernelEx({self.name})", LaunchError)
        elif cooperative:
            self._check_cooperative(grid, block, shared_mem, info)
            check(driver.cuLaunchCooperativeKernel(self.handle, *grid, *block, shared_mem,
                                                   hstream, packed.address),
                  f"cuLaunchCooperativeKernel({self.name})", LaunchError)
        else:
            check(driver.cuLaunchKernel(self.handle, *grid, *block, shared_mem, hstream,
                                        packed.address, 0),
                  f"cuLaunchKernel({self.name})", LaunchError)

    def _check_cooperative(self, grid, block, shared_mem, info) -> None:
        if not info.cooperative_launch:
            raise LaunchError(f"{info.name} does not support cooperative launches")
        blocks = _volume(grid)
        per_sm = self.max_active_blocks_per_sm(block, shared_mem)
        limit = per_sm * info.sm_count
        if blocks > limit:
            raise LaunchError(
                f"cooperative launch of kernel {self.name!r} with {blocks} blocks refused: a grid "
                f"barrier needs every block resident at once, and only {limit} fit ({per_sm} per "
                f"SM x {info.sm_count} SMs at {_volume(block)} threads/block, {shared_mem} B "
                f"dynamic shared memory, {self.attributes.num_registers} registers/thread); use "
                f"at most {limit} blocks or lighter blocks")

    def _cluster_config(self, grid, block, cluster, shared_mem, hstream, cooperative, info):
        if not info.cluster_launch:
            raise LaunchError(f"{info.name} (compute capability "
                              f"{info.compute_capability}) cannot launch thread-block clusters; "
                              "clusters need compute capability 9.0+")
        if any(g % c for g, c in zip(grid, cluster)):
            raise LaunchError(f"grid {grid} is not a whole number of clusters {cluster}")
        driver = _driver()
        size = _volume(cluster)
        if size > 8:  # beyond the portable cluster size the kernel must opt in
            attr = driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED
            check(driver.cuFuncSetAttribute(self.handle, attr, 1), "cuFuncSetAttribute",
                  LaunchError)
        config = driver.CUlaunchConfig()
        config.gridDimX, config.gridDimY, config.gridDimZ = grid
        config.blockDimX, config.blockDimY, config.blockDimZ = block
        config.sharedMemBytes = shared_mem
        config.hStream = hstream
        dims = driver.CUlaunchAttribute()
        dims.id = driver.CUlaunchAttributeID.CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION
        dims.value.clusterDim.x, dims.value.clusterDim.y, dims.value.clusterDim.z = cluster
        attrs = [dims]
        config.attrs, config.numAttrs = attrs, len(attrs)
        clusters = int(check(driver.cuOccupancyMaxActiveClusters(self.handle, config),
                             "cuOccupancyMaxActiveClusters", LaunchError))
        if clusters == 0:
            raise LaunchError(f"a cluster of {size} blocks of {_volume(block)} threads "
                              f"({shared_mem} B dynamic shared memory) cannot be scheduled "
                              f"for kernel {self.name!r}; use smaller clusters or blocks")
        if cooperative:
            blocks = _volume(grid)
            if blocks > clusters * size:
                raise LaunchError(
                    f"cooperative cluster launch of kernel {self.name!r} with {blocks} blocks "
                    f"refused: only {clusters} clusters of {size} blocks ({clusters * size} "
                    "blocks) can be resident at once")
            coop = driver.CUlaunchAttribute()
            coop.id = driver.CUlaunchAttributeID.CU_LAUNCH_ATTRIBUTE_COOPERATIVE
            coop.value.cooperative = 1
            attrs.append(coop)
            config.attrs, config.numAttrs = attrs, len(attrs)
        return config
