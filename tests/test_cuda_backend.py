"""The CUDA backend: NVRTC compile and cache (run everywhere), launches (need a GPU)."""
from __future__ import annotations

import ctypes
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

from ringkernel_codegen.errors import (
    BackendUnavailableError, CompileError, LaunchError, RingKernelError,
)
from ringkernel_runtime.backends import cuda
from ringkernel_runtime.backends.cuda_launch import PackedParams, dim3, scalar_value

HAS_GPU = cuda.available()
gpu = pytest.mark.gpu
needs_gpu = pytest.mark.skipif(not HAS_GPU, reason=f"no CUDA GPU: {cuda.unavailable_reason()}")
no_gpu_only = pytest.mark.skipif(HAS_GPU, reason="checks behaviour on a machine without a GPU")

EM_CUDA = 190  # ELF e_machine of a cubin

SAXPY = r"""
extern "C" __global__ void saxpy(float a, const float* __restrict__ x, float* __restrict__ y,
                                 long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}
"""

GRID_SYNC = r"""
#include <cooperative_groups.h>
namespace cg = cooperative_groups;
// Each block writes its id, waits for the whole grid, then reads its right neighbour's id.
extern "C" __global__ void neighbour(int* ids, int* out) {
    cg::grid_group grid = cg::this_grid();
    if (threadIdx.x == 0) ids[blockIdx.x] = (int)blockIdx.x * 10;
    grid.sync();
    if (threadIdx.x == 0) out[blockIdx.x] = ids[(blockIdx.x + 1) % gridDim.x];
}
"""

ATOMIC_REF = r"""
#include <cuda/atomic>
extern "C" __global__ void poll(unsigned int* flag, unsigned int* seen) {
    cuda::atomic_ref<unsigned int, cuda::thread_scope_system> f(*flag);
    while (f.load(cuda::memory_order_acquire) == 0) { }
    *seen = f.load(cuda::memory_order_relaxed);
}
"""

CLUSTER = r"""
#include <cooperative_groups.h>
namespace cg = cooperative_groups;
extern "C" __global__ void ranks(int* rank, int* size) {
    cg::cluster_group cluster = cg::this_cluster();
    cluster.sync();
    if (threadIdx.x == 0) {
        rank[blockIdx.x] = (int)cluster.block_rank();
        size[blockIdx.x] = (int)cluster.num_blocks();
    }
}
"""


def cubin_sm(image: bytes) -> int:
    """The SM number an ELF cubin targets (bits 8-15 of e_flags, as nvcc -cubin writes it)."""
    assert image[:4] == b"\x7fELF"
    assert struct.unpack_from("<H", image, 18)[0] == EM_CUDA
    return (struct.unpack_from("<I", image, 48)[0] >> 8) & 0xFF


@pytest.fixture(autouse=True)
def _fresh_counters():
    cuda.reset_cache_stats()


# --------------------------------------------------------------------------- compile (no GPU)

