"""What the host may do while actor blocks are resident, on a real GPU (marked gpu; skipped here).

A resident block never finishes, so a driver call that waits for the device to go idle never
returns. The runtime avoids the calls suspected of that (backends/cuda_resources.py: arenas, a
stream pool, preloading), but whether cuMemHostAlloc, cuMemAlloc, cuStreamCreate, a module load
or a plain launch block beside a resident kernel is for the GPU to say: these tests make each call
from a helper thread with a deadline and name the one that did not come back.
"""
import threading
import time

import numpy as np
import pytest

import ring_kernels as rk
from ringkernel_runtime import LaunchOptions, Runtime
from ringkernel_runtime.errors import LaunchError

pytestmark = pytest.mark.gpu
DEADLINE = 20.0


@pytest.fixture(autouse=True)
def _needs_gpu():
    from ringkernel_runtime.backends import cuda
    if not cuda.available():
        pytest.skip(f"no usable CUDA GPU ({cuda.unavailable_reason()})")


def _round_trip(h, a=1.0, b=2.0):
    h.send(rk.Add(a=a, b=b))
    assert h.receive(timeout=10.0).value == pytest.approx(a + b)


def _each_returns(steps):
    """Run each (name, call) in a helper thread, in order; fail naming the first one still
    running after DEADLINE seconds. Returns {name: seconds}."""
    took, errors = {}, []

    def run():
        for name, call in steps:
            t0 = time.perf_counter()
            try:
                call()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append((name, exc))
                return
            took[name] = time.perf_counter() - t0

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(DEADLINE)
    if t.is_alive():
        stuck = next(name for name, _ in steps if name not in took)
        pytest.fail(f"{stuck} did not return within {DEADLINE:.0f} s while an actor was resident "
                    f"(returned: {took})")
    assert not errors, errors
    print("\n" + "\n".join(f"  {name:48s} {s * 1e3:9.2f} ms" for name, s in took.items()))
    return took


_UNIQUE = iter(range(1 << 30))


def _fresh_kernel_source() -> tuple[str, str]:
    name = f"rk_probe_{time.time_ns()}_{next(_UNIQUE)}"
    return f'extern "C" __global__ void {name}(float* x) {{ x[threadIdx.x] += 1.0f; }}\n', name


def test_cuda_driver_calls_beside_a_resident_actor_return():
    from ringkernel_codegen import f32, i32, kernel
    from ringkernel_codegen.dsl import global_id
    from ringkernel_runtime.backends import cuda

    @kernel
    def add_one(x: f32[:], n: i32):
        i = global_id()
        if i < n:
            x[i] = x[i] + 1.0

    keep = []
    x = np.zeros(256, np.float32)
    with Runtime(backend="cuda") as rt:
        h = rt.launch(rk.adder, LaunchOptions(queue_capacity=256))
        _round_trip(h)
        source, name = _fresh_kernel_source()
        _each_returns([
            ("cuMemHostAlloc (MappedBuffer 1 MiB)", lambda: keep.append(cuda.MappedBuffer(1 << 20))),
            ("cuMemAlloc (DeviceArray 1 MiB)", lambda: keep.append(cuda.DeviceArray((1 << 18,), np.float32))),
            ("cuStreamCreate", lambda: keep.append(cuda.Stream())),
            ("NVRTC compile + cuModuleLoadData", lambda: keep.append(cuda.get_kernel(source, name))),
            (".to('cuda') launch (staging copies, launch, sync)", lambda: add_one.to("cuda")[1, 256](x, np.int32(256))),
            ("a second actor: arena sub-allocations, launch", lambda: keep.append(rt.launch(rk.adder))),
        ])
        assert np.all(x == 1.0)
        _round_trip(h, 3.0, 4.0)                          # the resident actor kept running
        _round_trip(keep[-1], 5.0, 6.0)


def test_numba_calls_beside_a_resident_numba_actor_return():
    from numba import cuda as ncuda

    from ringkernel_codegen import f32, i32, kernel
    from ringkernel_codegen.dsl import global_id

    @kernel
    def add_two(x: f32[:], n: i32):
        i = global_id()
        if i < n:
            x[i] = x[i] + 2.0

    keep = []
    x = np.zeros(256, np.float32)
    with Runtime(backend="numba") as rt:
        h = rt.launch(rk.adder, LaunchOptions(queue_capacity=256))
        _round_trip(h)
        _each_returns([
            ("numba cuda.mapped_array", lambda: keep.append(ncuda.mapped_array(1 << 18, np.float32))),
            ("numba cuda.to_device", lambda: keep.append(ncuda.to_device(np.zeros(1 << 18, np.float32)))),
            (".to('numba') launch", lambda: add_two.to("numba")[1, 256](x, np.int32(256))),
            ("a second numba actor", lambda: keep.append(rt.launch(rk.adder))),
        ])
        assert np.all(x == 2.0)
        _round_trip(h, 3.0, 4.0)
        _round_trip(keep[-1], 5.0, 6.0)


def test_a_pool_the_device_cannot_hold_is_refused_before_anything_launches():
    from ringkernel_runtime.backends import cuda, cuda_driver
    from ringkernel_runtime.backends.cuda_actor import block_threads
    info = cuda.device_info()
    with Runtime(backend="cuda", preload=[rk.adder]) as rt:
        fn = cuda.get_kernel(rk.adder.cuda_source(), "rk_actor_adder")
        threads = block_threads(rk.adder.cuda_source())
        capacity = fn.max_active_blocks_per_sm(threads) * info.sm_count
        with pytest.raises(LaunchError, match=f"at most {capacity} of these"):
            rt.launch_pool(rk.adder, capacity + 1, LaunchOptions(queue_capacity=2))
        assert rt.handles == [] and cuda_driver.resident_count() == 0
        pool = rt.launch_pool(rk.adder, 4, LaunchOptions(queue_capacity=16))   # a pool that fits runs
        for i, m in enumerate(pool):
            _round_trip(m, float(i), 1.0)


def test_the_arena_refuses_to_grow_while_an_actor_is_resident():
    with Runtime(backend="cuda", arena_mib=8) as rt:
        h = rt.launch(rk.adder, LaunchOptions(queue_capacity=256))
        _round_trip(h)
        with pytest.raises(LaunchError, match="arena is full.*arena_mib="):
            rt.launch(rk.adder, LaunchOptions(queue_capacity=1 << 23))   # ~0.3 GB per lane
        _round_trip(h, 2.0, 2.0)
