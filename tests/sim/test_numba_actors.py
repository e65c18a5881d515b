"""The numba.cuda actor loop (Runtime(backend="numba")) run in numba's CUDA simulator.

The simulated kernel runs on its own Python thread over the same numpy memory the host side uses,
so the whole protocol is exercised: batches, replies, commands, parking after ctx.fail, restart
without relaunch, dead letters, K2K sends with backpressure. References are NumPy or hand values.
The simulator runs one kernel at a time: one actor per test (K2K sends are checked with a host-made
inbox). Sizes are small: one Python thread per CUDA thread (8 per block here).
"""
import os
import threading
import time

import numpy as np
import pytest

pytestmark = pytest.mark.sim

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("run through tests/test_sim.py (needs NUMBA_ENABLE_CUDASIM=1 at import)", allow_module_level=True)

# tests/runtime's modules (ring_kernels, test_gpu_actors) come from PYTHONPATH, which tests/test_sim.py
# sets for its simulator process (run by hand: PYTHONPATH=tests/runtime NUMBA_ENABLE_CUDASIM=1 pytest tests/sim)
import ring_kernels as rk  # noqa: E402
# the behaviour tests small enough for the simulator run as they are, with this module's `rt`
from test_gpu_actors import items  # noqa: E402
from test_gpu_actors import (test_deactivate_holds_messages_until_activate,  # noqa: E402,F401
                             test_parallel_handler_fail_restarts_and_keeps_order,
                             test_replies_carry_correlation_ids_and_a_monotonic_hlc,
                             test_terminate_under_load_loses_nothing,
                             test_terminating_a_failed_actor_stops_its_parked_block)
from ringkernel_runtime import KernelState, LaunchOptions, OneForOne, Runtime  # noqa: E402
from ringkernel_runtime import actor_abi as abi  # noqa: E402
from ringkernel_runtime.backends import numba_actor  # noqa: E402
from ringkernel_runtime.errors import LaunchError  # noqa: E402
from ringkernel_runtime.layout import CB  # noqa: E402
from ringkernel_runtime.lifecycle import (CMD_ACTIVATE, CMD_RESUME, CMD_TERMINATE, EXIT_FAILED,  # noqa: E402
                                          EXIT_TERMINATED)

TIMEOUT = 20.0


@pytest.fixture
def rt():
    with Runtime(backend="numba") as runtime:
        assert runtime.backend == "numba"
        yield runtime


def test_adder_round_trip_and_batch_match_numpy(rt):
    k = rt.launch(rk.adder, LaunchOptions(queue_capacity=64))
    k.send(rk.Add(a=1.5, b=2.25))
    assert k.receive(timeout=TIMEOUT).value == 3.75
    batch = rk.Add.zeros(40)
    rng = np.random.default_rng(3)
    batch["a"] = rng.standard_normal(40).astype(np.float32)
    batch["b"] = rng.standard_normal(40).astype(np.float32)
    k.send_many(batch, timeout=TIMEOUT)
    out = k.receive_many(40, timeout=TIMEOUT)
    np.testing.assert_array_equal(out["value"], batch["a"] + batch["b"])
    assert k.stats.messages_in == 41 and k.stats.messages_out == 41


def test_state_persists_from_launch_options_and_is_written_back(rt):
    k = rt.launch(rk.accumulate, LaunchOptions(queue_capacity=64, state=rk.Totals(count=10, total=100.0)))
    values = np.arange(1, 31, dtype=np.float64)
    batch = items(0, 30)
    batch["value"] = values
    k.send_many(batch, timeout=TIMEOUT)
    out = k.receive_many(30, timeout=TIMEOUT)
    np.testing.assert_array_equal(out["seq"], np.arange(30))
    np.testing.assert_allclose(out["value"], 100.0 + np.cumsum(values))
    st = k.read_state()
    assert st.count == 40 and st.total == pytest.approx(100.0 + values.sum())


