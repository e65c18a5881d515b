"""CPU backend speed on every kernel kind, beside hand-written serial njit, parallel njit and NumPy.

    PYTHONPATH=. .venv/bin/python tools/bench/cpu_kernels.py [--quick] [--only saxpy,matmul] [--no-checked]
        [--threads N] [--size heat3d=512,matmul=256]  (heat3d also takes a shape: heat3d=34x2048x2048)

Each kernel (tools/bench/cpu_kernel_defs.py) runs on `.to("cpu")`, and, unless --no-checked, on
`.to("cpu", boundscheck=True)` where the backend has it; every variant's outputs are checked against
NumPy's on fresh inputs first, then each is timed (fastest of several interleaved calls, after one warm-up call
that compiles). Ratios are baseline time / ours: above 1 ours is faster. Prints a Markdown table
with the device (CPU model), the date, numba's threads and the load average, and per kernel the
memory one launch of ours allocates: its peak RSS above the RSS before it (rss.py: VmHWM reset
through /proc/self/clear_refs, Linux only, else n/a), and for barrier kernels the emulation state
its launcher allocates, computed from the np.zeros lines of the emitted source at this geometry.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import cpu_kernel_defs as K  # noqa: E402 - after sys.path
from rss import launch_peak_mb  # noqa: E402


@dataclass
class Case:
    name: str
    kernel: object
    base: str                 # prefix of the baselines in cpu_kernel_defs: <base>_serial, _parallel, _numpy
    make: object              # size -> (args, outputs' positions, (grid, block) or None for a stencil)
    work: object              # size -> units of work per call (for the throughput column)
    unit: str
    target: float             # ours >= target x serial njit


def _rng():
    return np.random.default_rng(1234)


def _vec(n):
    r = _rng()
    return r.random(n, dtype=np.float32), r.random(n, dtype=np.float32)


def make_saxpy(n):
    x, y = _vec(n)
    return (np.float32(2.5), x, y, n), [2], ((n + 255) // 256, 256)


def make_elementwise(n):
    x, y = _vec(n)
    return (x, y, np.zeros(n, np.float32), n), [2], ((n + 255) // 256, 256)


def make_grid_stride(n):
    x, _ = _vec(n)
    return (np.float32(1.5), x, np.zeros(n, np.float32), n), [2], (256, 256)


def make_reduce(n):
    x, _ = _vec(n)
    return (x, np.zeros(n // K.BLOCK, np.float32)), [1], (n // K.BLOCK, K.BLOCK)


def make_matmul(n):
    r = _rng()
    a, b = r.random((n, n), dtype=np.float32), r.random((n, n), dtype=np.float32)
    g = n // K.TILE
    return (a, b, np.zeros((n, n), np.float32), n), [2], ((g, g), (K.TILE, K.TILE))


def make_transpose(n):
    a = _rng().random((n, n), dtype=np.float32)
    g = n // K.TILE
    return (a, np.zeros((n, n), np.float32)), [1], ((g, g), (K.TILE, K.TILE))


def make_histogram(n):
    x = _rng().integers(0, K.BLOCK, n, dtype=np.int32)
    return (x, np.zeros(K.BLOCK, np.int32), n), [1], (256, K.BLOCK)


def make_heat2d(n):
    u = _rng().random((n, n), dtype=np.float32)
    return (u, np.zeros_like(u), np.float32(0.2)), [1], None


def make_heat3d(n):
    u = _rng().random(_shape3(n), dtype=np.float32)
    return (u, np.zeros_like(u), np.float32(0.1)), [1], None


def _shape3(n) -> tuple:
    """A cube's edge, or a (z, y, x) shape from --size heat3d=ZxYxX."""
    return tuple(n) if isinstance(n, tuple) else (n, n, n)