def test_importing_the_backend_does_not_touch_the_driver():
    code = ("import sys, ringkernel_runtime.backends.cuda as c; "
            "print('cuda.bindings.driver' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_compiles_a_kernel_to_cubin_for_sm_90(tmp_path):
    module = cuda.compile_cuda(SAXPY, arch="sm_90", cache_dir=tmp_path)
    assert module.format == "cubin" and module.arch == "sm_90"
    assert cubin_sm(module.image) == 90


def test_ptx_output_targets_the_virtual_architecture(tmp_path):
    module = cuda.compile_cuda(SAXPY, arch="sm_90", output="ptx", cache_dir=tmp_path)
    text = module.image.rstrip(b"\0").decode()
    assert module.format == "ptx" and module.image.endswith(b"\0")
    assert ".target sm_90" in text and ".entry saxpy" in text


def test_cooperative_groups_grid_sync_compiles(tmp_path):
    module = cuda.compile_cuda(GRID_SYNC, arch="sm_90", cache_dir=tmp_path)
    assert cubin_sm(module.image) == 90


def test_cuda_atomic_ref_compiles(tmp_path):
    module = cuda.compile_cuda(ATOMIC_REF, arch="sm_90", cache_dir=tmp_path)
    assert cubin_sm(module.image) == 90


def test_cluster_groups_compile(tmp_path):
    cuda.compile_cuda(CLUSTER, arch="sm_90", cache_dir=tmp_path)


def test_name_expressions_give_the_mangled_symbol(tmp_path):
    source = "template <typename T> __global__ void fill(T* x) { x[threadIdx.x] = T(1); }"
    module = cuda.compile_cuda(source, ["fill<float>"], arch="sm_90", cache_dir=tmp_path)
    assert module.symbol("fill<float>") == "_Z4fillIfEvPT_"
    assert module.symbol("plain") == "plain"


def test_second_compile_is_a_cache_hit(tmp_path):
    first = cuda.compile_cuda(SAXPY, arch="sm_90", cache_dir=tmp_path)
    second = cuda.compile_cuda(SAXPY, arch="sm_90", cache_dir=tmp_path)
    assert cuda.cache_stats() == cuda.CacheStats(hits=1, misses=1, corrupt=0)
    assert second.from_cache and not first.from_cache
    assert second.image == first.image and second.cache_key == first.cache_key


@pytest.mark.parametrize("change", [
    {"source": SAXPY + "\n// edited\n"},
    {"options": ("-DEXTRA=1",)},
    {"arch": "sm_80"},
    {"output": "ptx"},
])
def test_changing_source_options_or_arch_is_a_miss(tmp_path, change):
    base = {"source": SAXPY, "options": (), "arch": "sm_90", "output": "cubin"}
    cuda.compile_cuda(base["source"], arch=base["arch"], options=base["options"],
                      output=base["output"], cache_dir=tmp_path)
    varied = {**base, **change}
    module = cuda.compile_cuda(varied["source"], arch=varied["arch"], options=varied["options"],
                               output=varied["output"], cache_dir=tmp_path)
    assert cuda.cache_stats() == cuda.CacheStats(hits=0, misses=2, corrupt=0)
    assert not module.from_cache


def test_editing_an_included_header_is_a_miss(tmp_path):
    include = tmp_path / "inc"
    include.mkdir()
    (include / "scale.h").write_text("#define SCALE 2.0f\n")
    source = '#include "scale.h"\nextern "C" __global__ void k(float* x) { x[0] *= SCALE; }\n'
    options = (f"-I{include}",)
    cuda.compile_cuda(source, arch="sm_90", options=options, cache_dir=tmp_path / "cache")
    cuda.compile_cuda(source, arch="sm_90", options=options, cache_dir=tmp_path / "cache")
    (include / "scale.h").write_text("#define SCALE 3.0f\n")
    cuda.compile_cuda(source, arch="sm_90", options=options, cache_dir=tmp_path / "cache")
    assert cuda.cache_stats() == cuda.CacheStats(hits=1, misses=2, corrupt=0)


@pytest.mark.parametrize("damage", ["flip_payload_byte", "truncate", "garbage"])
def test_corrupted_cache_entry_is_recompiled(tmp_path, damage):
    first = cuda.compile_cuda(SAXPY, arch="sm_90", cache_dir=tmp_path)
    (entry,) = tmp_path.glob("*.cubin")
    data = bytearray(entry.read_bytes())
    if damage == "flip_payload_byte":
        data[-100] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data = bytearray(b"not a cache entry")
    entry.write_bytes(bytes(data))

    again = cuda.compile_cuda(SAXPY, arch="sm_90", cache_dir=tmp_path)
    assert not again.from_cache and again.image == first.image
    assert cuda.cache_stats() == cuda.CacheStats(hits=0, misses=2, corrupt=1)
    assert cuda.compile_cuda(SAXPY, arch="sm_90", cache_dir=tmp_path).from_cache


def test_compile_error_carries_the_nvrtc_log_with_the_line(tmp_path):
    source = 'extern "C" __global__ void broken(float* x) {\n\n    x[0] = not_declared;\n}\n'
    with pytest.raises(CompileError) as info:
        cuda.compile_cuda(source, arch="sm_90", cache_dir=tmp_path)
    message = str(info.value)
    assert "ringkernel.cu(3)" in message
    assert "not_declared" in message and "undefined" in message
    assert isinstance(info.value, RingKernelError)


def test_cache_dir_defaults_to_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("RINGKERNEL_CACHE_DIR", str(tmp_path))
    cuda.compile_cuda(SAXPY, arch="sm_90")
    assert list((tmp_path / "nvrtc").glob("*.cubin"))


def test_arch_in_options_is_refused(tmp_path):
    with pytest.raises(ValueError, match="arch="):
        cuda.compile_cuda(SAXPY, options=("--gpu-architecture=sm_80",), cache_dir=tmp_path)


# --------------------------------------------------------------------------- no GPU here

@no_gpu_only
def test_available_is_false_without_a_gpu():
    assert cuda.available() is False
    assert cuda.unavailable_reason()


@no_gpu_only
def test_require_device_names_the_cause():
    with pytest.raises(BackendUnavailableError) as info:
        cuda.require_device()
    message = str(info.value)
    assert cuda.unavailable_reason() in message
    assert any(word in message for word in ("driver", "cuInit", "device", "cuda-python"))


@no_gpu_only
@pytest.mark.parametrize("call", [
    lambda: cuda.device_info(),
    lambda: cuda.launch_source(SAXPY, "saxpy", 1, 32, []),
    lambda: cuda.mapped_array(4),
    lambda: cuda.DeviceArray(4),
    lambda: cuda.Stream(),
])
def test_gpu_calls_raise_backend_unavailable(call):
    with pytest.raises(BackendUnavailableError):
        call()


# --------------------------------------------------------------------------- marshalling

def test_scalars_are_packed_as_their_c_types():
    packed = PackedParams([("float", 2.5), ("int", -3), ("long long", 1 << 40),
                           ("unsigned char", 255), ("bool", True), ("ptr", 0xDEAD0000)])
    pointers = [packed.pointers[i] for i in range(6)]
    assert ctypes.c_float.from_address(pointers[0]).value == 2.5
    assert ctypes.c_int32.from_address(pointers[1]).value == -3
    assert ctypes.c_int64.from_address(pointers[2]).value == 1 << 40
    assert ctypes.c_uint8.from_address(pointers[3]).value == 255
    assert ctypes.c_bool.from_address(pointers[4]).value is True
    assert ctypes.c_uint64.from_address(pointers[5]).value == 0xDEAD0000
    assert PackedParams([]).address == 0


@pytest.mark.parametrize("type_name, value", [
    ("int", 2**31), ("unsigned int", -1), ("char", 128), ("int", 1.5), ("quaternion", 1),
])
def test_bad_scalars_are_refused(type_name, value):
    with pytest.raises(LaunchError):
        scalar_value(type_name, value)


def test_grid_and_block_shapes():
    assert dim3(7, "grid") == (7, 1, 1)
    assert dim3((4, 2), "grid") == (4, 2, 1)
    for bad in (0, (1, 2, 3, 4), (2, -1), 1.5):
        with pytest.raises(LaunchError):
            dim3(bad, "grid")


class FakeDeviceArray:
    def __init__(self, shape, strides=None, readonly=False):
        self.__cuda_array_interface__ = {"shape": shape, "typestr": "<f4", "strides": strides,
                                         "data": (0x7000_0000, readonly), "version": 3}


def test_cuda_array_interface_objects_pass_by_pointer():
    params, copies = cuda.marshal_args([("array", FakeDeviceArray((4, 4)), True), ("int", 4)])
    assert params == [("ptr", 0x7000_0000), ("int", 4)] and copies == []


@pytest.mark.parametrize("arg", [
    ("array", FakeDeviceArray((4, 4), strides=(4, 16)), False),  # Fortran order
    ("array", FakeDeviceArray((4,), readonly=True), True),  # writable but read-only
    ("array", [1.0, 2.0], True),  # not an array
    ("float",),  # malformed
])
def test_unusable_array_arguments_are_refused(arg):
    with pytest.raises(LaunchError):
        cuda.marshal_args([arg])


# --------------------------------------------------------------------------- GPU

@gpu
@needs_gpu
def test_device_info_describes_the_gpu():
    info = cuda.device_info()
    assert info.sm_count > 0 and info.arch.startswith("sm_")
    assert info.compute_capability[0] >= 3


@gpu
@needs_gpu
def test_saxpy_from_source_matches_numpy(tmp_path):
    rng = np.random.default_rng(1)
    n = 10_000
    x = rng.standard_normal(n).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    expected = np.float32(2.5) * x + y
    cuda.launch_source(SAXPY, "saxpy", (n + 255) // 256, 256,
                       [("float", 2.5), ("array", x, False), ("array", y, True),
                        ("long long", n)], cache_dir=tmp_path)
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)


