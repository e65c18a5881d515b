"""Issue #13: actors across processes on Ray (RayRuntime), on the cpu backend.

Every message is counted by sequence number against an independent reference (the list of what
was sent): each is one reply or one dead letter, never both, never neither. Ray runs once for the
session (conftest.py); the tests share two RayRuntimes (two hosting processes each) to stay fast.
"""
import collections
import os
import signal
import time

import numpy as np
import pytest

from conftest import alive

ray = pytest.importorskip("ray")

import ring_kernels as rk  # noqa: E402
from ringkernel_runtime import KernelState, LaunchOptions, OneForOne  # noqa: E402
from ringkernel_runtime.errors import ActorTerminatedError, InvalidOptionsError  # noqa: E402

TIMEOUT = 60.0
SLOW = dict(peer_timeout=30.0, stall_timeout=None, send_timeout=30.0)   # a loaded 2-core box


def items(lo, hi, value=1.0):
    b = rk.Item.zeros(hi - lo)
    b["seq"] = np.arange(lo, hi)
    b["value"] = value
    return b


def drain(handle, want, timeout=TIMEOUT):
    got, n = [], 0
    deadline = time.monotonic() + timeout
    while n < want and time.monotonic() < deadline:
        r = handle.receive_many(want - n, timeout=0.5)
        got.append(r)
        n += len(r)
    return np.concatenate(got) if got else handle.kernel.output_type.zeros(0)


@pytest.fixture(scope="module")
def rt(ray_session):
    from ringkernel_runtime.cluster import RayRuntime
    rt = RayRuntime(backend="cpu", hosts=2)
    yield rt
    rt.close()


def test_cross_process_k2k_keeps_order_and_counts_every_message(rt):
    sink = rt.spawn(rk.accumulate, name="k2k/sink", node=1, options=LaunchOptions(queue_capacity=1 << 16, **SLOW))
    head = rt.launch(rk.double, LaunchOptions(queue_capacity=1 << 14, peers={"next": sink}, **SLOW),
                     name="k2k/head", node=0)
    assert (head.node, sink.node) == (0, 1) and rt.hosts[0] != rt.hosts[1]
    n = 100_000
    before = rt.ledger.accepted
    for i in range(0, n, 8192):
        head.send_many(items(i, min(i + 8192, n)))
    replies = drain(sink, n)
    assert replies["seq"].tolist() == list(range(n))           # every one, once, in the sender's order
    # accumulate replies with the running total of doubled values: 2, 4, 6, ...
    np.testing.assert_allclose(replies["value"], 2.0 * np.arange(1, n + 1))
    assert rt.ledger.accepted - before == n and rt.ledger.open_count == 0
    assert rt.ledger.duplicates == 0 and rt.ledger.unknown == 0
    # they crossed in batches (bounded by max_batch), not message by message
    from ringkernel_runtime.cluster.bridge import DEFAULT_MAX_BATCH
    shipped, batches, largest = rt.bridge_stats(0)["k2k/sink"]
    assert shipped == n and n / DEFAULT_MAX_BATCH <= batches <= n / 64 and largest <= DEFAULT_MAX_BATCH
    assert head.terminate() and sink.terminate()
    assert len(rt.dead_letters) == 0


def test_hlc_stays_causal_across_processes(rt):
    """The driver's clock runs an hour ahead: every clock the message passes (host 0's relay, the
    bridge, host 1's actor) must advance past the stamp it receives, or the reply's HLC would be
    earlier than the send that caused it."""
    from ringkernel_runtime import HLC
    stamp = rt.launch(rk.stamp, LaunchOptions(**SLOW), name="hlc/stamp", node=1)
    head = rt.launch(rk.double, LaunchOptions(peers={"next": stamp}, **SLOW), name="hlc/head", node=0)
    ahead = 3600 * 10**9
    real, rt.hlc = rt.hlc, HLC(0, clock=lambda: time.time_ns() + ahead)
    try:
        sent = rt.hlc.now()
        head.send_many(items(0, 500))
        replies = drain(stamp, 500)
    finally:
        rt.hlc = real
    assert replies["seq"].tolist() == list(range(500))
    assert replies["now"].min() > sent.physical >= time.time_ns() + ahead - 60 * 10**9   # from the future
    assert (np.diff(replies["now"].astype(np.int64)) >= 0).all()            # never back along the path
    head.terminate(), stamp.terminate()