CASES = [
    Case("saxpy", K.saxpy, "saxpy", make_saxpy, lambda n: 12 * n / 1e9, "GB/s", 0.8),
    Case("elementwise", K.elementwise, "elementwise", make_elementwise, lambda n: 12 * n / 1e9, "GB/s", 0.8),
    Case("grid_stride", K.grid_stride, "grid_stride", make_grid_stride, lambda n: 8 * n / 1e9, "GB/s", 0.8),
    Case("block_reduce", K.block_reduce, "block_reduce", make_reduce, lambda n: 4 * n / 1e9, "GB/s", 0.3),
    Case("matmul", K.matmul, "matmul", make_matmul, lambda n: 2 * n ** 3 / 1e9, "GFLOP/s", 0.3),
    Case("transpose", K.transpose, "transpose", make_transpose, lambda n: 8 * n * n / 1e9, "GB/s", 0.3),
    Case("histogram", K.histogram, "histogram", make_histogram, lambda n: 4 * n / 1e9, "GB/s", 0.3),
    Case("heat2d", K.heat2d, "heat2d", make_heat2d, lambda n: (n - 2) ** 2 / 1e6, "Mcells/s", 1.0),
    Case("heat3d", K.heat3d, "heat3d", make_heat3d, lambda n: np.prod([e - 2 for e in _shape3(n)]) / 1e6,
         "Mcells/s", 1.0),
]

SIZES = {  # full, quick
    "saxpy": (1 << 24, 1 << 20), "elementwise": (1 << 24, 1 << 20), "grid_stride": (1 << 24, 1 << 20),
    "block_reduce": (1 << 24, 1 << 20), "matmul": (512, 128), "transpose": (2048, 512),
    "histogram": (1 << 24, 1 << 20), "heat2d": (2048, 512), "heat3d": (256, 64),
}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class _Sizing:
    """Stands in for numpy while a launcher's set-up lines run: np.zeros adds up bytes instead."""

    def __init__(self):
        self.bytes = 0

    def zeros(self, shape, dtype):
        self.bytes += int(np.prod(shape)) * np.dtype(dtype).itemsize

    def __getattr__(self, name):
        return getattr(np, name)


def emulation_state_mb(kernel, geometry) -> float | None:
    """MB the launcher of a barrier kernel allocates before its block loop, at this geometry: its
    `name = ...` lines up to the first loop, from the emitted source (None: no such launcher)."""
    lines = kernel.cpu_source().splitlines()
    grid = geometry[0] if isinstance(geometry[0], tuple) else (geometry[0],)
    block = geometry[1] if isinstance(geometry[1], tuple) else (geometry[1],)
    grid, block = (grid + (1, 1))[:3], (block + (1, 1))[:3]
    names = ["_rk_launch_parallel", "_rk_launch_serial"] if np.prod(grid) >= 64 else ["_rk_launch_serial"]
    for name in [*names, "_rk_launch"]:
        head = next((i for i, ln in enumerate(lines) if ln.startswith(f"def {name}(")), None)
        if head is None or not any("np.zeros" in ln for ln in lines[head + 1:head + 40]):
            continue
        sizing = _Sizing()
        ns = dict(zip(("_gdx", "_gdy", "_gdz", "_bdx", "_bdy", "_bdz"), grid + block), np=sizing, min=min)
        for ln in lines[head + 1:]:
            if not re.match(r"    \w+ = ", ln):
                break
            exec(ln.strip(), ns)  # noqa: S102 - a set-up line of our own generated launcher
        return sizing.bytes / 2**20
    return None


def time_calls(fns: dict, args, budget_s: float) -> dict:
    """Fastest seconds of each fn(*args) after one warm-up call each; the variants take turns (one
    call each per round, 3..30 rounds until budget_s is spent), so load from other processes hits
    them alike, and the minimum is the figure least disturbed by it."""
    for fn in fns.values():
        fn(*args)
    best = {label: float("inf") for label in fns}
    start, rounds = time.perf_counter(), 0
    while rounds < 3 or (time.perf_counter() - start < budget_s and rounds < 30):
        for label, fn in fns.items():
            t0 = time.perf_counter()
            fn(*args)
            best[label] = min(best[label], time.perf_counter() - t0)
        rounds += 1
    return best


def ours(case: Case, geometry, checked: bool):
    try:
        bound = case.kernel.to("cpu", boundscheck=True) if checked else case.kernel.to("cpu")
    except TypeError:
        return None  # this tree's backend has no bounds-checked mode
    return bound if geometry is None else bound[geometry]


