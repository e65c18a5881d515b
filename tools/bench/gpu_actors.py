"""GPU actor benchmark: ring kernels resident on the GPU, driven from Python (64-byte messages).

    PYTHONPATH=. .venv/bin/python tools/bench/gpu_actors.py [--quick] [--sustain-seconds 60] [--backend cpu]

Figures (DESIGN.md §9), each beside its baseline from the same run:
  round trip      send -> reply through mapped memory, median and p99 (target median <= 2.5 us),
                  beside CuPy RawKernel launch+sync, numba-cuda launch+sync, cuda-python
                  launch+sync and CUDA-graph replay+sync of an equivalent kernel (a baseline whose
                  package is absent is skipped); also the numba.cuda actor loop's round trip
  host send       cost of one `send` call while the GPU consumes (a host-side cost, NOT a latency)
  send_many       batched host -> GPU throughput; the GPU keeps a checksum that must match
  K2K             GPU actor -> GPU actor throughput (a generator actor fans out to a sink)
  sustained       throughput per 5 s window, sequence check, resident memory per window
Without a GPU it says so and exits 0; `--backend cpu` runs the same code on the CPU backend as a
dry run (labelled as such; no GPU figures, no launch baselines).
"""
from __future__ import annotations

import argparse
import datetime
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from ringkernel_codegen import i64, message, ring_kernel  # noqa: E402
from ringkernel_codegen.message import Array  # noqa: E402
from ringkernel_codegen.progress import heartbeat  # noqa: E402


@message
class Ping:
    seq: i64
    pad: Array(i64, 7) = 0       # 64 bytes (padding: defaults to zeros)


@message
class Pong:
    seq: i64
    count: i64
    pad: Array(i64, 6)       # 64 bytes


@message
class Sums:
    count: i64
    total: i64


@message
class Burst:
    first: i64
    count: i64


@ring_kernel(input=Ping, output=Pong, state=Sums)
def echo(ctx, msg: Ping) -> Pong:
    ctx.state.count += 1
    return Pong(seq=msg.seq, count=ctx.state.count)


@ring_kernel(input=Ping, output=None, state=Sums)
def checksum(ctx, msg: Ping):
    ctx.state.count += 1
    ctx.state.total += msg.seq


@ring_kernel(input=Burst, output=None, peers={"sink": Ping})
def generator(ctx, msg: Burst):
    for i in range(msg.count):
        ctx.send("sink", Ping(seq=msg.first + i))


def stats_us(ns: np.ndarray) -> tuple[float, float]:
    return float(np.median(ns)) / 1e3, float(np.percentile(ns, 99)) / 1e3


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- ringkernel figures --------------------------------------------------------------------------
def round_trip(rt, n: int) -> np.ndarray:
    from ringkernel_runtime import LaunchOptions
    k = rt.launch(echo, LaunchOptions(queue_capacity=1024, spin_us=1e6))
    m = Ping(seq=1)
    for _ in range(1000):
        k.send(m)
        k.receive(timeout=5.0)
    out = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter_ns()
        k.send(m)
        k.receive(timeout=5.0)
        out[i] = time.perf_counter_ns() - t0
    k.terminate()
    return out


def host_send(rt, n: int) -> float:
    """ns per `send` call with the GPU consuming (queue sized so it never fills)."""
    from ringkernel_runtime import LaunchOptions
    k = rt.launch(checksum, LaunchOptions(queue_capacity=1 << 17, spin_us=1e6))
    m = Ping(seq=1)
    t0 = time.perf_counter_ns()
    for _ in range(n):
        k.send(m)
    per = (time.perf_counter_ns() - t0) / n
    k.terminate()
    return per


def send_many(rt, total: int, chunk: int) -> tuple[float, bool]:
    from ringkernel_runtime import LaunchOptions
    k = rt.launch(checksum, LaunchOptions(queue_capacity=1 << 16, spin_us=1e6, batch=4096))
    b = Ping.zeros(chunk)
    sent, t0 = 0, time.perf_counter()
    while sent < total:
        m = min(chunk, total - sent)
        b["seq"][:m] = np.arange(sent, sent + m)
        sent += k.send_many(b[:m], timeout=10.0)
    deadline = time.perf_counter() + 30
    while k.stats.messages_in < total and time.perf_counter() < deadline:
        pass
    rate = total / (time.perf_counter() - t0)
    st = k.read_state()
    ok = st.count == total and st.total == total * (total - 1) // 2
    k.terminate()
    return rate, ok