@gpu
@needs_gpu
def test_device_arrays_round_trip_and_pass_by_pointer(tmp_path):
    x = cuda.DeviceArray.from_host(np.arange(64, dtype=np.float32))
    y = cuda.DeviceArray.from_host(np.ones(64, dtype=np.float32))
    cuda.launch_source(SAXPY, "saxpy", 1, 64, [("float", 2.0), ("array", x, False),
                                               ("array", y, True), ("long long", 64)],
                       cache_dir=tmp_path)
    np.testing.assert_array_equal(y.copy_to_host(), 2.0 * np.arange(64) + 1.0)


@gpu
@needs_gpu
def test_wrong_parameter_count_is_refused(tmp_path):
    kernel = cuda.get_kernel(SAXPY, "saxpy", cache_dir=tmp_path)
    if kernel._param_sizes is None:
        pytest.skip("driver cannot report kernel parameters")
    with pytest.raises(LaunchError, match="takes 4 parameters"):
        kernel.launch(1, 32, [("float", 1.0)])


@gpu
@needs_gpu
def test_cooperative_launch_with_grid_sync(tmp_path):
    kernel = cuda.get_kernel(GRID_SYNC, "neighbour", cache_dir=tmp_path)
    blocks = min(kernel.max_cooperative_blocks(128), 1024)
    ids = np.full(blocks, -1, dtype=np.int32)
    out = np.full(blocks, -1, dtype=np.int32)
    cuda.launch_source(GRID_SYNC, "neighbour", blocks, 128,
                       [("array", ids, True), ("array", out, True)], cooperative=True,
                       cache_dir=tmp_path)
    expected = ((np.arange(blocks) + 1) % blocks) * 10
    np.testing.assert_array_equal(out, expected)