def run_case(case: Case, quick: bool, budget: float, checked: bool, size: int | None = None) -> dict:
    n = size or SIZES[case.name][1 if quick else 0]
    args, outs, geometry = case.make(n)
    fns = {"ours": ours(case, geometry, False)}
    if checked:
        fns["checked"] = ours(case, geometry, True)
    for b in ("serial", "parallel", "numpy"):
        fns[b] = getattr(K, f"{case.base}_{b}")
    fns = {k: v for k, v in fns.items() if v is not None}
    results = {}
    for label, fn in fns.items():  # correctness first, each variant on fresh inputs
        fresh = case.make(n)[0]
        fn(*fresh)
        results[label] = [fresh[i] for i in outs]
    ref = results["numpy"]
    for label, got in results.items():
        for r, g in zip(ref, got):
            if not np.allclose(g, r, rtol=2e-3, atol=1e-3):
                raise SystemExit(f"{case.name}: {label} differs from NumPy (max abs err {np.abs(g - r).max()})")
    row = {"case": case, "n": n}
    row.update(time_calls(fns, args, budget))
    row["launch_mb"] = launch_peak_mb(fns["ours"], *args)  # after the timed calls: compiled and warm
    row["state_mb"] = None if geometry is None else emulation_state_mb(case.kernel, geometry)
    return row


def _mb(v) -> str:
    return "n/a" if v is None else f"{v:.1f}"


def fmt_row(row) -> str:
    case = row["case"]
    t = row["ours"]
    work = case.work(row["n"])
    size = "x".join(map(str, row["n"])) if isinstance(row["n"], tuple) else str(row["n"])
    cells = [case.name, size, f"{work / t:.3g} {case.unit}", f"{t * 1e3:.3g}"]
    for b in ("serial", "parallel", "numpy"):
        cells.append(f"{row[b] / t:.2f}x")
    met = row["serial"] / t >= case.target
    cells.append(f">= {case.target}x serial ({'met' if met else 'NOT met'})")
    cells.append(f"{row['checked'] / t:.2f}x" if "checked" in row else "n/a")
    cells.append(_mb(row["launch_mb"]))
    cells.append("-" if row["state_mb"] is None else _mb(row["state_mb"]))
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, short timing budget")
    ap.add_argument("--only", default="", help="comma-separated kernel names")
    ap.add_argument("--no-checked", action="store_true", help="skip the bounds-checked variant")
    ap.add_argument("--threads", type=int, default=0, help="numba threads (default: numba's, one per CPU)")
    ap.add_argument("--size", default="", help="comma-separated NAME=N: a kernel's size instead of its default "
                    "(e.g. heat3d=512, or heat3d=34x2048x2048: domains bigger than the last-level cache)")
    ns = ap.parse_args()
    sizes = {}
    for item in filter(None, ns.size.split(",")):
        name, _, value = item.partition("=")
        dims = value.split("x")
        if name not in SIZES or not all(d.isdigit() for d in dims) or (len(dims) != 1 and name != "heat3d"):
            raise SystemExit(f"--size {item!r}: want NAME=N with NAME one of {', '.join(SIZES)} "
                             "(heat3d also takes ZxYxX)")
        sizes[name] = int(dims[0]) if len(dims) == 1 else tuple(map(int, dims))
    if ns.threads:
        numba.set_num_threads(ns.threads)
    only = {s for s in ns.only.split(",") if s}
    budget = 0.3 if ns.quick else 1.5
    load = os.getloadavg()
    print(f"- device: {cpu_model()} ({os.cpu_count()} logical CPUs), {platform.system()} {platform.release()}")
    print(f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; Python "
          f"{platform.python_version()}, numba {numba.__version__}, numpy {np.__version__}")
    print(f"- numba threads: {numba.get_num_threads()} (layer {numba.config.THREADING_LAYER}); load average at "
          f"start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"- command: python tools/bench/cpu_kernels.py {' '.join(sys.argv[1:])}".rstrip())
    print()
    print("| kernel | size | ours | ours ms | vs serial njit | vs parallel njit | vs NumPy | target | "
          "checked / unchecked time | launch peak RSS MB | emulation state MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for case in CASES:
        if only and case.name not in only:
            continue
        print(fmt_row(run_case(case, ns.quick, budget, not ns.no_checked, sizes.get(case.name))), flush=True)
    load = os.getloadavg()
    print(f"\nload average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; ratio = baseline time / ours "
          "(above 1: ours faster); checked = .to('cpu', boundscheck=True) time / unchecked; launch peak RSS = "
          "one launch's resident memory at its peak above the RSS before it; emulation state = what a barrier "
          "kernel's launcher allocates (from its emitted np.zeros lines)")


if __name__ == "__main__":
    main()