def test_fail_dead_letters_the_message_and_restart_resets_state_without_relaunch(rt):
    k = rt.spawn(rk.accumulate, name="acc", restart=OneForOne(max_restarts=3, window=60.0),
                 options=LaunchOptions(queue_capacity=64))
    launches = []
    original = k.actor._launch
    k.actor._launch = lambda active: (launches.append(active), original(active))[1]
    batch = items(0, 10)
    batch["value"][4] = -1.0
    k.send_many(batch, timeout=TIMEOUT)
    out = k.receive_many(9, timeout=TIMEOUT)
    assert list(out["seq"]) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    np.testing.assert_allclose(out["value"], [1, 2, 3, 4, 1, 2, 3, 4, 5])   # state reset after restart
    assert k.restart_count == 1 and len(rt.dead_letters) == 1
    dead = rt.dead_letters[0]
    assert dead.reason == "failed" and dead.message.seq == 4 and dead.code == 42
    assert launches == []                     # the parked block resumed: no second launch


def test_messages_without_a_reply_are_counted_not_answered(rt):
    k = rt.launch(rk.evens_only, LaunchOptions(queue_capacity=64))
    k.send_many(items(0, 20), timeout=TIMEOUT)
    out = k.receive_many(10, timeout=TIMEOUT)
    assert list(out["seq"]) == list(range(0, 20, 2))
    deadline = time.monotonic() + TIMEOUT
    while k.stats.messages_in < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert k.stats.messages_in == 20 and k.stats.messages_out == 10


def test_a_second_simulated_kernel_is_refused_clearly(rt):
    rt.launch(rk.adder, LaunchOptions(queue_capacity=64))
    with pytest.raises(LaunchError, match="one kernel at a time"):
        rt.launch(rk.adder, LaunchOptions(queue_capacity=64))


def _gpu_sender(inbox):
    """What a GPU peer writes: a Queue over the inbox's device arrays (the simulator's "device")."""
    from ringkernel_runtime.queues import Queue
    g = Queue(inbox.dtype, inbox.capacity, inbox.type_id)
    g.hdr, g.meta, g.payload = (a._ary for a in inbox.owners)
    g.rebind()
    return g


def test_k2k_inbox_in_device_memory_failure_is_dead_lettered_and_leftovers_on_terminate(rt):
    k = rt.spawn(rk.accumulate, name="acc", restart=OneForOne(max_restarts=3, window=60.0),
                 options=LaunchOptions(queue_capacity=64))
    sender = _gpu_sender(k.actor.k2k_lane)
    batch = items(0, 6)
    batch["value"][2] = -1.0
    assert sender.push_many(batch, 500, 0, 0, source=9) == 6
    out = k.receive_many(5, timeout=TIMEOUT)
    assert list(out["seq"]) == [0, 1, 3, 4, 5]
    dead = rt.dead_letters[0]
    assert dead.reason == "failed" and dead.message.seq == 2 and dead.correlation_id == 502
    k.deactivate(timeout=TIMEOUT)                       # hold the next ones in the inbox
    assert sender.push_many(items(10, 13), 600, 0, 0) == 3
    assert k.actor.k2k_lane.depth() == 3
    assert k.terminate(timeout=TIMEOUT)
    left = sorted(d.message.seq for d in rt.dead_letters if d.reason == "terminated")
    assert left == [10, 11, 12] and k.actor.k2k_lane.depth() == 0


# -- K2K sends from the numba handler, into an inbox the host made ---------------------------------
def _double_actor(inbox_capacity, peer_timeout_ns):
    """`double` as a bare NumbaActor whose peer is a device-memory inbox the host reads by copies."""
    from ringkernel_runtime.backends.cuda_actor import DeviceQueue
    mem = numba_actor.NumbaMemory()
    inbox = DeviceQueue(rk.Item.dtype, inbox_capacity, rk.Item.type_id, mem)
    lock_owner, _ = mem.device_zeros(128)
    numba_actor._inboxes[numba_actor._address(inbox.hdr)] = (*inbox.owners, lock_owner)
    state = np.zeros(1, abi.NO_STATE_DTYPE)
    actor = numba_actor.NumbaActor(rk.double, 5, 64, state, 1000, peer_timeout_ns, 16)
    actor.peers = ((inbox.hdr, inbox.meta, inbox.payload, np.zeros(1, inbox.dtype)),)
    actor.compile()
    return actor, inbox


