"""Every example and test kernel on the GPU backends (`cuda`, `numba`) against the `cpu` backend.

    PYTHONPATH=. .venv/bin/python tools/gpu_check.py [--backends cuda,numba] [--rtol 1e-5]

Kernels come from tests/kernels/*.py and examples/saxpy.py, examples/heat2d.py; arguments are
synthesised from each signature (arrays of `--size` elements per dimension, integer arrays with
small values so they are safe as indices, integer scalars = the size), run on cpu first (the
reference), then on each GPU backend with copies of the same inputs; the max relative error over
every array is printed. Ring kernels (tests/runtime/ring_kernels.py) run as actors on cuda vs
cpu and their replies are compared. Without a GPU it says so and exits 0.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "kernels"), os.path.join(ROOT, "tests", "runtime"),
                os.path.join(ROOT, "examples")]

CORPORA = ["basic_kernels", "assign_kernels", "barrier_kernels", "stencil_kernels", "type_kernels",
           "saxpy", "heat2d"]


def gpu_reason() -> str | None:
    try:
        from ringkernel_runtime.backends import cuda
        return None if cuda.available() else (cuda.unavailable_reason() or "no GPU")
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"


def kernels_of(module) -> list:
    return [v for v in vars(module).values() if getattr(v, "kind", None) in ("kernel", "stencil")
            and hasattr(v, "_f")]


def make_args(k, size: int, rng) -> list:
    args = []
    for p in k._f.params:
        t = p.type
        dt = t.dtype.np_dtype if hasattr(t, "ndim") else getattr(t, "np_dtype", None)
        if hasattr(t, "ndim"):
            shape = (size,) * t.ndim if t.ndim < 3 else (max(size // 4, 8),) * 3
            if dt.kind in "iu":
                args.append(rng.integers(0, 8, shape).astype(dt))
            elif dt.kind == "b":
                args.append(rng.integers(0, 2, shape).astype(dt))
            else:
                args.append(rng.standard_normal(shape).astype(dt))
        else:
            args.append(size if dt is None or dt.kind in "iu" else (0.25 if dt.kind == "f" else True))
    return args


def run(k, backend: str, args, size: int) -> None:
    target = k.to(backend)
    if k.kind == "stencil":
        target(*args)
    else:
        target[(size + 31) // 32, 32](*args)


def max_rel_error(want: list, got: list) -> float:
    worst = 0.0
    for w, g in zip(want, got):
        if isinstance(w, np.ndarray):
            w64, g64 = w.astype(np.float64), g.astype(np.float64)
            scale = np.maximum(np.abs(w64), 1e-30)
            err = np.where(w64 == g64, 0.0, np.abs(w64 - g64) / scale)
            worst = max(worst, float(np.nanmax(err)) if err.size else 0.0)
    return worst


def check_kernels(backends, size: int, rtol: float) -> int:
    bad = 0
    print(f"{'kernel':40s} " + " ".join(f"{b:>14s}" for b in backends))
    for name in CORPORA:
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            print(f"{name}: import failed: {exc}")
            continue
        for k in kernels_of(module):
            rng = np.random.default_rng(0)
            args = make_args(k, size, rng)
            ref = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
            try:
                run(k, "cpu", ref, size)
            except Exception as exc:  # noqa: BLE001 - synthesised arguments do not fit every kernel
                print(f"{name}.{k.name:32s} skipped (cpu refused synthesised arguments: {type(exc).__name__})")
                continue
            cells = []
            for b in backends:
                got = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
                try:
                    run(k, b, got, size)
                    err = max_rel_error(ref, got)
                    cells.append(f"{err:14.3g}")
                    bad += err > rtol
                except Exception as exc:  # noqa: BLE001
                    cells.append(f"{type(exc).__name__[:14]:>14s}")
                    bad += 1
            print(f"{name}.{k.name:32s} " + " ".join(cells))
    return bad


def check_actors(n: int, backends) -> int:
    """Each DSL ring kernel without peers: the same messages on cpu and on each GPU actor backend
    (cuda: the CUDA C++ loop; numba: the numba.cuda loop), replies compared with the cpu's."""
    import ring_kernels as rk
    from ringkernel_runtime import LaunchOptions, Runtime

    bad = 0
    for k in [v for v in vars(rk).values() if getattr(v, "kind", None) == "ring"]:
        if k.peers or k.output_type is None:
            continue
        batch = k.input_type.zeros(n)
        for f in batch.dtype.names:
            batch[f] = np.arange(n) % 97 if batch.dtype[f].kind in "iu" else np.linspace(0.5, 2.0, n)
        replies = {}
        for backend in ("cpu", *backends):
            with Runtime(backend=backend) as rt:
                h = rt.launch(k, LaunchOptions(queue_capacity=max(1024, 1 << (n - 1).bit_length())))
                h.send_many(batch, timeout=10.0)
                replies[backend] = h.receive_many(n, timeout=10.0)
        a = replies["cpu"]
        fields = [f for f in a.dtype.names if f not in ("now", "actor")]   # clocks and ids differ
        for backend in backends:
            b = replies[backend]
            err = 0.0 if len(a) == len(b) else float("inf")
            if len(a) == len(b):
                err = max_rel_error([a[f] for f in fields], [b[f] for f in fields])
            print(f"actor {k.name:28s} {backend:6s} {len(a):6d} / {len(b):6d} replies  max rel error {err:.3g}")
            bad += err > 0
    return bad


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="cuda,numba")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--rtol", type=float, default=1e-5)
    ap.add_argument("--messages", type=int, default=4096)
    args = ap.parse_args(argv)
    why = gpu_reason()
    if why is not None:
        print(f"gpu_check: no usable GPU here ({why}); nothing to check.")
        return 0
    bad = check_kernels(args.backends.split(","), args.size, args.rtol)
    bad += check_actors(args.messages, args.backends.split(","))
    print("gpu_check:", "all match" if not bad else f"{bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
