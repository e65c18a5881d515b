"""Ring kernels as resident GPU actors: the CPU runtime's behaviour, on `cpu`, `cuda` and `numba`.

The behavioural tests run one body per backend (`cuda`: the CUDA C++ actor loop; `numba`: the
numba.cuda one; both marked gpu and skipped cleanly without a GPU; `cuda-emu`: the same CUDA C++
actor source compiled by g++ for the host and driven by the real host runtime, host_emu.py, which
checks the loop's protocol here but not the GPU's memory model; the numba loop also runs in the
simulator, tests/sim/test_numba_actors.py). The generated actor source is checked here without a GPU: it compiles with NVRTC and nvcc,
polls mapped memory only through the system-scope helpers, and is byte-identical for identical
input. The host side of the cuda actor (descriptor, exit handshake, heartbeat) runs on fakes.
"""
import ctypes
import re
import subprocess
import threading
import time

import numpy as np
import pytest

import host_emu
import ring_kernels as rk
from ringkernel_runtime import KernelState, LaunchOptions, OneForOne, Runtime
from ringkernel_runtime.backends import cuda_actor
from ringkernel_runtime.layout import CB
from ringkernel_runtime.lifecycle import CMD_ACTIVATE, CMD_RESUME, EXIT_FAILED

TIMEOUT = 10.0


Job, square, forward = rk.Job, rk.square, rk.forward
RING_KERNELS = [rk.adder, rk.accumulate, rk.double, rk.stamp, rk.evens_only, rk.scratch, square, forward]


def _gpu() -> bool:
    try:
        from ringkernel_runtime.backends import cuda
        return bool(cuda.available())
    except Exception:  # noqa: BLE001 - no driver / no cuda-python
        return False


@pytest.fixture(params=[pytest.param("cpu", id="cpu"), pytest.param("cuda-emu", id="cuda-emu"),
                        pytest.param("cuda", id="cuda", marks=pytest.mark.gpu),
                        pytest.param("numba", id="numba", marks=pytest.mark.gpu)])
def rt(request):
    if request.param == "cuda-emu":                  # the CUDA C++ actor loop, compiled for the host
        if host_emu.compiler() is None:
            pytest.skip("g++ not found (the host emulation of the CUDA actor loop needs it)")
        with host_emu.emulated_runtime() as runtime:
            yield runtime
        return
    if request.param != "cpu" and not _gpu():
        pytest.skip("no usable CUDA GPU (ringkernel_runtime.backends.cuda.available() is False)")
    with Runtime(backend=request.param) as runtime:
        yield runtime


def items(lo, hi, value=1.0):
    b = rk.Item.zeros(hi - lo)
    b["seq"] = np.arange(lo, hi)
    b["value"] = value
    return b


# -- behaviour, on every backend ------------------------------------------------------------------
def test_adder_round_trip_matches_numpy(rt):
    k = rt.launch(rk.adder, LaunchOptions(queue_capacity=4096))
    k.send(rk.Add(a=1.5, b=2.25))
    assert k.receive(timeout=TIMEOUT).value == pytest.approx(3.75)
    batch = rk.Add.zeros(3000)
    rng = np.random.default_rng(7)
    batch["a"] = rng.standard_normal(3000).astype(np.float32)
    batch["b"] = rng.standard_normal(3000).astype(np.float32)
    k.send_many(batch, timeout=TIMEOUT)
    out = k.receive_many(3000, timeout=TIMEOUT)
    np.testing.assert_array_equal(out["value"], batch["a"] + batch["b"])


def test_100k_messages_arrive_once_in_order(rt):
    k = rt.launch(rk.accumulate, LaunchOptions(queue_capacity=4096, send_timeout=TIMEOUT))
    n, chunk, got = 100_000, 2048, []
    for start in range(0, n, chunk):
        k.send_many(items(start, min(start + chunk, n)), timeout=TIMEOUT)
        got.append(k.receive_many(min(chunk, n - start), timeout=TIMEOUT))
    seq = np.concatenate(got)["seq"]
    np.testing.assert_array_equal(seq, np.arange(n))
    assert k.stats.messages_in == n