@gpu
@needs_gpu
def test_cooperative_grid_larger_than_occupancy_is_refused(tmp_path):
    kernel = cuda.get_kernel(GRID_SYNC, "neighbour", cache_dir=tmp_path)
    too_many = kernel.max_cooperative_blocks(1024) + 1
    ids = np.zeros(too_many, dtype=np.int32)
    with pytest.raises(LaunchError, match="refused"):
        cuda.launch_source(GRID_SYNC, "neighbour", too_many, 1024,
                           [("array", ids, True), ("array", ids.copy(), True)],
                           cooperative=True, cache_dir=tmp_path)


@gpu
@needs_gpu
def test_cluster_launch_groups_blocks(tmp_path):
    if not cuda.device_info().cluster_launch:
        pytest.skip("device has no thread-block clusters")
    blocks, size = 16, 4
    rank = np.full(blocks, -1, dtype=np.int32)
    count = np.full(blocks, -1, dtype=np.int32)
    cuda.launch_source(CLUSTER, "ranks", blocks, 64, [("array", rank, True),
                                                      ("array", count, True)],
                       cluster=size, cache_dir=tmp_path)
    np.testing.assert_array_equal(rank, np.arange(blocks) % size)
    np.testing.assert_array_equal(count, np.full(blocks, size))
    with pytest.raises(LaunchError, match="whole number of clusters"):
        cuda.launch_source(CLUSTER, "ranks", 10, 64, [("array", rank, True),
                                                      ("array", count, True)],
                           cluster=4, cache_dir=tmp_path)


