"""Codegen benchmarks: transpile time per kernel, CPU-backend stencil throughput, emitted code size.

Each figure is printed beside its baseline from the same run (DESIGN.md section 9):
  - decorate (front end + passes) and each emitter, per example kernel: median over repeats, the
    kernel re-created from the same function object every repeat; target <= 50 ms to transpile.
  - 2D heat stencil on the CPU backend vs a hand-written numba.njit(parallel=True) loop doing the
    same update, alternated in one process; target >= 0.8x.
  - emitted code size (bytes / lines) per backend beside the kernel's Python source.

    python tools/bench/codegen.py [--repeats 20] [--n 2048] [--steps 20]
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import inspect
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {"saxpy": ROOT / "examples" / "saxpy.py", "heat": ROOT / "examples" / "heat2d.py"}
TRANSPILE_TARGET_MS = 50.0
THROUGHPUT_TARGET = 0.8


def load_example(path: Path):
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


# ---------------------------------------------------------------------------- transpile time
def transpile_times(kernel, repeats: int) -> dict:
    """Median ms: decoration (front end + passes), then each emitter on a freshly made kernel."""
    make = lambda: type(kernel)(kernel.fn, **kernel.options)  # noqa: E731 - same fn object each time
    make().cuda_source()  # warm the one-time caches (intrinsic table, templates, libcst)
    out = {"decorate": median_ms(make, repeats)}
    for backend in ("cuda", "numba", "cpu"):
        fresh = [make() for _ in range(repeats)]
        it = iter(fresh)
        out[backend] = median_ms(lambda: next(it).source(backend), repeats)
    return out


# ---------------------------------------------------------------------------- CPU throughput
@numba.njit(parallel=True, nogil=True)
def heat_numba(u, out, alpha):
    """The hand-written baseline: the same 5-point update, interior cells only."""
    ny, nx = u.shape
    for y in numba.prange(1, ny - 1):
        for x in range(1, nx - 1):
            out[y, x] = u[y, x] + alpha * (u[y - 1, x] + u[y + 1, x] + u[y, x + 1] + u[y, x - 1]
                                           - np.float32(4.0) * u[y, x])


def stencil_throughput(heat, n: int, steps: int, rounds: int = 5) -> dict:
    """Mcells/s (interior cells) for ringkernel's CPU backend and the numba baseline, alternated."""
    rng = np.random.default_rng(0)
    u0 = rng.random((n, n), dtype=np.float32)
    alpha = np.float32(0.2)
    rk, ref = heat.to("cpu"), heat_numba
    a, b = u0.copy(), u0.copy()
    rk(a, b, alpha)
    c, d = u0.copy(), u0.copy()
    ref(c, d, alpha)
    np.testing.assert_allclose(b, d, rtol=1e-6, atol=1e-6)  # same update, same result

    def run(fn, x, y):
        for _ in range(steps):
            fn(x, y, alpha)
            x, y = y, x

    per_step = {"ringkernel": [], "numba": []}
    for _ in range(rounds):
        per_step["ringkernel"].append(median_ms(lambda: run(rk, a, b), 1) / steps)
        per_step["numba"].append(median_ms(lambda: run(ref, c, d), 1) / steps)
    cells = (n - 2) * (n - 2)
    return {k: cells / (statistics.median(v) * 1e-3) / 1e6 for k, v in per_step.items()}


# ---------------------------------------------------------------------------- code size
def code_size(kernel) -> dict:
    out = {}
    for backend in ("cuda", "numba", "cpu"):
        text = kernel.source(backend)
        out[backend] = (len(text.encode()), len(text.splitlines()))
        if backend == "cuda":
            body = text[text.index('extern "C"'):]
            out["cuda (kernel only, no prelude)"] = (len(body.encode()), len(body.splitlines()))
    src = inspect.getsource(kernel.fn)
    out["python source (baseline)"] = (len(src.encode()), len(src.splitlines()))
    return out


def main() -> None:
    from ringkernel_codegen.progress import heartbeat
    heartbeat("tools/bench/codegen.py")  # a status line on stderr every few seconds
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--n", type=int, default=2048, help="heat grid size (n x n f32)")
    parser.add_argument("--steps", type=int, default=20, help="steps per timed round")
    args = parser.parse_args()

    kernels = {name: getattr(load_example(path), name) for name, path in EXAMPLES.items()}
    print("## Codegen (tools/bench/codegen.py)\n")
    print(f"- device: {cpu_model()} ({os.cpu_count()} logical CPUs), {platform.system()} {platform.release()}")
    print(f"- date: {datetime.date.today().isoformat()}; Python {platform.python_version()}, numba "
          f"{numba.__version__}, numpy {np.__version__}")
    print(f"- command: `python tools/bench/codegen.py --repeats {args.repeats} --n {args.n} --steps {args.steps}`\n")

    print(f"Transpile time per kernel, median of {args.repeats} (ms; target <= {TRANSPILE_TARGET_MS:.0f} ms "
          "for decorate + one emitter):\n")
    print("| kernel | decorate (front end + passes) | CUDA C++ emit | numba.cuda emit | CPU emit "
          "| decorate + CUDA | target |")
    print("|---|---|---|---|---|---|---|")
    for name, k in kernels.items():
        t = transpile_times(k, args.repeats)
        total = t["decorate"] + t["cuda"]
        verdict = "met" if total <= TRANSPILE_TARGET_MS else "MISSED"
        print(f"| {name} | {t['decorate']:.2f} | {t['cuda']:.2f} | {t['numba']:.2f} | {t['cpu']:.2f} "
              f"| {total:.2f} | <= {TRANSPILE_TARGET_MS:.0f} ({verdict}) |")

    load = os.getloadavg()[0]
    default_threads = numba.get_num_threads()
    results = []
    for threads in dict.fromkeys((default_threads, 1)):
        numba.set_num_threads(threads)
        results.append((threads, stencil_throughput(kernels["heat"], args.n, args.steps)))
    numba.set_num_threads(default_threads)
    print(f"\nCPU backend, heat 2D 5-point stencil, {args.n}x{args.n} f32, {args.steps} steps x 5 rounds "
          f"alternated, median Mcells/s of interior cells (numba threading layer "
          f"{numba.threading_layer()}; 1-minute load average at start {load:.1f} "
          f"on {os.cpu_count()} CPUs):\n")
    print("| threads | ringkernel `heat.to(\"cpu\")` | baseline: hand-written `numba.njit(parallel=True)` "
          "| ratio | target |")
    print("|---|---|---|---|---|")
    for threads, tp in results:
        ratio = tp["ringkernel"] / tp["numba"]
        verdict = "met" if ratio >= THROUGHPUT_TARGET else "MISSED"
        print(f"| {threads} | {tp['ringkernel']:.0f} | {tp['numba']:.0f} | {ratio:.2f}x "
              f"| >= {THROUGHPUT_TARGET}x ({verdict}) |")

    print("\nEmitted code size, bytes / lines (baseline: the kernel's Python source):\n")
    sizes = {name: code_size(k) for name, k in kernels.items()}
    rows = list(next(iter(sizes.values())))
    print("| output | " + " | ".join(sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for row in rows:
        print(f"| {row} | " + " | ".join(f"{s[row][0]} / {s[row][1]}" for s in sizes.values()) + " |")


if __name__ == "__main__":
    main()