def test_state_persists_from_launch_options(rt):
    k = rt.launch(rk.accumulate, LaunchOptions(queue_capacity=1024, state=rk.Totals(count=10, total=100.0)))
    values = np.arange(1, 501, dtype=np.float64)
    batch = items(0, 500)
    batch["value"] = values
    k.send_many(batch, timeout=TIMEOUT)
    out = k.receive_many(500, timeout=TIMEOUT)
    np.testing.assert_allclose(out["value"], 100.0 + np.cumsum(values))
    st = k.read_state()
    assert st.count == 510 and st.total == pytest.approx(100.0 + values.sum())


def test_fail_dead_letters_and_restart_resets_state(rt):
    k = rt.spawn(rk.accumulate, name="acc", restart=OneForOne(max_restarts=3, window=60.0),
                 options=LaunchOptions(queue_capacity=256))
    batch = items(0, 10)
    batch["value"][4] = -1.0
    k.send_many(batch, timeout=TIMEOUT)
    out = k.receive_many(9, timeout=TIMEOUT)
    assert list(out["seq"]) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    np.testing.assert_allclose(out["value"], [1, 2, 3, 4, 1, 2, 3, 4, 5])   # state reset after restart
    assert k.restart_count == 1 and len(rt.dead_letters) == 1
    dead = rt.dead_letters[0]
    assert dead.reason == "failed" and dead.message.seq == 4


def test_parallel_handler_fail_restarts_and_keeps_order(rt):
    k = rt.spawn(square, name="sq", restart=OneForOne(max_restarts=3, window=60.0),
                 options=LaunchOptions(queue_capacity=256))
    batch = Job.zeros(64)
    batch["seq"] = np.arange(64)
    batch["value"] = np.arange(64, dtype=np.float64)
    batch["value"][10] = -1.0
    k.send_many(batch, timeout=TIMEOUT)
    out = k.receive_many(63, timeout=TIMEOUT)
    keep = np.arange(64) != 10
    np.testing.assert_array_equal(out["seq"], np.arange(64)[keep])
    np.testing.assert_array_equal(out["value"], (np.arange(64, dtype=np.float64) ** 2)[keep])
    assert rt.dead_letters[0].message.seq == 10


def test_deactivate_holds_messages_until_activate(rt):
    k = rt.launch(rk.adder, LaunchOptions(queue_capacity=64))
    k.deactivate(timeout=TIMEOUT)
    assert k.state == KernelState.DRAINING
    k.send(rk.Add(a=1.0, b=1.0))
    assert len(k.receive_many(1, timeout=0.2)) == 0
    k.activate(timeout=TIMEOUT)
    assert k.receive(timeout=TIMEOUT).value == 2.0


def test_terminate_under_load_loses_nothing(rt):
    k = rt.launch(rk.accumulate, LaunchOptions(queue_capacity=8192))
    n = 8000
    k.send_many(items(0, n), timeout=TIMEOUT)
    assert k.terminate(timeout=TIMEOUT)
    replies = k.actor.out.depth()
    dead = sum(1 for d in rt.dead_letters if d.reason == "terminated")
    assert replies + dead == n and k.state == KernelState.TERMINATED


def test_k2k_chain_loses_and_duplicates_nothing(rt):
    sink = rt.launch(rk.accumulate, LaunchOptions(queue_capacity=1024))
    src = rt.launch(rk.double, LaunchOptions(queue_capacity=1024, peers={"next": sink}))
    n, got = 20_000, []
    for start in range(0, n, 1000):
        src.send_many(items(start, start + 1000), timeout=TIMEOUT)
        got.append(sink.receive_many(1000, timeout=TIMEOUT))
    out = np.concatenate(got)
    np.testing.assert_array_equal(np.sort(out["seq"]), np.arange(n))
    np.testing.assert_allclose(out["value"][-1], 2.0 * n)


