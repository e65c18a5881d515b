"""Process start on the cpu backend: import, decorate and launch saxpy in a fresh process, beside a
hand-written @numba.njit(cache=True) saxpy started the same way.

    PYTHONPATH=. .venv/bin/python tools/bench/cpu_start.py [--runs 7] [--before DIR]

Each figure is the wall time (and, beside it, the user + system CPU time) of a whole child process
(interpreter start to exit) that imports numpy and ringkernel (or numba), decorates saxpy, launches
it once on a small array and checks the result against NumPy's. Cases, run round-robin and
reported as the fastest of --runs each:

- ringkernel cold: a fresh RINGKERNEL_CACHE_DIR every run (front end, passes, emission, numba compile);
- ringkernel warm: the same cache folder every run, after one priming run (a compile-cache hit:
  no libcst, no passes, no emission; numba loads its cached machine code);
- ringkernel warm, RINGKERNEL_CACHE=0: numba's cache warm but the kernel compiled again by the
  front end and passes (the compile cache off; the lazy imports still help);
- baselines: @numba.njit(cache=True) saxpy, serial and parallel=True (the cpu backend's launcher
  is a prange over blocks), cold (a fresh folder, so a fresh __pycache__, every run) and warm.

The children write and read bytecode (.pyc) as a user's process does (PYTHONDONTWRITEBYTECODE is
dropped from their environment; one priming run per case writes it, under a PYTHONPYCACHEPREFIX in
the scratch folder, so no source tree is written to). --before DIR adds the warm start of another
tree's ringkernel (a checkout of main: the same start without the compile cache) in the same run.
A warm ringkernel child exits with an error if libcst was imported. Target: warm <= 1.2x the serial
njit warm baseline.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
N = 4096
TARGET = 1.2

CHECK = f"""
n = {N}
x = np.arange(n, dtype=np.float32)
y = np.ones(n, dtype=np.float32)
expect = np.float32(2.5) * x + y
"""

OURS = """
import sys
import numpy as np
from ringkernel_codegen import kernel, f32, i32
from ringkernel_codegen.dsl import global_id


@kernel
def saxpy(a: f32, x: f32[:], y: f32[:], n: i32):
    i = global_id()
    if i < n:
        y[i] = a * x[i] + y[i]