@gpu
@needs_gpu
def test_mapped_memory_is_visible_to_a_kernel_without_copies(tmp_path):
    x = cuda.mapped_array(256, np.float32)
    y = cuda.mapped_array(256, np.float32)
    x[:] = np.arange(256, dtype=np.float32)
    y[:] = 1.0
    params, copies = cuda.marshal_args([("array", x, False), ("array", y, True)])
    assert copies == [] and params[0] == ("ptr", cuda.mapped_device_pointer(x))
    cuda.launch_source(SAXPY, "saxpy", 1, 256, [("float", 3.0), ("array", x, False),
                                                ("array", y, True), ("long long", 256)],
                       cache_dir=tmp_path)
    np.testing.assert_array_equal(y, 3.0 * np.arange(256) + 1.0)


@gpu
@needs_gpu
def test_kernel_sees_a_host_store_into_mapped_memory(tmp_path):
    flag = cuda.mapped_array(2, np.uint32)
    stream = cuda.Stream()
    flag_ptr = cuda.mapped_device_pointer(flag)
    cuda.launch_source(ATOMIC_REF, "poll", 1, 1, [("ptr", flag_ptr), ("ptr", flag_ptr + 4)],
                       stream=stream, sync=False, cache_dir=tmp_path)
    assert not stream.done()  # still spinning on the flag
    flag[0] = 7
    deadline = time.monotonic() + 10.0
    while not stream.done():
        assert time.monotonic() < deadline, "the kernel never saw the host's store"
        time.sleep(0.001)
    assert flag[1] == 7


# --------------------------------------------------------------------------- fake driver
# The launch logic (marshalling, copies, occupancy and cluster checks) runs here too, against a
# stand-in for cuda.bindings.driver whose "device memory" is host memory and whose kernels are
# Python functions reading the real void** parameter array the backend builds.

from cuda.bindings import driver as real_driver  # noqa: E402

from ringkernel_runtime.backends import cuda_driver, cuda_launch  # noqa: E402

OK = real_driver.CUresult.CUDA_SUCCESS
FA = real_driver.CUfunction_attribute


def _saxpy_on_host(params: int, grid, block) -> None:
    pointers = (ctypes.c_void_p * 4).from_address(params)
    a = ctypes.c_float.from_address(pointers[0]).value
    x_ptr = ctypes.c_uint64.from_address(pointers[1]).value
    y_ptr = ctypes.c_uint64.from_address(pointers[2]).value
    n = ctypes.c_int64.from_address(pointers[3]).value
    x = np.ctypeslib.as_array((ctypes.c_float * n).from_address(x_ptr))
    y = np.ctypeslib.as_array((ctypes.c_float * n).from_address(y_ptr))
    y[:] = np.float32(a) * x + y