def test_pools_parents_and_kill_tree_across_hosts(rt):
    pool = rt.launch_pool(rk.adder, 3, name="pool/add", node=1)
    assert [h.name for h in pool] == ["pool/add/0", "pool/add/1", "pool/add/2"] and {h.node for h in pool} == {1}
    for i, h in enumerate(pool):
        h.send(rk.Add(a=float(i), b=10.0))
    assert [h.receive(timeout=TIMEOUT).value for h in pool] == [10.0, 11.0, 12.0]
    parent = rt.spawn(rk.accumulate, name="tree/root", node=0)
    kids = [rt.spawn(rk.accumulate, name=f"tree/root/k{i}", parent=parent) for i in range(2)]
    assert {k.node for k in kids} == {0}                         # children share their parent's host
    assert rt.kill_tree(parent) == []
    assert rt.lookup_pattern("tree/**") == [] and rt.lookup_from(1, "tree/**") == []
    with pytest.raises(ActorTerminatedError):
        kids[0].send(rk.Item(seq=0, value=1.0))
    for h in pool:
        assert h.terminate()
    assert rt.lookup_pattern("pool/**") == []


def test_registry_answers_the_same_lookups_from_every_process(rt):
    a = rt.launch(rk.adder, name="reg/a/one", node=0)
    b = rt.launch(rk.adder, name="reg/b/two", node=1)
    c = rt.launch(rk.adder, name="reg/b/three", node=1)
    assert rt.lookup("reg/a/one") is a and rt.lookup("reg/none") is None
    assert rt.lookup_pattern("reg/b/*") == [c, b]               # sorted by name
    want = [("reg/a/one", 0), ("reg/b/three", 1), ("reg/b/two", 1)]
    for node in (0, 1):
        assert rt.lookup_from(node, "reg/**") == want
        assert rt.lookup_from(node, "reg/?/t*") == want[1:]
    b.terminate()
    for node in (0, 1):
        assert rt.lookup_from(node, "reg/b/*") == [("reg/b/three", 1)]
    a.send(rk.Add(a=1.0, b=2.0))
    assert a.receive(timeout=TIMEOUT).value == 3.0
    with pytest.raises(ActorTerminatedError):
        b.send(rk.Add(a=1.0, b=2.0))
    a.terminate(), c.terminate()
    with pytest.raises(InvalidOptionsError, match="gpus_per_host=1"):     # placement by GPU needs GPU hosts
        rt.launch(rk.adder, name="reg/gpu", gpu=0)
    with pytest.raises(InvalidOptionsError, match="node=7"):
        rt.launch(rk.adder, name="reg/far", node=7)


