"""The GPU actors' arenas, stream pool and residency ledger (backends/cuda_resources.py), checked
without a GPU: fake chunks stand in for cuMemHostAlloc / cuMemAlloc, fake kernels for occupancy."""
import gc
import random

import numpy as np
import pytest

from ringkernel_runtime.backends import cpu_backend, cuda_actor, cuda_driver, cuda_resources
from ringkernel_runtime.backends.cuda_resources import (
    ALIGN, Arena, DeviceArena, MappedArena, Residency, StreamPool,
)
from ringkernel_runtime.errors import LaunchError

DEVICE_BASE = 1 << 44


class FakeMapped:
    """A mapped chunk: host memory (numpy) with a made-up device address."""

    def __init__(self, nbytes):
        self.buf = np.full(nbytes, 0xAB, np.uint8)        # dirty, as reused pinned memory would be
        self.nbytes, self.host_ptr = nbytes, self.buf.ctypes.data
        self.device_ptr = DEVICE_BASE + self.host_ptr % (1 << 30)
        self.freed = False

    def free(self):
        self.freed = True


def test_arena_aligns_and_packs_first_fit():
    a = Arena(4096)
    offs = [a.alloc(n) for n in (1, ALIGN, ALIGN + 1, 10)]
    assert offs == [0, ALIGN, 2 * ALIGN, 4 * ALIGN]            # each rounded up to ALIGN
    assert a.used == 5 * ALIGN
    assert a.alloc(4096) is None                                # does not fit what is left
    a.free(ALIGN)
    assert a.alloc(ALIGN) == ALIGN                              # the freed hole is reused first


def test_arena_coalesces_neighbours_back_into_one_range():
    a = Arena(16 * ALIGN)
    offs = [a.alloc(ALIGN) for _ in range(16)]
    assert a.alloc(1) is None
    for off in offs[::2] + offs[1::2]:                          # free in an order that leaves holes
        a.free(off)
    assert a.used == 0 and a.largest_free() == 16 * ALIGN
    assert a.alloc(16 * ALIGN) == 0


def test_arena_refuses_double_free():
    a = Arena(4096)
    off = a.alloc(100)
    a.free(off)
    with pytest.raises(ValueError, match="not allocated"):
        a.free(off)


