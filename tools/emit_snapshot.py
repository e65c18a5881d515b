"""Write every generated source of every corpus kernel to a folder, to diff before/after a refactor.

    PYTHONPATH=. .venv/bin/python tools/emit_snapshot.py OUTDIR
    diff -r BEFORE AFTER          # empty when the emitters' output is byte-identical

For each @kernel/@stencil of tests/kernels/*_kernels.py and the examples: <module>.<name>.{cu,numba.py,cpu.py};
for each @ring_kernel of tests/runtime/ring_kernels.py and examples: .actor.cu, .actor_numba.py,
.handler_cpu.py. A source a backend refuses (e.g. numba and cluster_sync) is written as the
error's type and message, so a change in what is refused shows up too.
"""
from __future__ import annotations

import glob
import importlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "kernels"), os.path.join(ROOT, "tests", "runtime"),
                os.path.join(ROOT, "examples")]

from ringkernel_codegen import KernelBase  # noqa: E402 - after the path above
from ringkernel_codegen.ring import RingKernel  # noqa: E402
from tests.kernels import objects_of  # noqa: E402 - the corpus walker the tests use

MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "tests", "kernels", "*_kernels.py")))
MODULES += ["ring_kernels", "saxpy", "heat2d", "actors_hello", "pipeline"]


def _objects(module):
    """(label, kernel or ring kernel) of a module (tests.kernels.objects_of), e.g. HEAT[periodic]."""
    for var, key, obj in objects_of(module, (KernelBase, RingKernel)):
        yield (obj.name if key is None else f"{var}[{key}]"), obj


def _write(path, produce) -> None:
    try:
        text = produce()
    except Exception as exc:  # noqa: BLE001 - a refusal is part of the output
        text = f"REFUSED {type(exc).__name__}: {exc}\n"
    with open(path, "w") as f:
        f.write(text)


def main(out: str) -> int:
    os.makedirs(out, exist_ok=True)
    count = 0
    for mod_name in MODULES:
        module = importlib.import_module(mod_name)
        for label, k in _objects(module):
            base = os.path.join(out, f"{mod_name}.{label}")
            if isinstance(k, RingKernel):
                _write(base + ".actor.cu", k.cuda_source)
                _write(base + ".actor_numba.py", k.numba_source)
                _write(base + ".handler_cpu.py", k.cpu_source)
            else:
                _write(base + ".cu", k.cuda_source)
                _write(base + ".numba.py", k.numba_source)
                _write(base + ".cpu.py", k.cpu_source)
            count += 1
    print(f"emit_snapshot: {count} kernels written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "emit_snapshot"))