def test_a_killed_hosting_process_its_actors_restart_and_every_message_is_counted(ray_session):
    """Host 1 dies with messages queued in it: its supervised actor restarts on host 0; what it
    held is delivered again (sent to it directly) or dead-lettered with its correlation id (sent
    through the head on host 0); accepted = replies + dead letters, exactly."""
    from ringkernel_runtime.cluster import RayRuntime
    with RayRuntime(backend="cpu", hosts=2) as rt:
        sink = rt.spawn(rk.accumulate, name="chaos/sink", node=1, restart=OneForOne(max_restarts=3, window=60.0),
                        options=LaunchOptions(queue_capacity=1 << 17, **SLOW))
        solo = rt.launch(rk.accumulate, LaunchOptions(queue_capacity=1 << 10, **SLOW), name="chaos/solo", node=1)
        head = rt.spawn(rk.double, name="chaos/head", node=0,
                        options=LaunchOptions(queue_capacity=1 << 15, peers={"next": sink}, **SLOW))
        head.send_many(items(0, 20_000))
        replies = [drain(sink, 20_000)]
        sink.deactivate()                       # from here it queues what it gets: in flight at the kill
        head.send_many(items(20_000, 30_000))
        sink.send_many(items(30_000, 35_000))
        solo.send_many(items(35_000, 35_500))
        assert wait(lambda: sink.stats.queue_depth == 15_000), sink.stats
        os.kill(rt.hosts[1], signal.SIGKILL)
        head.send_many(items(35_500, 45_000))   # sent on while the host is recovered
        replies.append(drain(sink, 45_000 - 500 - 20_000 - 10_000, timeout=TIMEOUT))
        t0 = time.monotonic()
        assert wait(lambda: rt.in_flight() == 0), (
            f"{rt.ledger.open_count} open after {time.monotonic() - t0:.1f}s; "
            f"{sum(map(len, replies))} replies; {vars(rt.ledger)}; {[(e.kind, e.actor) for e in rt.events]}")
        assert sink.node == 0 and sink.restart_count == 1 and sink.state is KernelState.ACTIVE
        assert solo.state is KernelState.FAILED                    # rt.launch: not restarted
        kinds = [(e.kind, e.actor) for e in rt.events]
        assert ("failed", "chaos/sink") in kinds and ("restarted", "chaos/sink") in kinds
        assert ("not_restarted", "chaos/solo") in kinds
        got = np.concatenate(replies)["seq"].tolist()
        letters = list(rt.dead_letters)
        out = collections.Counter(got + [d.message.seq for d in letters])
        assert out == collections.Counter(range(45_000))          # each exactly once
        lost = [d for d in letters if d.reason == "host_lost"]
        # through the head (alive): dead letters; straight to the sink (restarted): delivered again
        assert {d.message.seq for d in lost} == set(range(20_000, 30_000)) | set(range(35_000, 35_500))
        assert set(range(30_000, 35_000)) <= set(got) and rt.redelivered == 5_000
        # a dead letter carries the correlation id the message was accepted with
        assert len({d.correlation_id for d in letters}) == len(letters) and all(d.correlation_id for d in letters)
        assert rt.ledger.accepted == rt.ledger.replies + rt.ledger.dead_letters == 45_000
        assert rt.ledger.duplicates == 0
        dead_pid = rt.hosts[1]
    # close() stopped every hosting process; it did not start Ray, so it leaves Ray running
    assert not alive(dead_pid) and wait(lambda: not any(alive(p) for p in rt.hosts), 20.0)
    assert ray_session.is_initialized()


def wait(pred, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_the_cluster_pipeline_example_survives_a_killed_stage_and_checks_its_totals(ray_session):
    """examples/cluster_pipeline.py, run as a user would (its own process), on this session's Ray."""
    import re
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    n = 30_000
    env = dict(os.environ, RAY_ADDRESS=ray_session.get_runtime_context().gcs_address,
               PYTHONPATH=os.pathsep.join([root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run([sys.executable, os.path.join(root, "examples", "cluster_pipeline.py"), "--n", str(n)],
                          capture_output=True, text=True, timeout=180, env=env, cwd=os.path.dirname(root))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.splitlines()[-1] == "OK"
    assert "pipe/offset on host 1" in out and "pipe/total on host 1" in out.split("\n")[0]
    assert "pipe/offset on host 0 (restarts 1), pipe/total on host 0 (restarts 1)" in out
    m = re.search(r"readings sent (\d+), accepted (\d+) = replies (\d+) \+ dead letters (\d+)", out)
    assert m and int(m.group(1)) == int(m.group(2)) == n and int(m.group(3)) + int(m.group(4)) == n