def test_arena_random_allocations_never_overlap():
    rng = random.Random(7)
    a = Arena(1 << 20)
    live = {}
    for _ in range(3000):
        if live and rng.random() < 0.45:
            off = rng.choice(list(live))
            a.free(off)
            del live[off]
        else:
            n = rng.randint(1, 20_000)
            off = a.alloc(n)
            if off is None:
                assert a.largest_free() < -(-n // ALIGN) * ALIGN
                continue
            assert off % ALIGN == 0 and off + n <= a.size
            for o, m in live.items():                           # an independent overlap check
                assert off + n <= o or o + m <= off
            live[off] = n
    for off in list(live):
        a.free(off)
    assert a.used == 0 and a.largest_free() == a.size


def _mapped(resident=0, chunk=64 * ALIGN):
    chunks = []

    def new_chunk(n):
        chunks.append(FakeMapped(n))
        return chunks[-1]

    return MappedArena(chunk, new_chunk, resident=lambda: resident), chunks


def test_mapped_arrays_are_zeroed_views_with_device_addresses():
    arena, chunks = _mapped()
    a = arena.array(10, np.int64)
    b = arena.array((2, 3), np.dtype([("x", "f4"), ("y", "u8")]))
    assert len(chunks) == 1 and not a.any() and not b["x"].any() and not b["y"].any()
    a[:] = 7
    c = chunks[0]
    assert c.buf[:80].view(np.int64).tolist() == [7] * 10       # the view is the chunk's memory
    assert cuda_driver.mapped_device_pointer(a) == c.device_ptr
    assert cuda_driver.mapped_device_pointer(b) == c.device_ptr + ALIGN
    assert cuda_driver.mapped_device_pointer(a[3:]) == c.device_ptr + 24


def test_a_mapped_range_returns_when_its_last_view_is_gone_and_comes_back_zeroed():
    arena, chunks = _mapped()
    a = arena.array(32, np.int64)
    a[:] = -1
    tail = a[16:]                                               # a slice keeps the range alive
    del a
    gc.collect()
    assert arena.used == ALIGN
    del tail
    gc.collect()
    assert arena.used == 0
    again = arena.array(32, np.int64)
    assert cuda_driver.mapped_device_pointer(again) == chunks[0].device_ptr and not again.any()


def test_arena_grows_by_a_chunk_while_nothing_is_resident():
    arena, chunks = _mapped(resident=0, chunk=4 * ALIGN)
    keep = [arena.array(4 * ALIGN, np.uint8), arena.array(10 * ALIGN, np.uint8)]
    assert [c.nbytes for c in chunks] == [4 * ALIGN, 10 * ALIGN]   # a big request gets its own size
    assert arena.capacity == 14 * ALIGN and arena.used == 14 * ALIGN and len(keep) == 2


def test_arena_refuses_to_grow_while_actors_are_resident_naming_the_numbers():
    arena, chunks = _mapped(resident=2, chunk=4 * ALIGN)
    arena.reserve()
    keep = arena.array(4 * ALIGN, np.uint8)
    with pytest.raises(LaunchError) as err:
        arena.array(8, np.uint8)
    msg = str(err.value)
    assert "2 actor launch(es) are resident" in msg and "arena_mib=" in msg and "MiB" in msg
    assert len(chunks) == 1 and keep.size


def test_reserve_allocates_the_first_chunk_once_and_release_frees_every_chunk():
    arena, chunks = _mapped()
    arena.reserve()
    arena.reserve()
    assert len(chunks) == 1
    arena.release()
    assert chunks[0].freed and arena.capacity == 0


def test_device_arena_hands_out_disjoint_slices_and_takes_them_back(monkeypatch):
    copied = []
    monkeypatch.setattr(cuda_resources.DeviceSlice, "copy_from_host",
                        lambda self, host: copied.append((self.ptr, host.nbytes)))

    class Chunk:
        ptr = 1 << 40

    arena = DeviceArena(8 * ALIGN, lambda n: Chunk(), resident=lambda: 0)
    a = arena.copy(np.zeros(16, np.uint64))
    b = arena.copy(np.zeros(3, np.uint64))
    assert (a.ptr, b.ptr) == (Chunk.ptr, Chunk.ptr + ALIGN) and copied == [(a.ptr, 128), (b.ptr, 24)]
    assert (a.shape, b.dtype) == ((16,), np.uint64)
    a.free()
    a.free()                                                    # idempotent
    assert arena.used == ALIGN
    del b
    gc.collect()
    assert arena.used == 0


def test_residency_refuses_blocks_the_device_cannot_hold_beside_resident_ones():
    led = Residency()
    t1 = led.reserve("actor a", 1, per_sm=4, sm_count=2)        # 1 of 8
    led.reserve("pool b", 6, per_sm=4, sm_count=2)              # 7 of 8
    with pytest.raises(LaunchError) as err:
        led.reserve("pool c", 2, per_sm=4, sm_count=2)
    msg = str(err.value)
    assert "pool c: 2 resident block(s)" in msg and "at most 8" in msg and "4 per SM x 2 SMs" in msg
    assert "88%" in msg and "pool b: 6 of 8" in msg
    led.release(t1)
    led.reserve("pool c", 2, per_sm=4, sm_count=2)              # fits once actor a stopped
    assert led.in_use() == pytest.approx(1.0)


def test_residency_counts_kernels_of_different_sizes_as_shares_of_the_device():
    led = Residency()
    led.reserve("big", 66, per_sm=1, sm_count=132)              # half the device
    led.reserve("small", 264, per_sm=4, sm_count=132)           # the other half
    with pytest.raises(LaunchError):
        led.reserve("one more", 1, per_sm=8, sm_count=132)
    with pytest.raises(LaunchError, match="at most 0"):
        Residency().reserve("too big", 1, per_sm=0, sm_count=132)   # cannot be resident at all


def test_stream_pool_creates_up_front_and_reuses():
    made = []
    pool = StreamPool(lambda: made.append(object()) or made[-1], count=2)
    pool.reserve()
    assert len(made) == 2
    s1, s2, s3 = pool.get(), pool.get(), pool.get()
    assert len(made) == 3 and len({id(s1), id(s2), id(s3)}) == 3
    pool.put(s1)
    assert pool.get() is s1


class _Kernel:
    def __init__(self, per_sm, fail=False):
        self.per_sm, self.fail, self.calls = per_sm, fail, []

    def max_active_blocks_per_sm(self, threads):
        return self.per_sm

    def launch(self, grid, block, params, stream=None, **kw):
        if self.fail:
            raise LaunchError("launch failed")
        self.calls.append((grid, block, stream, kw))


class _Stream:
    handle = 1
    finished = False

    def done(self):
        return self.finished


@pytest.fixture
def device(monkeypatch):
    """A fake device of 4 SMs and fresh resources (ledger, stream pool)."""

    class Info:
        sm_count = 4

    res = cuda_resources.Resources.__new__(cuda_resources.Resources)
    res.residency, res.streams = Residency(), StreamPool(_Stream, count=0)
    monkeypatch.setattr(cuda_resources, "_resources", res)
    monkeypatch.setattr(cuda_driver, "require_device", lambda: Info)
    return res


def test_launch_resident_counts_blocks_until_the_launch_stops_then_pools_the_stream(device):
    k = _Kernel(per_sm=2)
    s = cuda_actor.launch_resident("pool", k, 8, 128, [], device.streams.get)
    assert k.calls == [(8, 128, s.stream, {})] and device.residency.in_use() == pytest.approx(1.0)
    with pytest.raises(LaunchError, match="cannot all be resident"):
        cuda_actor.launch_resident("one more", k, 1, 128, [], device.streams.get)
    assert len(k.calls) == 1                                    # refused before launching
    s.stream.finished = True
    assert s.done() and device.residency.in_use() == 0
    assert device.streams.get() is s.stream                     # reused


def test_a_launch_that_fails_gives_its_blocks_back(device):
    with pytest.raises(LaunchError, match="launch failed"):
        cuda_actor.launch_resident("actor", _Kernel(per_sm=1, fail=True), 4, 64, [], device.streams.get)
    assert device.residency.in_use() == 0


# -- admission: refused in the caller's thread, before anything starts ------------------------------
def _fake_actor(name, per_sm, pool=None, threads=128):
    from types import SimpleNamespace
    return SimpleNamespace(kernel=SimpleNamespace(name=name), function=_Kernel(per_sm), threads=threads,
                           pool=pool, closed=False)


def test_admit_counts_a_pool_as_all_its_members_beside_resident_launches(device):
    from types import SimpleNamespace
    resident = cuda_actor.launch_resident("actor a", _Kernel(per_sm=2), 5, 128, [], device.streams.get)
    pool = SimpleNamespace(members=[])
    pool.members += [_fake_actor("worker", 2, pool) for _ in range(3)]
    cuda_actor.admit([_fake_actor("solo", 2)])                  # 5 + 1 of 8 blocks: fits
    cuda_actor.admit(pool.members)                              # 5 + 3 of 8: fits
    with pytest.raises(LaunchError, match="actor solo: 1 resident block"):
        cuda_actor.admit(pool.members + [_fake_actor("solo", 2)])   # 5 + 3 + 1: counted together
    assert device.residency.in_use() == pytest.approx(5 / 8)   # admit checks; only launches hold
    resident.stream.finished = True
    resident.done()
    cuda_actor.admit(pool.members + [_fake_actor("solo", 2)])


def test_admit_refuses_a_pool_larger_than_the_device(device):
    from types import SimpleNamespace
    pool = SimpleNamespace(members=[])
    pool.members += [_fake_actor("worker", 1, pool) for _ in range(5)]
    with pytest.raises(LaunchError, match=r"pool of 5 worker actors: 5 resident block\(s\).*at most 4"):
        cuda_actor.admit(pool.members)


def test_runtime_refuses_before_registering_and_closes_what_it_made():
    from ringkernel_runtime import Runtime
    import ring_kernels as rk

    made = []

    class Backend:
        @staticmethod
        def make_actor(*args):
            from ringkernel_runtime.backends.cpu import CpuActor
            actor = CpuActor(*args)
            actor.close = lambda: made.append("closed")
            return actor

        @staticmethod
        def admit(actors):
            raise LaunchError(f"{len(actors)} block(s) cannot all be resident")

    with Runtime(backend="cpu") as rt:
        rt._actors = Backend
        with pytest.raises(LaunchError, match="1 block"):
            rt.launch(rk.adder)
        with pytest.raises(LaunchError, match="3 block"):
            rt.launch_pool(rk.adder, 3)
        assert rt.handles == [] and made == ["closed"] * 4 and rt.registry.lookup_pattern("**") == []


def test_a_refused_launch_fails_the_actor_for_good_instead_of_restarting_it(device):
    import host_emu
    import ring_kernels as rk
    state = np.zeros(1, rk.accumulate.state_type.dtype)
    a = cuda_actor.CudaActor(rk.accumulate, 1, 64, state, 1000, 10**9, 32, memory=host_emu.HostMemory())
    a.function, a.threads, a.source = _Kernel(per_sm=0), 128, "src"
    a._new_stream = device.streams.get
    with pytest.raises(LaunchError, match="cannot all be resident"):
        a.run_loop(True)
    assert a.fault is not None and not a.launched
    with pytest.raises(LaunchError):                            # no resume of a block that never ran
        a.run_loop(True)


def test_preload_runs_the_backends_hook_at_start_and_starts_no_actor():
    from ringkernel_runtime import Runtime
    from ringkernel_runtime.errors import CompileError
    import ring_kernels as rk

    seen = []

    class Backend:
        @staticmethod
        def preload(kernel):
            if kernel is rk.stamp:
                raise RuntimeError("NVRTC said no")
            seen.append(kernel.name)

    with Runtime(backend="cpu") as rt:
        rt._actors = Backend
        rt.preload(rk.adder, rk.double)                         # a kernel with peers needs none wired
        assert seen == ["adder", "double"] and rt.handles == []
        with pytest.raises(CompileError, match="ring kernel stamp failed to compile.*NVRTC said no"):
            rt.preload(rk.stamp)
        rt._actors = cpu_backend
        h = rt.launch(rk.adder)                                 # the first actor is still number 1
        assert h.name == "adder#1"
    with Runtime(backend="cpu", preload=[rk.adder]) as rt:      # the cpu backend has nothing to load
        assert rt.handles == []