def k2k(rt, total: int, burst: int) -> tuple[float, bool]:
    from ringkernel_runtime import LaunchOptions
    sink = rt.launch(checksum, LaunchOptions(queue_capacity=1 << 16, spin_us=1e6, batch=4096))
    gen = rt.launch(generator, LaunchOptions(queue_capacity=1024, spin_us=1e6,
                                             peers={"sink": sink}, peer_timeout=10.0))
    total = total // burst * burst
    bursts = Burst.zeros(total // burst)
    bursts["first"] = np.arange(0, total, burst)
    bursts["count"] = burst
    t0 = time.perf_counter()
    gen.send_many(bursts, timeout=10.0)
    deadline = time.perf_counter() + 60
    while sink.stats.messages_in < total and time.perf_counter() < deadline:
        pass
    rate = total / (time.perf_counter() - t0)
    st = sink.read_state()
    ok = st.count == total and st.total == total * (total - 1) // 2
    gen.terminate(), sink.terminate()
    return rate, ok


def sustained(rt, seconds: float, chunk: int = 4096) -> list[tuple[float, float, float]]:
    """(window end s, msg/s in the window, RSS MB) per 5 s window; raises on a sequence gap."""
    from ringkernel_runtime import LaunchOptions
    k = rt.launch(echo, LaunchOptions(queue_capacity=1 << 15, spin_us=1e6, batch=4096))
    b = Ping.zeros(chunk)
    expect, sent, windows = 0, 0, []
    t0 = last = time.perf_counter()
    count_at_last = 0
    while time.perf_counter() - t0 < seconds:
        if sent - expect < 4 * chunk:
            b["seq"] = np.arange(sent, sent + chunk)
            sent += k.send_many(b, timeout=10.0)
        out = k.receive_many(min(chunk, sent - expect), timeout=0.01)
        if len(out):
            seq = out["seq"]
            if seq[0] != expect or np.any(np.diff(seq) != 1):
                raise AssertionError(f"sequence gap near {expect}")
            expect += len(out)
        now = time.perf_counter()
        if now - last >= 5.0:
            windows.append((now - t0, (expect - count_at_last) / (now - last), rss_mb()))
            last, count_at_last = now, expect
    k.terminate()
    return windows


# -- baselines -----------------------------------------------------------------------------------
EMPTY = r'extern "C" __global__ void empty(int* p) { if (p && threadIdx.x == 12345) p[0] = 1; }'


def timed(fn, n: int) -> np.ndarray:
    for _ in range(200):
        fn()
    out = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter_ns()
        fn()
        out[i] = time.perf_counter_ns() - t0
    return out


def cupy_launch(n):
    try:
        import cupy as cp
    except ImportError:
        return None
    k = cp.RawKernel(EMPTY, "empty")
    s = cp.cuda.Stream(non_blocking=True)
    x = cp.zeros(1, dtype=cp.int32)

    def once():
        with s:
            k((1,), (32,), (x,))
        s.synchronize()
    return timed(once, n)


def numba_launch(n):
    try:
        from numba import cuda
        if not cuda.is_available():
            return None
    except Exception:  # noqa: BLE001
        return None

    @cuda.jit
    def empty(a):
        if cuda.grid(1) == 123456:
            a[0] = 1
    d = cuda.device_array(1, dtype=np.int32)
    return timed(lambda: (empty[1, 32](d), cuda.synchronize()), n)


def driver_launch_and_graph(n):
    """cuda-python launch+sync and CUDA-graph replay+sync of the same empty kernel."""
    from cuda.bindings import driver as drv

    from ringkernel_runtime.backends import cuda
    from ringkernel_runtime.backends.cuda_driver import check
    k = cuda.get_kernel(EMPTY, "empty")
    s = cuda.Stream()
    params = [("ptr", 0)]
    launch = timed(lambda: (k.launch(1, 32, params, stream=s), s.synchronize()), n)
    check(drv.cuStreamBeginCapture(s.handle, drv.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_GLOBAL),
          "cuStreamBeginCapture")
    k.launch(1, 32, params, stream=s)
    graph = check(drv.cuStreamEndCapture(s.handle), "cuStreamEndCapture")
    exe = check(drv.cuGraphInstantiate(graph, 0), "cuGraphInstantiate")
    graph_t = timed(lambda: (drv.cuGraphLaunch(exe, s.handle), drv.cuStreamSynchronize(s.handle)), n)
    return launch, graph_t


# -- report --------------------------------------------------------------------------------------
def main(argv=None) -> int:
    heartbeat("tools/bench/gpu_actors.py")  # a status line on stderr every few seconds
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sustain-seconds", type=float, default=60.0)
    ap.add_argument("--backend", choices=("cuda", "cpu"), default="cuda",
                    help="cpu: a dry run of this benchmark's code on the CPU backend (no GPU figures)")
    args = ap.parse_args(argv)
    from ringkernel_runtime import Runtime
    from ringkernel_runtime.backends import cuda
    gpu = args.backend == "cuda"
    if gpu and not cuda.available():
        print(f"gpu_actors: no usable GPU here ({cuda.unavailable_reason()}); nothing measured.")
        return 0
    n = 2000 if args.quick else 20000
    big = 2_000_000 if args.quick else 20_000_000
    rows = []
    numba_rt_ns = None
    if gpu:
        with Runtime(backend="numba") as rt:     # the numba.cuda actor loop, same protocol
            numba_rt_ns = round_trip(rt, n)
    with Runtime(backend=args.backend) as rt:
        rt_ns = round_trip(rt, n)
        send_ns = host_send(rt, n * 5)
        many, many_ok = send_many(rt, big, 8192)
        kk, kk_ok = k2k(rt, big, 65536)
        windows = sustained(rt, min(args.sustain_seconds, 10.0) if args.quick else args.sustain_seconds)
    base = {}
    if gpu:
        info = cuda.device_info()
        base = {"CuPy RawKernel launch+sync": cupy_launch(n), "numba-cuda launch+sync": numba_launch(n)}
        try:
            base["cuda-python launch+sync"], base["CUDA graph replay+sync"] = driver_launch_and_graph(n)
        except Exception as exc:  # noqa: BLE001
            print(f"(cuda-python / graph baseline skipped: {exc})")
        print(f"device {info.name} ({info.arch}, {info.sm_count} SMs), driver {info.driver_version}, "
              f"date {datetime.date.today()}, 64-byte messages")
    else:
        print(f"DRY RUN on the cpu backend ({os.cpu_count()} cores), date {datetime.date.today()}: checks this "
              "benchmark's code; these are NOT GPU figures")
    med, p99 = stats_us(rt_ns)
    rows.append(("actor round trip from Python (send -> reply)", f"median {med:.2f} us, p99 {p99:.2f} us",
                 "target median <= 2.5 us"))
    if numba_rt_ns is not None:
        nm, npct = stats_us(numba_rt_ns)
        rows.append(("  same, numba.cuda actor loop (Runtime('numba'))", f"median {nm:.2f} us, p99 {npct:.2f} us",
                     f"{nm / med:.2f}x the CUDA C++ actor"))
    for name, ts in base.items():
        if ts is None:
            rows.append((f"  baseline: {name}", "skipped (package absent)", ""))
            continue
        bm, bp = stats_us(ts)
        rows.append((f"  baseline: {name}", f"median {bm:.2f} us, p99 {bp:.2f} us", f"{bm / med:.1f}x the actor"))
    rows.append(("host-side send() cost (actor consuming; not a latency)", f"{send_ns:.0f} ns/call", "target <= 300 ns"))
    rows.append(("send_many throughput, actor checksum " + ("ok" if many_ok else "WRONG"),
                 f"{many / 1e6:.1f} M msg/s", "target >= 15 M msg/s"))
    rows.append(("K2K actor -> actor, checksum " + ("ok" if kk_ok else "WRONG"),
                 f"{kk / 1e6:.1f} M msg/s", "target >= 40 M msg/s"))
    for end, rate, mb in windows:
        rows.append((f"  sustained window ending {end:5.1f} s (sequence ok)", f"{rate / 1e6:.2f} M msg/s",
                     f"RSS {mb:.0f} MB"))
    width = max(len(r[0]) for r in rows)
    for r in rows:
        print(f"{r[0]:{width}s}  {r[1]:34s} {r[2]}")
    return 0 if many_ok and kk_ok else 1


if __name__ == "__main__":
    sys.exit(main())
