"""Cross-process actors on Ray (RayRuntime): bridge throughput and round trip, 64-byte messages.

Two hosting processes on a local Ray instance (num_cpus=2, no dashboard). In the same run:
  - ringkernel bridge: `relay` on host 0 forwards with ctx.send to `sink` on host 1; the relay's
    queue is filled first (deactivated), then activated: messages/s until the sink has them all.
    Round trip: driver -> relay (host 0) -> bridge -> `echo` (host 1) -> reply to the driver.
  - plain Ray actor echo: one Ray actor call per message (throughput and round trip).
  - Ray with the same batching: an actor on one process ships batches of the bridge's max_batch
    (32,768 records), at most 4 in flight (the bridge's MAX_IN_FLIGHT), to an actor on another process.

    PYTHONPATH=. .venv/bin/python tools/bench/cluster.py [--quick] [--batch 32768]

`--batch` sets the bridge's max_batch and the batched baseline's batch alike.

The kernels live in this script: the hosting processes load it by path under another module name
(main() runs only under `if __name__ == "__main__"`).
"""
from __future__ import annotations

import datetime
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, ".")
from ringkernel_codegen.message import Array, message  # noqa: E402
from ringkernel_codegen.progress import heartbeat  # noqa: E402
from ringkernel_codegen.ring import ring_kernel  # noqa: E402
from ringkernel_codegen.types import i64  # noqa: E402
from ringkernel_runtime import LaunchOptions  # noqa: E402
from ringkernel_runtime.cluster.bridge import DEFAULT_MAX_BATCH, MAX_IN_FLIGHT  # noqa: E402

BATCH = int(sys.argv[sys.argv.index("--batch") + 1]) if "--batch" in sys.argv else DEFAULT_MAX_BATCH


@message
class Ping:
    seq: i64
    pad: Array(i64, 7) = 0      # 64 bytes


@message
class Count:
    n: i64


@ring_kernel(input=Ping, peers={"next": Ping})
def relay(ctx, msg: Ping):
    ctx.send("next", Ping(seq=msg.seq))


@ring_kernel(input=Ping, state=Count)
def sink(ctx, msg: Ping):
    ctx.state.n += 1


@ring_kernel(input=Ping, output=Ping)
def echo(ctx, msg: Ping) -> Ping:
    return Ping(seq=msg.seq)


def pings(n: int) -> np.ndarray:
    b = Ping.zeros(n)
    b["seq"] = np.arange(n)
    return b


def wait_for(pred, timeout=300.0, poll=0.002) -> None:
    deadline = time.perf_counter() + timeout
    while not pred():
        if time.perf_counter() > deadline:
            raise TimeoutError("benchmark did not finish")
        time.sleep(poll)


def bench_bridge(rt, n: int) -> float:
    opts = dict(stall_timeout=None, peer_timeout=60.0, send_timeout=60.0)
    dst = rt.launch(sink, LaunchOptions(queue_capacity=1 << 17, **opts), name="bench/sink", node=1)
    src = rt.launch(relay, LaunchOptions(queue_capacity=1 << 21, peers={"next": dst}, activate=False, **opts),
                    name="bench/relay", node=0)
    b = pings(n)
    for i in range(0, n, 1 << 16):
        src.send_many(b[i:i + (1 << 16)])
    t0 = time.perf_counter()
    src.activate()
    wait_for(lambda: dst.stats.messages_in >= n, poll=0.01)
    dt = time.perf_counter() - t0
    src.terminate(), dst.terminate()
    return n / dt


def bench_bridge_rtt(rt, reps: int) -> float:
    dst = rt.launch(echo, LaunchOptions(stall_timeout=None), name="bench/echo", node=1)
    src = rt.launch(relay, LaunchOptions(peers={"next": dst}, stall_timeout=None), name="bench/relay2", node=0)
    one, times = pings(1), []
    for _ in range(reps):
        t0 = time.perf_counter()
        src.send_many(one)
        got = dst.receive_many(1, timeout=10.0)
        while len(got) == 0:
            got = dst.receive_many(1, timeout=10.0)
        times.append(time.perf_counter() - t0)
    src.terminate(), dst.terminate()
    return float(np.median(times))


def bench_ray(ray, n_calls: int, n_batched: int):
    @ray.remote(num_cpus=0)
    class Echo:
        def echo(self, x):
            return x

        def take(self, batch):
            return len(batch)

    @ray.remote(num_cpus=0)
    class Shipper:
        def ship(self, peer, n):
            b, refs, t0 = pings(BATCH), [], time.perf_counter()
            for _ in range(n // BATCH):
                refs.append(peer.take.remote(b))
                if len(refs) >= MAX_IN_FLIGHT:
                    ray.get(refs.pop(0))
            ray.get(refs)
            return time.perf_counter() - t0

    e, s = Echo.remote(), Shipper.remote()
    one = pings(1)
    ray.get(e.echo.remote(one))
    ray.get(s.ship.remote(e, BATCH))
    times = []
    for _ in range(n_calls):
        t0 = time.perf_counter()
        ray.get(e.echo.remote(one))
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    ray.get([e.echo.remote(one) for _ in range(n_calls)])
    per_call = n_calls / (time.perf_counter() - t0)
    batched = (n_batched // BATCH) * BATCH / ray.get(s.ship.remote(e, n_batched))
    ray.kill(e), ray.kill(s)
    return float(np.median(times)), per_call, batched


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    import ray
    from ringkernel_runtime.cluster import RayRuntime
    from ringkernel_runtime.cluster.bridge import DEFAULT_LINGER as linger
    quick = "--quick" in sys.argv
    n = 1 << (18 if quick else 20)
    hb = heartbeat("tools/bench/cluster.py")
    load = os.getloadavg()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        rt = RayRuntime(backend="cpu", hosts=2, max_batch=BATCH)
        try:
            bench_bridge(rt, BATCH * 4)                  # warm: compiles, first batches
            ours = bench_bridge(rt, n)
            ours_rtt = bench_bridge_rtt(rt, 30 if quick else 100)
        finally:
            rt.close()
        rtt, per_call, batched = bench_ray(ray, 300 if quick else 1000, n)
    finally:
        ray.shutdown()
        hb.stop()
    print(f"device: {cpu_model()} ({platform.machine()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}, ray {ray.__version__}); load average before: "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"date:   {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"{'figure (64 B messages, 2 processes)':44s} {'ringkernel':>12s} {'Ray echo':>10s} {'Ray batched':>12s} {'target':>8s}")
    print(f"{'throughput, M msg/s':44s} {ours / 1e6:12.3f} {per_call / 1e6:10.4f} {batched / 1e6:12.3f} {'>= 1':>8s}")
    print(f"{'round trip, ms (median)':44s} {ours_rtt * 1e3:12.2f} {rtt * 1e3:10.2f} {'':>12s} {'':>8s}")
    print(f"batching: max_batch {BATCH} messages, linger {linger * 1e3:.1f} ms (the longest a batch collects while another is in flight)")


if __name__ == "__main__":
    main()