def test_k2k_from_a_parallel_handler_delivers_every_message_once(rt):
    sink = rt.launch(square, LaunchOptions(queue_capacity=4096))
    src = rt.launch(forward, LaunchOptions(queue_capacity=4096, peers={"next": sink}))
    batch = Job.zeros(3000)
    batch["seq"] = np.arange(3000)
    batch["value"] = np.arange(3000, dtype=np.float64) / 8
    src.send_many(batch, timeout=TIMEOUT)
    out = sink.receive_many(3000, timeout=TIMEOUT)
    order = np.argsort(out["seq"])
    np.testing.assert_array_equal(out["seq"][order], np.arange(3000))
    np.testing.assert_array_equal(out["value"][order], (np.arange(3000, dtype=np.float64) / 8) ** 2)


def test_k2k_full_inbox_blocks_then_dead_letters_as_peer_full(rt):
    sink = rt.launch(rk.accumulate, LaunchOptions(queue_capacity=4, activate=False))
    src = rt.launch(rk.double, LaunchOptions(queue_capacity=64, peers={"next": sink}, peer_timeout=0.3))
    src.send_many(items(0, 6), timeout=TIMEOUT)
    assert src.lifecycle.wait_for((KernelState.FAILED,), TIMEOUT)
    dead = [d for d in rt.dead_letters if d.destination == src.name]
    assert [(d.reason, d.message.seq, d.code) for d in dead] == [("peer_full:next", 4, -2)]
    sink.activate(timeout=TIMEOUT)
    out = sink.receive_many(4, timeout=TIMEOUT)
    assert list(out["seq"]) == [0, 1, 2, 3]
    np.testing.assert_allclose(out["value"], [2.0, 4.0, 6.0, 8.0])     # running totals of 2.0 each


def test_replies_carry_correlation_ids_and_a_monotonic_hlc(rt):
    k = rt.launch(rk.stamp, LaunchOptions(queue_capacity=256))
    ids = [k.send(rk.Item(seq=i, value=0.0)) for i in range(100)]
    out, hdr = k.receive_many(100, timeout=TIMEOUT, headers=True)
    assert list(out["seq"]) == list(range(100)) and list(hdr["correlation_id"]) == ids
    stamps = list(zip(hdr["hlc_physical"].tolist(), hdr["hlc_logical"].tolist()))
    assert stamps == sorted(stamps) and len(set(stamps)) == 100
    assert all(out["actor"] == k.actor_id)


def test_pool_members_answer_on_their_own_and_restart_alone(rt):
    pool = rt.launch_pool(rk.accumulate, 4, LaunchOptions(queue_capacity=256), name="acc",
                          restart=OneForOne(max_restarts=3, window=60.0))
    assert [h.name for h in pool] == ["acc/0", "acc/1", "acc/2", "acc/3"]
    assert sorted(h.name for h in rt.registry.lookup_pattern("acc/*")) == [h.name for h in pool]
    for i, h in enumerate(pool):
        batch = items(0, 5, value=float(i + 1))
        if i == 2:
            batch["value"][1] = -1.0                       # member 2 fails on its second message
        h.send_many(batch, timeout=TIMEOUT)
    for i, h in enumerate(pool):
        out = h.receive_many(4 if i == 2 else 5, timeout=TIMEOUT)
        want = [3.0, 3.0, 6.0, 9.0] if i == 2 else list(np.cumsum(np.full(5, i + 1.0)))
        np.testing.assert_allclose(out["value"], want)    # member 2's state restarted from zero
    assert [h.restart_count for h in pool] == [0, 0, 1, 0]
    assert [d.destination for d in rt.dead_letters] == ["acc/2"]
    if rt.backend in ("cuda", "cuda-emu"):
        assert pool[0].actor.pool.launches == 1           # one launch; the restart did not relaunch
    assert pool[1].terminate(timeout=TIMEOUT)
    pool[3].send(rk.Item(seq=9, value=1.0))
    assert pool[3].receive(timeout=TIMEOUT).value == pytest.approx(21.0)   # the others run on


def test_pool_size_must_be_positive(rt):
    from ringkernel_runtime.errors import LaunchError
    for bad in (0, -2, 1.5, True):
        with pytest.raises(LaunchError, match="count >= 1"):
            rt.launch_pool(rk.adder, bad)


# -- generated source, checked here ----------------------------------------------------------------
@pytest.mark.parametrize("kernel", RING_KERNELS, ids=lambda k: k.name)
def test_actor_source_compiles_with_nvrtc(kernel):
    from ringkernel_runtime.backends.cuda import compile_cuda
    module = compile_cuda(kernel.cuda_source(), arch="sm_90")
    assert module.image


