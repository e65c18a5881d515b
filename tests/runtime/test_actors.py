"""CPU backend actors: round trips, batches, lifecycle, backpressure, malformed input.

Every wait is bounded by a timeout; sequence numbers prove nothing is lost or duplicated.
"""
import asyncio
import threading
import time

import numpy as np
import pytest

from kernels import Add, Counter, Other, Seq, SeqReply, Sum, adder, counter
from ringkernel_codegen.errors import BackendUnavailableError
from ringkernel_runtime import (ActorTerminatedError, KernelState, LaunchOptions, MessageTypeError,
                                QueueFullError, ReceiveTimeout, RingKernelError, Runtime)


@pytest.fixture
def rt():
    with Runtime(backend="cpu") as r:
        yield r


def seqs(lo, hi, producer=0):
    b = Seq.zeros(hi - lo)
    b["seq"] = np.arange(lo, hi)
    b["producer"] = producer
    return b


def test_adder_round_trip(rt):
    k = rt.launch(adder, LaunchOptions(queue_capacity=64))
    assert k.state == KernelState.ACTIVE
    k.send(Add(a=1.0, b=2.0))
    assert k.receive(timeout=1.0).value == 3.0


def test_send_many_receive_many_keeps_order(rt):
    k = rt.launch(adder, LaunchOptions(queue_capacity=1024))   # replies wait in the reply queue
    b = Add.zeros(1000)
    b["a"] = np.arange(1000)
    b["b"] = 0.5
    assert k.send_many(b, timeout=2.0) == 1000
    out = k.receive_many(1000, timeout=2.0)
    np.testing.assert_array_equal(out["value"], np.arange(1000, dtype=np.float32) + 0.5)


def test_state_persists_and_starts_from_launch_options(rt):
    k = rt.launch(counter, LaunchOptions(state=Counter(count=10, total=0.0)))
    k.send_many(seqs(0, 5))
    assert list(k.receive_many(5, timeout=1.0)["count"]) == [11, 12, 13, 14, 15]
    st = k.read_state()
    assert (st.count, st.total) == (15, 10.0)


def test_100k_messages_from_three_producers_none_lost_or_duplicated(rt):
    k = rt.launch(counter, LaunchOptions(queue_capacity=4096, send_timeout=10.0))
    per, producers = 40_000, 3
    errors = []

    def produce(p):
        try:
            for lo in range(0, per, 1000):
                k.send_many(seqs(lo, lo + 1000, p), timeout=10.0)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for t in threads:
        t.start()
    got, deadline = [], time.time() + 30
    while sum(map(len, got)) < per * producers and time.time() < deadline:
        got.append(k.receive_many(per * producers - sum(map(len, got)), timeout=0.2))
    for t in threads:
        t.join(10)
    assert not errors
    out = np.concatenate(got)
    assert len(out) == per * producers
    for p in range(producers):
        mine = out["seq"][out["producer"] == p]
        np.testing.assert_array_equal(mine, np.arange(per))     # per-producer FIFO, no gaps, no dups
    assert list(out["count"]) == list(range(1, per * producers + 1))


def test_replies_carry_causally_ordered_hlc_and_correlation_ids(rt):
    k = rt.launch(counter)
    sent = rt.hlc.peek()
    corr = [k.send(Seq(seq=i)) for i in range(50)]
    out, meta = k.receive_many(50, timeout=1.0, headers=True)
    assert list(meta["correlation_id"]) == corr
    stamps = list(zip(out["hlc_physical"], out["hlc_logical"]))
    assert stamps == sorted(stamps) and len(set(stamps)) == 50
    assert stamps[0] > (sent.physical, sent.logical)
    after = rt.hlc.now()
    assert (after.physical, after.logical) > tuple(meta[["hlc_physical", "hlc_logical"]][-1].tolist())


def test_deactivate_holds_messages_and_activate_delivers_them(rt):
    k = rt.launch(counter)
    k.deactivate()
    assert k.state == KernelState.DRAINING
    k.send_many(seqs(0, 100))
    assert len(k.receive_many(100, timeout=0.1)) == 0
    assert k.stats.queue_depth == 100
    k.activate()
    assert list(k.receive_many(100, timeout=2.0)["seq"]) == list(range(100))


def test_receive_timeout_is_a_builtin_timeout_error(rt):
    k = rt.launch(adder)
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError) as ei:
        k.receive(timeout=0.05)
    assert isinstance(ei.value, ReceiveTimeout) and time.perf_counter() - t0 < 1.0
    assert len(k.receive_many(10, timeout=0.05)) == 0