class FakeDriver:
    """Just enough of cuda.bindings.driver; enums and structs are the real ones."""

    DEVICE_OFFSET = 1 << 44  # mapped memory's device address differs from the host's

    def __init__(self, blocks_per_sm=2, clusters=16):
        self.kernels = {"saxpy": ([4, 8, 8, 8], _saxpy_on_host)}
        self.blocks_per_sm, self.clusters = blocks_per_sm, clusters
        self.memory: dict[int, np.ndarray] = {}
        self.launches: list[tuple] = []

    def __getattr__(self, name):
        return getattr(real_driver, name)

    def cuCtxSetCurrent(self, ctx):
        return (OK,)

    def cuMemAlloc(self, nbytes):
        buffer = np.zeros(nbytes, np.uint8)
        self.memory[buffer.ctypes.data] = buffer
        return OK, buffer.ctypes.data

    def cuMemFree(self, ptr):
        del self.memory[int(ptr)]
        return (OK,)

    def cuMemcpyHtoD(self, dst, src, nbytes):
        ctypes.memmove(dst, src, nbytes)
        return (OK,)

    cuMemcpyDtoH = cuMemcpyHtoD

    def cuMemHostAlloc(self, nbytes, flags):
        assert flags & real_driver.CU_MEMHOSTALLOC_DEVICEMAP
        return self.cuMemAlloc(nbytes)

    def cuMemHostGetDevicePointer(self, ptr, flags):
        return OK, ptr + self.DEVICE_OFFSET

    cuMemFreeHost = cuMemFree

    def cuModuleLoadData(self, image):
        assert image[:4] == b"\x7fELF"
        return OK, "module"

    def cuModuleGetFunction(self, module, name):
        if name.decode() not in self.kernels:
            return real_driver.CUresult.CUDA_ERROR_NOT_FOUND, None
        return OK, name.decode()

    def cuFuncGetAttribute(self, attr, func):
        return OK, {FA.CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: 1024,
                    FA.CU_FUNC_ATTRIBUTE_NUM_REGS: 32}.get(attr, 0)

    def cuFuncSetAttribute(self, func, attr, value):
        return (OK,)

    def cuFuncGetParamCount(self, func):
        return OK, len(self.kernels[func][0])

    def cuFuncGetParamInfo(self, func, index):
        return OK, 8 * index, self.kernels[func][0][index]

    def cuOccupancyMaxActiveBlocksPerMultiprocessor(self, func, threads, shared):
        return OK, self.blocks_per_sm

    def cuOccupancyMaxActiveClusters(self, func, config):
        return OK, self.clusters

    def _run(self, kind, func, grid, block, params, config=None):
        self.launches.append((kind, func, grid, block, config))
        self.kernels[func][1](params, grid, block)
        return (OK,)

    def cuLaunchKernel(self, func, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
        return self._run("plain", func, (gx, gy, gz), (bx, by, bz), params)

    def cuLaunchCooperativeKernel(self, func, gx, gy, gz, bx, by, bz, shared, stream, params):
        return self._run("cooperative", func, (gx, gy, gz), (bx, by, bz), params)

    def cuLaunchKernelEx(self, config, func, params, extra):
        grid = (config.gridDimX, config.gridDimY, config.gridDimZ)
        block = (config.blockDimX, config.blockDimY, config.blockDimZ)
        return self._run("ex", func, grid, block, params, config)

    def cuStreamSynchronize(self, stream):
        return (OK,)


@pytest.fixture
def fake_gpu(monkeypatch):
    fake = FakeDriver()
    monkeypatch.setattr(cuda_driver, "_driver", lambda: fake)
    monkeypatch.setattr(cuda_launch, "_driver", lambda: fake)
    info = cuda.DeviceInfo(
        ordinal=0, name="Fake H100", compute_capability=(9, 0), sm_count=132,
        total_memory=80 << 30, max_threads_per_block=1024, max_shared_memory_per_block=48 << 10,
        max_shared_memory_per_block_optin=227 << 10, warp_size=32, l2_cache_size=50 << 20,
        cooperative_launch=True, cluster_launch=True, can_map_host_memory=True,
        unified_addressing=True, driver_version=13000)
    for name, value in (("ready", True), ("cause", None), ("context", "ctx"), ("info", info)):
        monkeypatch.setattr(cuda_driver._state, name, value)
    monkeypatch.setattr(cuda, "_kernels", {})
    return fake


def saxpy_args(x, y, a=2.0):
    return [("float", a), ("array", x, False), ("array", y, True), ("long long", len(x))]


def test_launch_source_copies_numpy_arrays_in_and_back(fake_gpu, tmp_path):
    x = np.arange(8, dtype=np.float32)
    y = np.ones(8, dtype=np.float32)
    cuda.launch_source(SAXPY, "saxpy", 1, 8, saxpy_args(x, y), cache_dir=tmp_path)
    np.testing.assert_array_equal(y, 2.0 * np.arange(8) + 1.0)
    np.testing.assert_array_equal(x, np.arange(8))
    assert fake_gpu.launches[0][:4] == ("plain", "saxpy", (1, 1, 1), (8, 1, 1))
    assert fake_gpu.memory == {}  # staging buffers freed


def test_strided_numpy_output_is_written_back(fake_gpu, tmp_path):
    x = np.arange(8, dtype=np.float32)
    y_storage = np.ones(16, dtype=np.float32)
    cuda.launch_source(SAXPY, "saxpy", 1, 8, saxpy_args(x, y_storage[::2], a=3.0),
                       cache_dir=tmp_path)
    np.testing.assert_array_equal(y_storage[::2], 3.0 * np.arange(8) + 1.0)
    np.testing.assert_array_equal(y_storage[1::2], 1.0)


def test_cooperative_launch_up_to_occupancy_is_accepted(fake_gpu, tmp_path):
    x, y = np.zeros(4, np.float32), np.zeros(4, np.float32)
    cuda.launch_source(SAXPY, "saxpy", 2 * 132, 128, saxpy_args(x, y), cooperative=True,
                       cache_dir=tmp_path)
    assert fake_gpu.launches[-1][0] == "cooperative"


def test_cooperative_launch_beyond_occupancy_is_refused(fake_gpu, tmp_path):
    x, y = np.zeros(4, np.float32), np.zeros(4, np.float32)
    with pytest.raises(LaunchError, match=r"265 blocks refused.*only 264 fit"):
        cuda.launch_source(SAXPY, "saxpy", 2 * 132 + 1, 128, saxpy_args(x, y),
                           cooperative=True, cache_dir=tmp_path)
    assert fake_gpu.launches == [] and fake_gpu.memory == {}


def test_cluster_launch_sets_the_cluster_dimension(fake_gpu, tmp_path):
    x, y = np.zeros(4, np.float32), np.zeros(4, np.float32)
    cuda.launch_source(SAXPY, "saxpy", 8, 32, saxpy_args(x, y), cluster=(4,),
                       cooperative=True, cache_dir=tmp_path)
    kind, _, grid, _, config = fake_gpu.launches[-1]
    assert kind == "ex" and grid == (8, 1, 1)
    attrs = {a.id: a for a in config.attrs[: config.numAttrs]}
    ids = real_driver.CUlaunchAttributeID
    dim = attrs[ids.CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION].value.clusterDim
    assert (dim.x, dim.y, dim.z) == (4, 1, 1)
    assert attrs[ids.CU_LAUNCH_ATTRIBUTE_COOPERATIVE].value.cooperative == 1


def test_unschedulable_cluster_is_refused(fake_gpu, tmp_path):
    fake_gpu.clusters = 0
    x, y = np.zeros(4, np.float32), np.zeros(4, np.float32)
    with pytest.raises(LaunchError, match="cannot be scheduled"):
        cuda.launch_source(SAXPY, "saxpy", 8, 32, saxpy_args(x, y), cluster=8,
                           cache_dir=tmp_path)


@pytest.mark.parametrize("args, message", [
    ([("float", 1.0)], "takes 4 parameters, 1 were given"),
    ([("double", 1.0), ("ptr", 0), ("ptr", 0), ("long long", 0)], "parameter 0 .* is 4 bytes"),
])
def test_parameters_that_do_not_fit_the_kernel_are_refused(fake_gpu, tmp_path, args, message):
    with pytest.raises(LaunchError, match=message):
        cuda.launch_source(SAXPY, "saxpy", 1, 32, args, cache_dir=tmp_path)


@pytest.mark.parametrize("block, shared, message", [
    (2048, 0, "2048 threads"),
    (32, 300 << 10, "dynamic shared memory"),
])
def test_blocks_the_kernel_cannot_run_are_refused(fake_gpu, tmp_path, block, shared, message):
    x, y = np.zeros(4, np.float32), np.zeros(4, np.float32)
    with pytest.raises(LaunchError, match=message):
        cuda.launch_source(SAXPY, "saxpy", 1, block, saxpy_args(x, y), shared_mem=shared,
                           cache_dir=tmp_path)


def test_unknown_kernel_name_is_refused(fake_gpu, tmp_path):
    with pytest.raises(LaunchError, match="not found"):
        cuda.launch_source(SAXPY, "saxpyy", 1, 32, [], cache_dir=tmp_path)


def test_mapped_arrays_pass_their_device_address(fake_gpu):
    x = cuda.mapped_array((4, 4), np.float64)
    assert x.shape == (4, 4) and not x.any()
    host = x.__array_interface__["data"][0]
    params, copies = cuda.marshal_args([("array", x, True), ("array", x[1:], False)])
    assert copies == []
    assert params == [("ptr", host + FakeDriver.DEVICE_OFFSET),
                      ("ptr", host + 32 + FakeDriver.DEVICE_OFFSET)]


def test_mapped_memory_lives_as_long_as_a_view(fake_gpu):
    view = cuda.mapped_array(8, np.int32)[2:]
    assert len(fake_gpu.memory) == 1
    del view
    assert fake_gpu.memory == {}
