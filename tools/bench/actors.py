"""CPU backend actor benchmark: round trip from Python, host-side send cost and batched throughput
(64-byte messages).

Baseline in the same run: a plain `queue.Queue` pair + a Python thread running the same handler
(echo a sequence number, count messages); for the send cost, `queue.Queue.put` while a thread
consumes. The host-side send path is the same code on the GPU backends (only the queue memory is
mapped there). Prints a table with CPU model and date.

    .venv/bin/python tools/bench/actors.py [--quick]
"""
from __future__ import annotations

import datetime
import platform
import queue
import sys
import threading
import time

import numpy as np

sys.path.insert(0, ".")
from ringkernel_codegen.message import Array, message  # noqa: E402
from ringkernel_codegen.types import i64  # noqa: E402
from ringkernel_runtime import LaunchOptions, Runtime  # noqa: E402
from ringkernel_codegen.ring import ring_kernel  # noqa: E402
from ringkernel_codegen.progress import heartbeat  # noqa: E402


@message
class Ping:
    seq: i64
    pad: Array(i64, 7) = 0      # 64 bytes (padding: defaults to zeros)


@message
class Pong:
    seq: i64
    count: i64
    pad: Array(i64, 6)      # 64 bytes


@message
class Count:
    n: i64


@ring_kernel(input=Ping, output=Pong, state=Count)
def echo(ctx, msg: Ping) -> Pong:
    """The benchmarked actor, written in the DSL and compiled by ringkernel_codegen."""
    ctx.state.n += 1
    return Pong(seq=msg.seq, count=ctx.state.n)


@ring_kernel(input=Ping, state=Count)
def sink(ctx, msg: Ping):
    ctx.state.n += 1


def bench_send(rt, n):
    """ns per `send` call (a host-side cost, not a latency) while the actor consumes."""
    k = rt.launch(sink, LaunchOptions(queue_capacity=1 << 18, batch=1024))
    m = Ping(seq=1)
    for _ in range(2000):
        k.send(m)
    t0 = time.perf_counter_ns()
    for _ in range(n):
        k.send(m)
    per = (time.perf_counter_ns() - t0) / n
    k.terminate()
    return per


def baseline_put(n):
    """ns per queue.Queue.put while a thread consumes."""
    q = queue.Queue()

    def worker():
        while q.get() is not None:
            pass

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    t0 = time.perf_counter_ns()
    for _ in range(n):
        q.put(1)
    per = (time.perf_counter_ns() - t0) / n
    q.put(None)
    t.join(5)
    return per


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def bench_round_trip(k, n):
    m = Ping(seq=1)
    for _ in range(2000):
        k.send(m)
        k.receive(timeout=1.0)
    lat = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        k.send(m)
        k.receive(timeout=1.0)
        lat[i] = time.perf_counter() - t0
    return lat


def bench_batched(k, total, chunk):
    b = Ping.zeros(chunk)
    b["seq"] = np.arange(chunk)
    done = 0
    t0 = time.perf_counter()
    sent = 0
    while done < total:
        if sent < total and sent - done < 2 * chunk:
            sent += k.send_many(b[:min(chunk, total - sent)], timeout=5.0)
        # ask for no more than is in flight: receive_many waits (up to its timeout) for max_count
        out = k.receive_many(min(chunk, sent - done), timeout=0.0 if sent < total else 1.0)
        done += len(out)
    return total / (time.perf_counter() - t0)


def baseline(n_rt, total, chunk):
    """queue.Queue in, queue.Queue out, a Python thread running the same handler."""
    qin, qout = queue.Queue(), queue.Queue()
    state = {"n": 0}

    def worker():
        while True:
            msg = qin.get()
            if msg is None:
                return
            if isinstance(msg, list):
                out = []
                for s in msg:
                    state["n"] += 1
                    out.append((s, state["n"]))
                qout.put(out)
            else:
                state["n"] += 1
                qout.put((msg, state["n"]))

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    for _ in range(2000):
        qin.put(1)
        qout.get(timeout=1.0)
    lat = np.empty(n_rt)
    for i in range(n_rt):
        t0 = time.perf_counter()
        qin.put(1)
        qout.get(timeout=1.0)
        lat[i] = time.perf_counter() - t0
    batch = list(range(chunk))
    t0 = time.perf_counter()
    done = 0
    for _ in range(total // chunk):
        qin.put(batch)
        done += len(qout.get(timeout=5.0))
    thr = done / (time.perf_counter() - t0)
    qin.put(None)
    t.join(2)
    return lat, thr


def main() -> None:
    heartbeat("tools/bench/actors.py")  # a status line on stderr every few seconds
    quick = "--quick" in sys.argv
    n_rt, total, chunk = (5_000, 1_000_000, 8192) if quick else (20_000, 5_000_000, 8192)
    with Runtime(backend="cpu") as rt:
        k = rt.launch(echo, LaunchOptions(queue_capacity=1 << 15, batch=1024))
        lat = bench_round_trip(k, n_rt)
        thr = bench_batched(k, total, chunk)
        thr = max(thr, bench_batched(k, total, chunk))
        k.terminate()
        send_ns = bench_send(rt, 10 * n_rt)
    blat, bthr = baseline(n_rt, total // 5, chunk)
    put_ns = baseline_put(10 * n_rt)
    rows = [
        ("host-side send() per call (ns)", send_ns, put_ns, "<= 300"),
        ("round trip median (us)", np.median(lat) * 1e6, np.median(blat) * 1e6, "<= 10"),
        ("round trip p99 (us)", np.percentile(lat, 99) * 1e6, np.percentile(blat, 99) * 1e6, ""),
        ("batched throughput (M msg/s, 64 B)", thr / 1e6, bthr / 1e6, ">= 5"),
    ]
    import os
    print(f"device: {cpu_model()} ({platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()})")
    print(f"date:   {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"{'figure':38s} {'ringkernel cpu':>15s} {'queue.Queue':>12s} {'target':>8s}")
    for name, ours, base, target in rows:
        print(f"{name:38s} {ours:15.2f} {base:12.2f} {target:>8s}")


if __name__ == "__main__":
    main()
