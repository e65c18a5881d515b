"""A four-stage pipeline over two processes on a local Ray instance, one of which is killed half way.

    host 0: parse -> scale  ==bridge==>  host 1: offset -> total

Half way through, host 1's process is killed (SIGKILL). Its two stages are counted failed and,
being supervised (OneForOne), restarted on host 0; the bridge from `scale` is rerouted and ships
what it still held. The messages that were inside host 1 when it died are dead-lettered with their
correlation ids ("host_lost"). At the end every reading is checked: one reply (with the value
NumPy computes) or one dead letter, never both, never neither.

    pip install "ringkernel[ray]"
    python examples/cluster_pipeline.py [--n 200000]

On several machines: `ray start --head` on one, `ray start --address=<head>:6379` on the others,
then the same script with RAY_ADDRESS=<head>:6379 (hosts are then placed across the nodes).
"""
import argparse
import collections
import os
import signal
import time

import numpy as np

from ringkernel_codegen import f64, i64, message, ring_kernel
from ringkernel_codegen.progress import heartbeat
from ringkernel_runtime import LaunchOptions, OneForOne


@message
class Reading:
    seq: i64
    value: f64


@message
class Count:
    n: i64


@ring_kernel(input=Reading, peers={"next": Reading})
def parse(ctx, msg: Reading):
    ctx.send("next", Reading(seq=msg.seq, value=msg.value))


@ring_kernel(input=Reading, peers={"next": Reading})
def scale(ctx, msg: Reading):
    ctx.send("next", Reading(seq=msg.seq, value=msg.value * 2.0))


@ring_kernel(input=Reading, peers={"next": Reading})
def offset(ctx, msg: Reading):
    ctx.send("next", Reading(seq=msg.seq, value=msg.value + 1.0))


@ring_kernel(input=Reading, output=Reading, state=Count)
def total(ctx, msg: Reading) -> Reading:
    ctx.state.n += 1
    return Reading(seq=msg.seq, value=msg.value)


def main() -> None:
    from ringkernel_runtime.cluster import RayRuntime
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    n = ap.parse_args().n
    hb = heartbeat("cluster_pipeline")
    rng = np.random.default_rng(7)
    readings = Reading.zeros(n)
    readings["seq"] = np.arange(n)
    readings["value"] = rng.random(n)
    slow = dict(peer_timeout=30.0, stall_timeout=None, send_timeout=30.0, queue_capacity=1 << 16)
    local = {} if os.environ.get("RAY_ADDRESS") else {"num_cpus": 2}     # a local Ray instance, bounded
    with RayRuntime(backend="cpu", hosts=2, ray_init=local) as rt:
        sup = OneForOne(max_restarts=3, window=60.0)
        s4 = rt.spawn(total, name="pipe/total", node=1, restart=sup, options=LaunchOptions(**slow))
        s3 = rt.spawn(offset, name="pipe/offset", node=1, restart=sup, options=LaunchOptions(peers={"next": s4}, **slow))
        s2 = rt.spawn(scale, name="pipe/scale", node=0, restart=sup, options=LaunchOptions(peers={"next": s3}, **slow))
        s1 = rt.spawn(parse, name="pipe/parse", node=0, restart=sup, options=LaunchOptions(peers={"next": s2}, **slow))
        print("stages:", ", ".join(f"{h.name} on host {h.node}" for h in (s1, s2, s3, s4)))
        replies, killed = [], False
        for i in range(0, n, 8192):
            s1.send_many(readings[i:i + 8192])
            replies.append(s4.receive_many(1 << 20, timeout=0))
            if not killed and i >= n // 2:
                os.kill(rt.hosts[1], signal.SIGKILL)
                killed = True
                print(f"killed host 1 (pid {rt.hosts[1]}) after {i + 8192} readings were sent")
        deadline = time.monotonic() + 120
        while rt.in_flight() and time.monotonic() < deadline:     # every reading answered or dead-lettered
            replies.append(s4.receive_many(1 << 20, timeout=0.5))
        print("stages now:", ", ".join(f"{h.name} on host {h.node} (restarts {h.restart_count})"
                                       for h in (s1, s2, s3, s4)))
        got = np.concatenate(replies)
        letters = list(rt.dead_letters)
        accepted, ledger = rt.ledger.accepted, rt.ledger
    hb.stop()
    seen = collections.Counter(got["seq"].tolist() + [d.message.seq for d in letters])
    assert seen == collections.Counter(range(n)), "a reading was lost or counted twice"
    want = readings["value"][got["seq"]] * 2.0 + 1.0              # NumPy's answer for each reply
    assert np.allclose(got["value"], want)
    print(f"readings sent {n}, accepted {accepted} = replies {len(got)} + dead letters {len(letters)} "
          f"({dict(collections.Counter(d.reason for d in letters))}); duplicates {ledger.duplicates}")
    print(f"sum of replied values {got['value'].sum():.3f} == NumPy {want.sum():.3f}")
    print("OK")


if __name__ == "__main__":
    main()
