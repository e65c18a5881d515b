"""@persistent benchmark: steps/s of a resident simulation against relaunching the same @stencil
once per step (same grid, same backend, same run, rounds alternated), and the command latency.

    python tools/bench/persistent.py [--backend cpu] [--sizes 64,160] [--steps 50] [--rounds 5]

Figures, each beside its baseline from the same run (DESIGN.md section 9):
  - 3D 7-point leapfrog wave, f32: persistent `sim.run(steps, wait=True)` vs `wave_stencil(p, q, c2)`
    called `steps` times from Python with the fields swapped (the relaunch baseline); median over
    rounds of Mcells/s and the ratio (target on cpu: not slower, >= 1.0x; on a GPU: >= 2x on 64^3).
  - command latency: `run(1, wait=True)` (the host asks for one more step and sees the step
    counter move), `read("p")` (a copy taken at the next step boundary) on an 8^3 grid, and one
    relaunch of the 8^3 stencil as the baseline.
GPU-only figures (barrier cost per step, grid vs cluster, beside ../shared/tools/gpu_limits.cu and
gpu_stencil_baseline.py's hand-written kernels) are printed as TODO when the backend is not a GPU.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "kernels")]

import persistent_kernels as K  # noqa: E402  (the corpus: wave and its @stencil twin)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fields(n: int):
    rng = np.random.default_rng(0)
    return (rng.random((n, n, n), dtype=np.float32) * 1e-3, rng.random((n, n, n), dtype=np.float32) * 1e-3)


def throughput(backend: str, n: int, steps: int, rounds: int) -> tuple[float, float]:
    """(persistent Mcells/s, relaunch Mcells/s), median of alternated rounds; results checked equal."""
    p0, p1 = fields(n)
    c2 = np.float32(0.1)
    relaunch = K.wave_stencil.to(backend)
    a, b = p0.copy(), p1.copy()
    relaunch(a, b, c2)                                   # compile before timing
    persistent_rates, relaunch_rates = [], []
    with K.wave.to(backend).start(p0.copy(), p1.copy(), c2) as sim:
        sim.run(1, wait=True, timeout=600)               # compiled and warm
        for _ in range(rounds):
            t = time.perf_counter()
            sim.run(steps, wait=True, timeout=600)
            persistent_rates.append(n ** 3 * steps / (time.perf_counter() - t) / 1e6)
            a, b = p0.copy(), p1.copy()
            t = time.perf_counter()
            for _ in range(steps):
                relaunch(a, b, c2)
                a, b = b, a
            relaunch_rates.append(n ** 3 * steps / (time.perf_counter() - t) / 1e6)
    # the two compute the same thing: 3 persistent steps equal 3 relaunches, bit for bit
    with K.wave.to(backend).start(p0.copy(), p1.copy(), c2) as sim:
        sim.run(3, wait=True, timeout=600)
        got = sim.read("p")
    a, b = p0.copy(), p1.copy()
    for _ in range(3):
        relaunch(a, b, c2)
        a, b = b, a
    np.testing.assert_array_equal(got, a)
    return statistics.median(persistent_rates), statistics.median(relaunch_rates)


def latency(backend: str, repeats: int) -> dict:
    """Median microseconds of a command round trip on an 8^3 grid."""
    p0, p1 = fields(8)
    c2 = np.float32(0.1)
    out = {}
    relaunch = K.wave_stencil.to(backend)
    a, b = p0.copy(), p1.copy()
    relaunch(a, b, c2)
    with K.wave.to(backend).start(p0.copy(), p1.copy(), c2) as sim:
        sim.run(1, wait=True, timeout=600)
        for name, fn in (("run(1, wait=True)", lambda: sim.run(1, wait=True, timeout=60)),
                         ("read('p')", lambda: sim.read("p")),
                         ("relaunch of the 8^3 @stencil (baseline)", lambda: relaunch(a, b, c2))):
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t) * 1e6)
            out[name] = statistics.median(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--sizes", default="64,160", help="cube edges, comma-separated")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=200, help="latency samples")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"- device: {cpu_model()} ({os.cpu_count()} logical CPUs), backend {args.backend}")
    print(f"- date: {datetime.date.today()}; Python {platform.python_version()}, numba {numba.__version__}, "
          f"numpy {np.__version__}; 1-minute load average at start {load:.1f}")
    print(f"- command: `python tools/bench/persistent.py --backend {args.backend} --sizes {args.sizes} "
          f"--steps {args.steps} --rounds {args.rounds}`")
    print()
    print(f"3D 7-point wave, f32, {args.steps} steps per round, median of {args.rounds} alternated rounds (Mcells/s):")
    print()
    print("| grid | persistent `sim.run(steps)` | baseline: `@stencil` relaunched per step | ratio | target |")
    print("|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        pers, rel = throughput(args.backend, n, args.steps, args.rounds)
        target = ">= 1.0x" if args.backend == "cpu" else (">= 2x" if n <= 64 else ">= 1.0x of hand-written")
        met = pers / rel >= (1.0 if args.backend == "cpu" or n > 64 else 2.0)
        print(f"| {n}^3 | {pers:.0f} | {rel:.0f} | {pers / rel:.2f}x | {target} ({'met' if met else 'NOT met'}) |")
    print()
    print(f"Command latency, 8^3 grid, median of {args.repeats} (us):")
    print()
    print("| command | median us |")
    print("|---|---|")
    for name, us in latency(args.backend, args.repeats).items():
        print(f"| {name} | {us:.1f} |")
    print()
    if args.backend == "cpu":
        print("GPU figures (barrier cost per step grid vs cluster, 512^3 vs hand-written kernels): TODO, "
              "no GPU in this run")


if __name__ == "__main__":
    main()