""" + CHECK + """
saxpy.to("cpu")[(n + 255) // 256, 256](np.float32(2.5), x, y, np.int32(n))
assert np.array_equal(y, expect), "wrong result"
if sys.argv[1:] == ["hit"] and "libcst" in sys.modules:
    sys.exit("libcst was imported on a compile-cache hit")
"""

NJIT = """
import numpy as np
import numba


@numba.njit(cache=True{parallel})
def saxpy(a, x, y, n):
    for i in numba.prange(n):
        y[i] = a * x[i] + y[i]
""" + CHECK + """
saxpy(np.float32(2.5), x, y, np.int32(n))
assert np.array_equal(y, expect), "wrong result"
"""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


class Case:
    """One kind of child process: its script, where it lives, its environment, and cold or warm."""

    def __init__(self, label: str, source: str, scratch: Path, warm: bool, env: dict | None = None,
                 args: tuple = (), root: Path = ROOT):
        self.label, self.source, self.warm, self.args, self.root = label, textwrap.dedent(source), warm, args, root
        self.pycache = scratch / "pycache"
        self.scratch = scratch / label.replace(" ", "_").replace(",", "").replace("=", "")
        self.env = env or {}
        self.times: list[float] = []
        self.cpu: list[float] = []

    def _folder(self, fresh: bool) -> Path:
        folder = self.scratch / (f"run{len(self.times)}" if fresh else "warm")
        folder.mkdir(parents=True, exist_ok=True)
        script = folder / "start_saxpy.py"
        if not script.exists():  # rewriting it would change its mtime, and numba's cache index keys on that
            script.write_text(self.source)
        return folder

    def run(self, record: bool = True) -> None:
        folder = self._folder(fresh=not self.warm)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(self.pycache)  # bytecode for every case, written nowhere in a tree
        env["PYTHONPATH"] = str(self.root) + os.pathsep + env.get("PYTHONPATH", "")
        env["RINGKERNEL_CACHE_DIR"] = str(folder / "rk_cache")
        env.update(self.env)
        r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        argv = [sys.executable, str(folder / "start_saxpy.py"), *(self.args if record else ())]
        done = subprocess.run(argv, env=env, cwd=folder, capture_output=True, text=True)
        elapsed, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{self.label}: the child failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        if record:
            self.times.append(elapsed)
            self.cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        if not self.warm:
            shutil.rmtree(folder, ignore_errors=True)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def best_cpu(self) -> float:
        return min(self.cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="child processes per case (the fastest is reported)")
    ap.add_argument("--before", type=Path, default=None,
                    help="another source tree of ringkernel (e.g. a checkout of main without the compile cache): its "
                         "warm start is measured in the same run, as the 'before' row")
    ns = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="rk_cpu_start_"))
    try:
        cases = {
            "ringkernel cold": Case("ringkernel cold", OURS, scratch, warm=False),
            "ringkernel warm": Case("ringkernel warm", OURS, scratch, warm=True, args=("hit",)),
            "ringkernel warm, RINGKERNEL_CACHE=0": Case("ringkernel warm, RINGKERNEL_CACHE=0", OURS, scratch,
                                                        warm=True, env={"RINGKERNEL_CACHE": "0"}),
            "njit cold": Case("njit cold", NJIT.format(parallel=""), scratch, warm=False),
            "njit warm": Case("njit warm", NJIT.format(parallel=""), scratch, warm=True),
            "njit parallel cold": Case("njit parallel cold", NJIT.format(parallel=", parallel=True"), scratch,
                                       warm=False),
            "njit parallel warm": Case("njit parallel warm", NJIT.format(parallel=", parallel=True"), scratch,
                                       warm=True),
        }
        if ns.before is not None:
            cases["before warm"] = Case("before warm", OURS, scratch, warm=True, root=ns.before.resolve())
        load = os.getloadavg()
        for case in cases.values():  # bytecode written, warm caches filled
            case.run(record=False)
        for _ in range(ns.runs):
            for case in cases.values():  # round-robin: a busy moment slows every case alike
                case.run()
        end = os.getloadavg()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    import numba
    import numpy as np

    print(f"- device: {cpu_model()} ({os.cpu_count()} logical CPUs), {platform.system()} {platform.release()}")
    print(f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; Python "
          f"{platform.python_version()}, numba {numba.__version__}, numpy {np.__version__}")
    print(f"- load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, at end "
          f"{end[0]:.2f} {end[1]:.2f} {end[2]:.2f}")
    print(f"- each figure: the fastest of {ns.runs} child processes (wall time, interpreter start to exit), "
          f"saxpy on {N} float32, cases run round-robin")
    print(f"- command: python tools/bench/cpu_start.py {' '.join(sys.argv[1:])}".rstrip())
    print()
    print("| start | figure | ringkernel | njit(cache=True) serial | ratio | njit(cache=True, parallel=True) | ratio |")
    print("|---|---|---|---|---|---|---|")
    rows = [("cold (empty caches)", "ringkernel cold", "cold"),
            ("warm (compile-cache hit)", "ringkernel warm", "warm"),
            ("warm, RINGKERNEL_CACHE=0", "ringkernel warm, RINGKERNEL_CACHE=0", "warm")]
    if ns.before is not None:
        rows.append((f"warm, before: {ns.before}", "before warm", "warm"))
    for title, ours, base in rows:
        for figure, attr in (("wall s", "best"), ("cpu s", "best_cpu")):
            t = getattr(cases[ours], attr)
            serial, parallel = getattr(cases[f"njit {base}"], attr), getattr(cases[f"njit parallel {base}"], attr)
            print(f"| {title} | {figure} | {t:.3f} | {serial:.3f} | {t / serial:.2f}x | {parallel:.3f} | "
                  f"{t / parallel:.2f}x |")
    ratio = cases["ringkernel warm"].best / cases["njit warm"].best
    print(f"\nwall s: the fastest child's wall time; cpu s: the least user + system CPU time of a child (less "
          "sensitive to other load on the machine). ratio = ringkernel / baseline (below 1: ringkernel faster). "
          f"Target: warm <= {TARGET}x the serial njit(cache=True) warm start (wall): {ratio:.2f}x, "
          f"{'met' if ratio <= TARGET else 'NOT met'}.")


if __name__ == "__main__":
    main()
