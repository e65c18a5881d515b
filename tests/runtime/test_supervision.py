"""Supervision with real actors: ctx.fail, dead letters, restarts, escalation, K2K, watchdog."""
import time

import numpy as np
import pytest

from kernels import Seq, counter, forwarder, sleeper
from ringkernel_runtime import (KernelState, LaunchOptions, MessageTypeError, OneForAll, OneForOne,
                                RestForOne, Runtime, Temporary, UnknownPeerError)
from ringkernel_runtime.queues import wait_until


@pytest.fixture
def rt():
    with Runtime(backend="cpu") as r:
        yield r


def batch(lo, hi, fail_at=()):
    b = Seq.zeros(hi - lo)
    b["seq"] = np.arange(lo, hi)
    for f in fail_at:
        b["fail"][f - lo] = 7
    return b


def test_fail_dead_letters_the_message_and_restart_continues_with_the_next(rt):
    k = rt.spawn(counter, name="w/1", restart=OneForOne(max_restarts=3, window=60.0))
    k.send_many(batch(0, 10, fail_at=[4]))
    out = k.receive_many(9, timeout=2.0)
    assert list(out["seq"]) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert list(out["count"]) == [1, 2, 3, 4, 1, 2, 3, 4, 5]       # state reset on restart
    assert k.restart_count == 1 and k.state == KernelState.ACTIVE
    (dl,) = rt.dead_letters.by_reason("failed")
    assert (dl.message.seq, dl.code, dl.destination) == (4, 7, "w/1")
    assert dl.time <= time.time()


def test_more_than_max_restarts_in_window_escalates_and_tells_the_parent(rt):
    parent = rt.spawn(counter, name="sup")
    k = rt.spawn(counter, name="sup/child", restart=OneForOne(max_restarts=2, window=60.0), parent=parent)
    k.send_many(batch(0, 6, fail_at=[1, 2, 3]))
    assert wait_until(lambda: k.state == KernelState.FAILED and k.escalated, 3.0)
    assert k.restart_count == 2
    assert parent.escalations and parent.escalations[0][1] == "sup/child"
    assert len(rt.dead_letters.by_reason("failed")) == 3


def test_temporary_actor_stays_failed(rt):
    k = rt.spawn(counter, name="tmp", restart=Temporary())
    k.send(Seq(seq=0, fail=1))
    assert wait_until(lambda: k.state == KernelState.FAILED, 2.0)
    assert k.restart_count == 0


def test_one_for_all_restarts_siblings(rt):
    a = rt.spawn(counter, name="g/a", restart=OneForAll())
    b = rt.spawn(counter, name="g/b", restart=OneForAll())
    b.send_many(batch(0, 3))
    b.receive_many(3, timeout=1.0)
    a.send(Seq(seq=0, fail=3))
    assert wait_until(lambda: a.restart_count == 1 and b.restart_count == 1, 2.0)
    assert b.read_state().count == 0


def test_rest_for_one_restarts_only_later_siblings(rt):
    a = rt.spawn(counter, name="r/a", restart=RestForOne())
    b = rt.spawn(counter, name="r/b", restart=RestForOne())
    c = rt.spawn(counter, name="r/c", restart=RestForOne())
    b.send(Seq(seq=0, fail=3))
    assert wait_until(lambda: b.restart_count == 1 and c.restart_count == 1, 2.0)
    time.sleep(0.05)
    assert a.restart_count == 0


def test_registry_and_kill_tree(rt):
    root = rt.spawn(counter, name="tree")
    kids = [rt.spawn(counter, name=f"tree/{i}", parent=root) for i in range(2)]
    grandkid = rt.spawn(counter, name="tree/0/x", parent=kids[0])
    assert rt.registry.lookup("tree/1") is kids[1]
    assert rt.registry.lookup_pattern("tree/*") == kids
    assert rt.registry.lookup_pattern("tree/**") == [kids[0], grandkid, kids[1]]
    rt.kill_tree(root)
    assert all(h.state == KernelState.TERMINATED for h in [root, grandkid, *kids])
    assert rt.registry.lookup_pattern("tree**") == []


def test_k2k_forwarding_100k_messages_with_backpressure(rt):
    sink = rt.launch(counter, LaunchOptions(queue_capacity=64))
    fwd = rt.launch(forwarder, LaunchOptions(queue_capacity=64, peers={"next": sink}, peer_timeout=5.0))
    n, got = 100_000, []
    sent = 0
    deadline = time.time() + 30
    while (sent < n or sum(map(len, got)) < n) and time.time() < deadline:
        if sent < n:
            k = min(64, n - sent)
            fwd.send_many(batch(sent, sent + k), timeout=5.0)
            sent += k
        got.append(sink.receive_many(n, timeout=0.0 if sent < n else 0.2))
    out = np.concatenate(got)
    np.testing.assert_array_equal(out["seq"], np.arange(n))
    assert sink.read_state().count == n


def test_k2k_send_to_a_stopped_peer_fails_after_the_peer_timeout(rt):
    sink = rt.launch(counter, LaunchOptions(queue_capacity=4, activate=False))
    fwd = rt.spawn(forwarder, name="f", restart=Temporary(),
                   options=LaunchOptions(peers={"next": sink}, peer_timeout=0.1))
    fwd.send_many(batch(0, 6))
    assert wait_until(lambda: fwd.state == KernelState.FAILED, 3.0)
    (dl,) = rt.dead_letters.by_reason("peer_full:next")
    assert dl.message.seq == 4


def test_unknown_or_missing_peer_names_are_errors(rt):
    sink = rt.launch(counter)
    with pytest.raises(UnknownPeerError, match="declared peers: next"):
        rt.launch(forwarder, LaunchOptions(peers={"nxt": sink}))
    with pytest.raises(UnknownPeerError, match="does not wire"):
        rt.launch(forwarder, LaunchOptions(peers={}))
    with pytest.raises(MessageTypeError):
        from kernels import adder
        rt.launch(forwarder, LaunchOptions(peers={"next": rt.launch(adder)}))


def test_watchdog_fails_a_stalled_actor(rt):
    k = rt.spawn(sleeper, name="slow", options=LaunchOptions(stall_timeout=0.2))
    k.send(Seq(seq=1))
    assert k.receive(timeout=2.0).seq == 1
    corr = k.send(Seq(seq=int(0.8e9)))               # handler busy for 0.8 s
    assert wait_until(lambda: k.state == KernelState.FAILED, 2.0)
    report = next(e.detail for e in rt.supervisor.events if e.kind == "stalled")
    assert "last reported state ACTIVE" in report and f"handling correlation id {corr} after 1 messages in" in report
    assert k.terminate(timeout=3.0)                  # the loop exits once the handler returns