def _run(actor):
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("exit", actor.run_loop(True)), daemon=True)
    t.start()
    return t, result


def test_k2k_send_fills_the_peer_inbox_in_order_with_headers():
    actor, inbox = _double_actor(64, 10**9)
    t, result = _run(actor)
    try:
        assert actor.host_lane.push_many(items(0, 12, 1.5), 100, 0, 0) == 12
        deadline = time.monotonic() + TIMEOUT
        while inbox.depth() < 12 and time.monotonic() < deadline:
            time.sleep(0.01)
        recs, hdrs = inbox.pop_many(64)
        assert list(recs["seq"]) == list(range(12))
        np.testing.assert_array_equal(recs["value"], np.full(12, 3.0))
        assert list(hdrs["correlation_id"]) == list(range(100, 112))     # the message's correlation id
        assert all(hdrs["source"] == 5) and all(hdrs["type_id"] == rk.Item.type_id)
    finally:
        seq = actor.post(CMD_TERMINATE)
        t.join(TIMEOUT)
        assert actor.wait_stopped(TIMEOUT)                  # the block returned: the simulator is free
    assert actor.acked(seq) and result["exit"] == EXIT_TERMINATED


def test_k2k_full_inbox_backpressure_then_fails_after_the_peer_timeout():
    actor, inbox = _double_actor(4, 200_000_000)            # 4 slots, 0.2 s peer timeout
    t, result = _run(actor)
    try:
        actor.host_lane.push_many(items(0, 6), 0, 0, 0)
        t.join(TIMEOUT)                                        # the 5th send gives up: the loop parks
        deadline = time.monotonic() + TIMEOUT
        while "exit" not in result and time.monotonic() < deadline:
            time.sleep(0.01)
        assert result["exit"] == EXIT_FAILED
        assert inbox.depth() == 4 and list(inbox.pop_many(8)[0]["seq"]) == [0, 1, 2, 3]
        assert actor.ctx[abi.CTX_FAIL_CODE] == abi.FAIL_PEER_FULL and actor.ctx[abi.CTX_FAIL_PEER] == 0
        assert actor.fail_lane() is actor.host_lane
        rec, _hdr = actor.host_lane.pop_one()                # the failed message stayed at the head
        assert rec["seq"][0] == 4
        # resume: the parked block continues with message 5 (the inbox has room again)
        actor.ctrl[CB["exit_reason"]] = 0
        actor.ctrl[CB["state"]] = int(KernelState.ACTIVE)
        seq = actor.post(CMD_ACTIVATE)                     # a parked block only acks activate ...
        deadline = time.monotonic() + TIMEOUT
        while not actor.acked(seq) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        assert actor.acked(seq) and inbox.depth() == 0       # ... and stays parked
        seq = actor.post(CMD_RESUME)                       # what the actor's host thread posts
        deadline = time.monotonic() + TIMEOUT
        while inbox.depth() < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert actor.acked(seq) and list(inbox.pop_many(8)[0]["seq"]) == [5]
        seq = actor.post(CMD_TERMINATE)
        deadline = time.monotonic() + TIMEOUT
        while not actor.acked(seq) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert actor.acked(seq)
    finally:
        actor.post(CMD_TERMINATE)
        assert actor.wait_stopped(TIMEOUT)


# -- the heartbeat through long batches (issue #16 item 5; the CUDA C++ loop: test_heartbeat.py) ----
def _work(n, loops=0, sends=0):
    b = rk.Work.zeros(n)
    b["seq"] = np.arange(n)
    b["loops"], b["sends"], b["value"] = loops, sends, 1.0
    return b


def _beats_inside(ctrl, stop, seen):
    """Heartbeat values seen from inside a batch: once its first handler call began (the loop
    stores last_correlation per message) and before messages_in (published per batch) moved."""
    corr, before = int(ctrl[CB["last_correlation"]]), int(ctrl[CB["messages_in"]])
    while not stop.is_set():
        beat = int(ctrl[CB["heartbeat_ns"]])
        if int(ctrl[CB["last_correlation"]]) != corr and int(ctrl[CB["messages_in"]]) == before:
            seen.add(beat)
        time.sleep(0.005)