def test_full_queue_blocks_then_raises_queue_full(rt):
    k = rt.launch(counter, LaunchOptions(queue_capacity=16, activate=False))
    k.send_many(seqs(0, 16))
    t0 = time.perf_counter()
    with pytest.raises(QueueFullError):
        k.send(Seq(seq=16), timeout=0.1)
    assert 0.09 < time.perf_counter() - t0 < 2.0


def test_blocked_send_proceeds_when_the_actor_drains(rt):
    k = rt.launch(counter, LaunchOptions(queue_capacity=16, activate=False))
    k.send_many(seqs(0, 16))
    threading.Timer(0.1, k.activate).start()
    k.send_many(seqs(16, 32), timeout=3.0)     # 16 replies + 16 waiting inputs fill both queues
    assert list(k.receive_many(32, timeout=3.0)["seq"]) == list(range(32))


def test_overflow_error_and_dead_letter_policies(rt):
    e = rt.launch(counter, LaunchOptions(queue_capacity=4, activate=False, overflow="error"))
    e.send_many(seqs(0, 4))
    with pytest.raises(QueueFullError):
        e.send(Seq(seq=4))
    d = rt.launch(counter, LaunchOptions(queue_capacity=4, activate=False, overflow="dead_letter"))
    d.send_many(seqs(0, 6))
    full = rt.dead_letters.by_reason("queue_full")
    assert [x.message.seq for x in full] == [4, 5] and full[0].destination == d.name


def test_terminate_under_load_accounts_for_every_message(rt):
    k = rt.launch(counter, LaunchOptions(queue_capacity=1024))
    sent, stop = [], threading.Event()

    def produce():
        i = 0
        while not stop.is_set():
            try:
                k.send(Seq(seq=i), timeout=1.0)
            except ActorTerminatedError:
                return
            sent.append(i)
            i += 1

    t = threading.Thread(target=produce)
    t.start()
    time.sleep(0.2)
    t0 = time.perf_counter()
    assert k.terminate(timeout=2.0)
    assert time.perf_counter() - t0 < 1.0
    stop.set()
    t.join(5)
    assert k.state == KernelState.TERMINATED
    replies = k.receive_many(len(sent), timeout=0.1)
    dead = [d.message.seq for d in rt.dead_letters.by_reason("terminated")]
    assert sorted(list(replies["seq"]) + dead) == sent
    with pytest.raises(ActorTerminatedError):
        k.send(Seq(seq=-1))


def test_malformed_input_gives_actionable_errors(rt):
    k = rt.launch(adder)
    with pytest.raises(MessageTypeError, match="takes Add messages.*Add\\(a=..., b=...\\)"):
        k.send(Other(x=1))
    with pytest.raises(MessageTypeError, match="Add.zeros"):
        k.send_many(np.zeros(4, dtype=[("a", "f8"), ("b", "f8")]))
    assert isinstance(MessageTypeError("x"), RingKernelError)


def test_async_send_and_receive(rt):
    k = rt.launch(adder)

    async def go():
        await k.send_async(Add(a=2.0, b=3.0))
        return await k.receive_async(timeout=1.0)
    assert asyncio.run(go()).value == 5.0


def test_stats_count_messages(rt):
    k = rt.launch(adder)
    k.send_many(Add.zeros(10))
    k.receive_many(10, timeout=1.0)
    s = k.stats
    assert (s.messages_in, s.messages_out, s.queue_depth, s.restarts) == (10, 10, 0, 0)
    assert abs(s.last_heartbeat - time.time()) < 2.0


def test_idle_actor_does_not_burn_a_core(rt):
    rt.launch(adder, LaunchOptions(spin_us=100))
    time.sleep(0.05)
    c0, t0 = time.process_time(), time.perf_counter()
    time.sleep(0.3)
    assert (time.process_time() - c0) / (time.perf_counter() - t0) < 0.3


def test_cuda_backend_absent_is_a_clear_error():
    try:
        Runtime(backend="cuda").close()
    except BackendUnavailableError as exc:
        assert "cpu" in str(exc)
    with Runtime(backend="auto") as r:
        assert r.backend in ("cpu", "cuda")


def test_unused_reply_types_are_exported():
    assert Sum.dtype.names == ("value",) and SeqReply.dtype.itemsize == 64