@pytest.mark.nvcc
@pytest.mark.parametrize("kernel", RING_KERNELS, ids=lambda k: k.name)
def test_actor_source_compiles_with_nvcc(kernel, nvcc, tmp_path):
    cu = tmp_path / f"{kernel.name}.cu"
    cu.write_text(kernel.cuda_source())
    r = subprocess.run([nvcc, "-arch=sm_90", "-std=c++17", "-c", str(cu), "-o", str(tmp_path / "a.o")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("kernel", RING_KERNELS, ids=lambda k: k.name)
def test_mapped_positions_and_commands_are_read_only_through_system_scope_helpers(kernel):
    src = kernel.cuda_source()
    poll = re.search(r"__device__ __forceinline__ T rk_poll_system\(const T\* p\) \{.*?\n\}", src, re.S).group(0)
    assert "ld.relaxed.sys" in poll
    for m in re.finditer(r"->(tail|head|command_seq|command_ack|exit_reason)\b", src):
        line = src[src.rfind("\n", 0, m.start()) + 1:src.find("\n", m.end())]
        # (_gpu: a K2K inbox, in device memory; test_heartbeat.py checks which lane gets which scope)
        assert re.search(r"rk_(poll|publish|store)_(system|gpu)\(&[\w.\[\]>-]*" + m.group(1), line), line
    assert "rk_fence_acquire_system();     // acquire: the host's payload before its tail" in src


@pytest.mark.parametrize("kernel", RING_KERNELS, ids=lambda k: k.name)
def test_actor_source_is_byte_identical_for_identical_input(kernel):
    assert kernel.cuda_source() == kernel.cuda_source()


# -- the host side of the cuda actor, on fake memory ----------------------------------------------
class FakeMemory(cuda_actor.Memory):
    """Plain numpy arrays; the 'device pointer' is the host address."""

    def __init__(self):
        self.owners = []

    def host_array(self, shape, dtype):
        return np.zeros(shape, dtype)

    def device_pointer(self, array):
        return array.ctypes.data

    def device_copy(self, host):
        a = host.copy()
        self.owners.append(a)
        return a, a.ctypes.data

    def copy_to_host(self, owner, host):
        host[...] = owner

    def write_word(self, owner, index, value):
        owner.view(np.uint64)[index] = value


def _actor(kernel=rk.accumulate, **kw):
    state = np.zeros(1, kernel.state_type.dtype if kernel.state_type else np.dtype([("unused", "u8")]))
    return cuda_actor.CudaActor(kernel, 3, 64, state, 1000, 10**9, 32, memory=FakeMemory(), **kw)


def test_descriptor_points_at_the_queues_state_and_peer_inboxes():
    sink, src = _actor(), _actor(rk.double)
    q = sink.k2k_lane
    src.peers = ((q.hdr, q.meta, q.payload, np.zeros(1, q.dtype)),)
    src.fill_descriptor()
    d = src.desc[0]
    assert d["host_hdr"] == src.host_lane.hdr.ctypes.data and d["ctrl"] == src.ctrl.ctypes.data
    assert d["n_peers"] == 1 and d["batch"] == 32
    peer = np.ctypeslib.as_array((ctypes.c_uint64 * 4).from_address(int(d["peers"])))
    assert list(peer) == [*q.pointers, sink.k2k_lock]
    assert q.pointers[0] != q.hdr.ctypes.data          # the inbox lives in (fake) device memory


def test_resume_clears_exit_reason_and_posts_the_activity_then_waits():
    a = _actor()
    a.launched = a._entered = True
    a.ctrl[CB["exit_reason"]] = EXIT_FAILED

    def device():
        while a.ctrl[CB["command_seq"]] == 0:
            time.sleep(1e-4)
        assert a.ctrl[CB["exit_reason"]] == 0 and a.ctrl[CB["command"]] == CMD_RESUME
        assert a.ctrl[CB["state"]] == int(KernelState.DRAINING)      # the activity the block resumes with
        a.ctrl[CB["command_ack"]] = a.ctrl[CB["command_seq"]]
        a.ctrl[CB["exit_reason"]] = 3

    t = threading.Thread(target=device)
    t.start()
    assert a.run_loop(False) == 3
    t.join(TIMEOUT)
    assert a.acked(1) and a.post(CMD_ACTIVATE) == 2


def test_heartbeat_is_host_time_of_the_last_change():
    a = _actor()
    assert a.heartbeat_ns == 0
    a.ctrl[CB["heartbeat_ns"]] = 12345           # device clock: any epoch
    t0 = time.time_ns()
    first = a.heartbeat_ns
    assert first >= t0 and a.heartbeat_ns == first
    a.ctrl[CB["heartbeat_ns"]] = 12346
    assert a.heartbeat_ns >= first


def test_hand_written_handlers_are_refused_with_advice():
    from kernels import adder as njit_adder
    from ringkernel_runtime.errors import LaunchError
    with pytest.raises(LaunchError, match="backend='cpu'"):
        _actor(njit_adder)


def test_device_inbox_is_read_by_copies_and_only_its_head_is_written_back():
    from ringkernel_runtime.errors import LaunchError
    from ringkernel_runtime.layout import QH_HEAD, QH_TAIL
    from ringkernel_runtime.queues import Queue
    mem = FakeMemory()
    q = cuda_actor.DeviceQueue(rk.Item.dtype, 8, rk.Item.type_id, mem)
    gpu = Queue(rk.Item.dtype, 8, rk.Item.type_id)            # a GPU sender's view: the device arrays
    gpu.hdr, gpu.meta, gpu.payload = q.owners
    gpu.rebind()
    assert gpu.push_many(items(0, 5), 100, 0, 0) == 5
    assert q.depth() == 5
    rec, (corr, _phys, _log) = q.pop_one()
    assert rec["seq"][0] == 0 and corr == 100 and gpu.hdr[QH_HEAD] == 1

    real = mem.write_word

    def racing(owner, index, value):                           # a sender publishes between copy and write
        gpu.push_many(items(5, 7), 105, 0, 0)
        real(owner, index, value)

    mem.write_word = racing
    recs, _meta = q.pop_many(8)
    mem.write_word = real
    assert list(recs["seq"]) == [1, 2, 3, 4]
    assert gpu.hdr[QH_TAIL] == 7 and gpu.hdr[QH_HEAD] == 5     # the producer's tail survives
    assert q.depth() == 2 and list(q.pop_many(8)[0]["seq"]) == [5, 6]
    with pytest.raises(LaunchError, match="GPU actors only"):
        q.push_one(items(0, 1)[0], 1, 0, 0)


class _FakeFunction:
    def __init__(self):
        self.calls = []

    def launch(self, grid, block, args, stream=None, cooperative=False):
        self.calls.append((grid, block, args, stream, cooperative))


def test_pool_is_one_launch_of_one_block_per_member_with_their_descriptors():
    members = [_actor() for _ in range(3)]
    fn = _FakeFunction()
    for m in members:
        m.function, m.threads, m.source = fn, 128, "src"
        m._new_stream = lambda: "stream"
    pool = cuda_actor.CudaPool(members)
    members[0].ctrl[CB["exit_reason"]] = 2
    pool.launch(True)
    pool.launch(True)                                          # idempotent
    assert len(fn.calls) == 1 and pool.launches == 1
    grid, block, args, stream, cooperative = fn.calls[0]
    assert (grid, block, stream) == (3, 128, "stream") and args == [("ptr", pool.descs.ctypes.data)]
    assert not cooperative          # the blocks never wait for each other; residency is checked instead
    for i, m in enumerate(members):
        assert pool.descs[i]["ctrl"] == m.ctrl.ctypes.data and pool.descs[i]["host_hdr"] == m.host_lane.hdr.ctypes.data
        assert m.ctrl[CB["state"]] == int(KernelState.ACTIVE) and m.ctrl[CB["exit_reason"]] == 0
        assert m.launched and m.stream.stream == "stream" and m.stream is members[0].stream
    # a member whose loop starts after the pool launched does not post a command: its block is fresh
    m = members[2]
    m.ctrl[CB["exit_reason"]] = 1
    assert m.run_loop(True) == 1 and m.ctrl[CB["command_seq"]] == 0 and len(fn.calls) == 1
    # terminate: a pool member has stopped once its block published EXIT_TERMINATED (others run on)
    resident = m.stream
    m.stream = type("S", (), {"done": lambda self: False})()
    assert m.wait_stopped(0.5)
    resident._stop()                                           # the fake grid "ends": frees resume


def test_frees_wait_while_a_resident_kernel_runs(monkeypatch):
    from ringkernel_runtime.backends import cuda_driver
    # the mechanism alone: no launch of an earlier test counted (a busy emulated actor abandoned by
    # a bounded close stays resident until its handler returns)
    monkeypatch.setattr(cuda_driver, "_resident_count", 0)
    monkeypatch.setattr(cuda_driver, "_deferred_frees", [])
    freed = []

    class Grid:
        finished = False

        def done(self):
            return self.finished

    grid = Grid()
    stream = cuda_actor.ResidentStream(grid)
    cuda_driver._release(lambda: freed.append("a"))
    assert freed == [] and cuda_driver.deferred_frees() == 1
    assert not stream.done()
    grid.finished = True
    assert stream.done() and stream.done()                     # counted once
    assert freed == ["a"] and cuda_driver.deferred_frees() == 0
    cuda_driver._release(lambda: freed.append("b"))            # nothing resident: freed at once
    assert freed == ["a", "b"]


def test_pool_members_share_one_ring_kernel():
    from ringkernel_runtime.errors import LaunchError
    with pytest.raises(LaunchError, match="same ring kernel"):
        cuda_actor.CudaPool([_actor(), _actor(rk.double)])


def test_terminating_a_failed_actor_stops_its_parked_block(rt):
    k = rt.launch(rk.accumulate, LaunchOptions(queue_capacity=64))      # unsupervised: stays FAILED
    k.send(rk.Item(seq=1, value=-1.0))
    assert k.lifecycle.wait_for((KernelState.FAILED,), TIMEOUT)
    assert k.terminate(timeout=TIMEOUT)
    stream = getattr(k.actor, "stream", None)
    assert stream is None or stream.done()                  # a GPU block parked after ctx.fail returned


# -- GPU-only failure modes, on the emulated CUDA actor ---------------------------------------------
def _emu_or_skip():
    if host_emu.compiler() is None:
        pytest.skip("g++ not found")
    return host_emu.emulated_runtime()


def test_watchdog_reports_a_block_that_never_started(monkeypatch):
    with _emu_or_skip() as rt:
        release = threading.Event()

        def queued_forever(self, grid, block, args, stream=None, cooperative=False):
            t = threading.Thread(target=release.wait, daemon=True)   # the launch is queued, never runs
            stream.threads.append(t)
            t.start()

        monkeypatch.setattr(host_emu.EmuFunction, "launch", queued_forever)
        try:
            k = rt.spawn(rk.adder, name="ghost", options=LaunchOptions(stall_timeout=0.3))
            assert k.lifecycle.wait_for((KernelState.FAILED,), TIMEOUT)
            report = next(e.detail for e in rt.supervisor.events if e.kind == "stalled")
            assert "never started" in report and "resident" in report
            assert k.restart_count == 0
        finally:
            release.set()


def test_a_faulted_kernel_is_failed_and_escalated_not_restarted(monkeypatch):
    from ringkernel_codegen.errors import KernelRuntimeError
    with _emu_or_skip() as rt:
        def faulting_launch(self, grid, block, args, stream=None, cooperative=False):
            stream.errors.append(KernelRuntimeError("illegal address (simulated)"))
        monkeypatch.setattr(host_emu.EmuFunction, "launch", faulting_launch)
        k = rt.spawn(rk.adder, name="faulty", restart=OneForOne(max_restarts=5, window=60.0))
        assert k.lifecycle.wait_for((KernelState.FAILED,), TIMEOUT)
        kinds = [e.kind for e in rt.supervisor.events if e.actor == "faulty"]
        assert "fault" in kinds and "escalated" in kinds and "restarted" not in kinds
        assert k.restart_count == 0 and k.escalated