def _seconds_per_loop(rt):
    """The simulator's speed here (watchdog off): a dawdle message of 200000 arithmetic steps
    against an empty one (the round trip's own cost), the best of three each."""
    k = rt.launch(rk.dawdle, LaunchOptions(queue_capacity=64, stall_timeout=None))

    def round_trip(loops):
        best = float("inf")
        for _ in range(3):
            t0 = time.monotonic()
            k.send(rk.Work(seq=loops, loops=loops))
            assert k.receive(timeout=TIMEOUT * 3).seq == loops
            best = min(best, time.monotonic() - t0)
        return best

    per = max(round_trip(200_000) - round_trip(0), 1e-3) / 200_000
    assert k.terminate(timeout=TIMEOUT)
    return per


def test_a_batch_longer_than_the_stall_timeout_beats_per_message(rt):
    # margins for a loaded 2-core CI machine, where the speed measured first can be off by 2x:
    # each message ~0.05 s (a beat at least that often, 6x under the stall timeout), 16 of them in
    # one batch (~0.8 s, well over it)
    loops = max(1000, int(0.05 / _seconds_per_loop(rt)))
    stall, n = 0.3, 16
    k = rt.spawn(rk.dawdle, name="dawdle", options=LaunchOptions(queue_capacity=64, stall_timeout=stall))
    k.send(rk.Work(seq=-1))
    assert k.receive(timeout=TIMEOUT).seq == -1
    stop, seen = threading.Event(), set()
    watch = threading.Thread(target=_beats_inside, args=(k.actor.ctrl, stop, seen), daemon=True)
    watch.start()
    t0 = time.monotonic()
    k.send_many(_work(n, loops=loops), timeout=TIMEOUT)         # one batch, handled in order
    out = k.receive_many(n, timeout=TIMEOUT * 3)
    took = time.monotonic() - t0
    stop.set()
    watch.join(TIMEOUT)
    assert list(out["seq"]) == list(range(n))
    assert took > stall                                          # the batch did outlast the timeout
    assert k.state == KernelState.ACTIVE and not [e for e in rt.supervisor.events if e.kind == "stalled"]
    assert len(seen) >= 3, seen                                  # beats from inside the batch


def test_a_long_run_of_k2k_sends_in_one_handler_call_beats():
    from ringkernel_runtime.backends.cuda_actor import DeviceQueue
    mem = numba_actor.NumbaMemory()
    inbox = DeviceQueue(rk.Item.dtype, 64, rk.Item.type_id, mem)
    lock_owner, _ = mem.device_zeros(128)
    numba_actor._inboxes[numba_actor._address(inbox.hdr)] = (*inbox.owners, lock_owner)
    actor = numba_actor.NumbaActor(rk.dawdle_fan_out, 5, 64, np.zeros(1, abi.NO_STATE_DTYPE), 1000, 10**9, 16)
    actor.peers = ((inbox.hdr, inbox.meta, inbox.payload, np.zeros(1, inbox.dtype)),)
    actor.compile()
    t, result = _run(actor)
    stop, seen = threading.Event(), set()
    try:
        deadline = time.monotonic() + TIMEOUT
        while int(actor.ctrl[CB["heartbeat_ns"]]) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)                                     # resident
        watch = threading.Thread(target=_beats_inside, args=(actor.ctrl, stop, seen), daemon=True)
        watch.start()
        # one handler call: 8 sends, each after 300000 steps of arithmetic (~45 ms here; the
        # watchdog is the host's, so here the heartbeat word itself is watched)
        assert actor.host_lane.push_many(_work(1, loops=300_000, sends=8), 100, 0, 0) == 1
        deadline = time.monotonic() + TIMEOUT * 3
        while inbox.depth() < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        watch.join(TIMEOUT)
        recs, _hdrs = inbox.pop_many(64)
        assert list(recs["seq"]) == list(range(8))
        assert len(seen) >= 3, seen                              # beats while the handler sent
    finally:
        stop.set()
        actor.post(CMD_TERMINATE)
        t.join(TIMEOUT)
        assert actor.wait_stopped(TIMEOUT)
