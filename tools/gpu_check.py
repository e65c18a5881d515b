"""Every example and test kernel on the GPU backends (`cuda`, `numba`) against the `cpu` backend.

    PYTHONPATH=. .venv/bin/python tools/gpu_check.py [--backends cuda,numba] [--rtol 1e-5]
    PYTHONPATH=. .venv/bin/python tools/gpu_check.py --reference-only      # the cpu pass alone, no GPU

Kernels come from tests/kernels/*_kernels.py (CORPORA) and examples/saxpy.py, examples/heat2d.py.
Each is launched as its corpus module's GEOMETRY records (name -> (grid, block), or (grid, block,
dynamic shared bytes per block): the launch a kernel with shared arrays sized to the block or warp
collectives is written for), else as (size+31)//32
blocks of 32 threads. Arguments are synthesised from its signature (1D arrays of `--size` elements
or one per thread launched if more, other arrays `--size` per dimension, integer arrays with small
values so they are safe as indices, integer scalars = the size) except those its module fixes in
ARGS; it runs on cpu first (the reference), then on each GPU backend with copies of the same inputs,
and the max relative error over every array is printed. Ring kernels (tests/runtime/ring_kernels.py)
run as actors on cuda vs cpu and their replies are compared.

The cpu reference runs bounds-checked: each kernel through `.to("cpu", boundscheck=True)` (every
index of the kernel checked, reported with its file:line, array, index and extent), and numba's
own check on everything else it compiles (NUMBA_BOUNDSCHECK=1, set below before numba compiles
anything, with numba's on-disk cache in a folder of its own: that cache is not keyed on bounds
checking, so code an ordinary run compiled unchecked must not be reused), so a kernel
that indexes past an array is reported as "out of bounds" on its own line instead of corrupting
the heap. Without a GPU, gpu_check says so and exits 0, unless --reference-only. Exit status 1 when
a kernel is out of bounds or a GPU backend differs from the reference.
"""
from __future__ import annotations

import os
import sys


def _bounds_checked_cpu_reference() -> None:
    """This process compiles the cpu backend with numba's bounds checks, and caches what numba
    compiles in <RINGKERNEL_CACHE_DIR or ~/.cache/ringkernel>/numba-boundscheck instead of beside
    the generated sources (numba's cache index is not keyed on bounds checking: an unchecked compile
    cached by an ordinary run would be reused). numba reads NUMBA_* at import and again before each
    compile; its cuda target ignores NUMBA_BOUNDSCHECK."""
    os.environ["NUMBA_BOUNDSCHECK"] = "1"
    root = os.environ.get("RINGKERNEL_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "ringkernel")
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(root, "numba-boundscheck")


_bounds_checked_cpu_reference()

import argparse  # noqa: E402 - after the environment above
import importlib  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "kernels"), os.path.join(ROOT, "tests", "runtime"),
                os.path.join(ROOT, "examples")]

CORPORA = ["basic_kernels", "assign_kernels", "barrier_kernels", "stencil_kernels", "type_kernels",
           "expr_kernels", "grid_kernels", "ordered_kernels", "device_barrier_kernels", "dynamic_shared_kernels",
           "persistent_kernels", "random_kernels", "schedule_kernels",
           "saxpy", "heat2d"]


def gpu_reason() -> str | None:
    try:
        from ringkernel_runtime.backends import cuda
        return None if cuda.available() else (cuda.unavailable_reason() or "no GPU")
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"


def kernels_of(module) -> list:
    """(label, kernel) for every kernel and stencil of a module (tests.kernels.objects_of: module-level
    names, then those only held in a module-level dict, labelled e.g. HEAT['periodic'], or list)."""
    from ringkernel_codegen import Kernel, Stencil
    from tests.kernels import objects_of

    # @persistent kernels are started and steered, not launched once: tests/test_persistent_gpu.py checks them
    return [(k.name if key is None else f"{var}[{key!r}]", k) for var, key, k in objects_of(module, (Kernel, Stencil))]


def corpus() -> list:
    """(label, kernel, module) for every corpus kernel; a module that fails to import is said and skipped."""
    out = []
    for name in CORPORA:
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            print(f"{name}: import failed: {type(exc).__name__}: {exc}")
            continue
        out += [(f"{name}.{label}", k, module) for label, k in kernels_of(module)]
    return out


def geometry(k, module, size: int):
    """(grid, block) for k: its module's GEOMETRY entry, else (size+31)//32 blocks of 32; None for stencils."""
    if not k.kind.launched_with_grid:
        return None
    return getattr(module, "GEOMETRY", {}).get(k.name, ((size + 31) // 32, 32))


def threads(geom) -> int:
    if geom is None:
        return 0
    return int(np.prod(geom[0])) * int(np.prod(geom[1]))


def make_args(k, size: int, rng, geom=None, fixed=None) -> list:
    """Arguments for k: `fixed` (its module's ARGS entry: param -> array shape or scalar value) where
    given, else synthesised; 1D arrays cover every thread of `geom`."""
    fixed = fixed or {}
    args = []
    for p in k._f.params:
        t = p.type
        dt = t.dtype.np_dtype if hasattr(t, "ndim") else getattr(t, "np_dtype", None)
        if hasattr(t, "ndim"):
            if p.name in fixed:
                shape = tuple(fixed[p.name])
            elif t.ndim == 1:
                shape = (max(size, threads(geom)),)
            else:
                shape = (size,) * t.ndim if t.ndim < 3 else (max(size // 4, 8),) * 3
            if dt.kind in "iu":
                args.append(rng.integers(0, 8, shape).astype(dt))
            elif dt.kind == "b":
                args.append(rng.integers(0, 2, shape).astype(dt))
            else:
                args.append(rng.standard_normal(shape).astype(dt))
        elif p.name in fixed:
            args.append(fixed[p.name])
        else:
            args.append(size if dt is None or dt.kind in "iu" else (0.25 if dt.kind == "f" else True))
    return args


def run(k, backend: str, args, geom, checked: bool = False) -> None:
    target = k.to(backend, boundscheck=True) if checked else k.to(backend)
    if not k.kind.launched_with_grid:
        target(*args)
    else:
        # GEOMETRY entries are (grid, block), or (grid, block, dynamic shared bytes per block)
        target[(geom[0], geom[1], 0, geom[2]) if len(geom) == 3 else (geom[0], geom[1])](*args)


def out_of_bounds(exc: BaseException) -> BaseException | None:
    """The out-of-bounds report, if that is what `exc` is or came from: the checked cpu mode's
    KernelRuntimeError (kernel file:line, array, index, extent), or the IndexError of numba's own
    bounds check (in a runtime helper; from a prange block loop it arrives as a SystemError's cause)."""
    from ringkernel_codegen import KernelRuntimeError

    for _ in range(8):
        if exc is None or isinstance(exc, IndexError) or \
                isinstance(exc, KernelRuntimeError) and "out-of-bounds access" in str(exc):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def reference(k, args, geom) -> tuple[str, str]:
    """Run k on the (bounds-checked) cpu backend in place on args: ("ok", ""), ("out of bounds",
    detail) or ("refused", detail) when the cpu backend rejects the kernel or its arguments (the
    corpus holds kernels that must fail, e.g. a barrier in divergent control flow)."""
    try:
        run(k, "cpu", args, geom, checked=True)  # .to("cpu", boundscheck=True): every index checked
    except Exception as exc:  # noqa: BLE001 - reported per kernel
        oob = out_of_bounds(exc)
        shown = oob if oob is not None else exc
        text = str(shown).splitlines()[0] if str(shown) else ""
        return ("out of bounds" if oob is not None else "refused"), f"{type(shown).__name__}: {text}"[:120]
    return "ok", ""


def describe(geom) -> str:
    return "stencil" if geom is None else f"[{geom[0]}, {geom[1]}]"


def check_kernels(backends, size: int, rtol: float) -> int:
    """Every corpus kernel on the cpu reference, then (unless `backends` is empty) on each GPU backend.
    Returns how many kernels were out of bounds on the reference or differ on a GPU backend."""
    bad = 0
    counts = {"ok": 0, "refused": 0, "out of bounds": 0}
    print(f"{'kernel':48s} {'launch':28s} " + (" ".join(f"{b:>14s}" for b in backends) if backends else "cpu"))
    for label, k, module in corpus():
        geom = geometry(k, module, size)
        args = make_args(k, size, np.random.default_rng(0), geom, getattr(module, "ARGS", {}).get(k.name))
        ref = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        status, detail = reference(k, ref, geom)
        counts[status] += 1
        head = f"{label:48s} {describe(geom):28s}"
        if status == "out of bounds":
            bad += 1
            print(f"{head} failed: out of bounds on the cpu reference ({detail})")
            continue
        if status == "refused":
            print(f"{head} skipped (cpu refused: {detail})")
            continue
        if not backends:
            print(f"{head} ok")
            continue
        cells = []
        for b in backends:
            got = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
            try:
                run(k, b, got, geom)
                err = max_rel_error(ref, got)
                cells.append(f"{err:14.3g}")
                bad += err > rtol
            except Exception as exc:  # noqa: BLE001
                cells.append(f"{type(exc).__name__[:14]:>14s}")
                bad += 1
        print(f"{head} " + " ".join(cells))
    print(f"gpu_check: cpu reference: {sum(counts.values())} kernels, {counts['ok']} ok, "
          f"{counts['refused']} refused, {counts['out of bounds']} out of bounds")
    return bad


def max_rel_error(want: list, got: list) -> float:
    worst = 0.0
    for w, g in zip(want, got):
        if isinstance(w, np.ndarray):
            w64, g64 = w.astype(np.float64), g.astype(np.float64)
            scale = np.maximum(np.abs(w64), 1e-30)
            err = np.where(w64 == g64, 0.0, np.abs(w64 - g64) / scale)
            worst = max(worst, float(np.nanmax(err)) if err.size else 0.0)
    return worst


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
    ap.add_argument("--size", type=int, default=64,
                    help="elements per array dimension (at least 8: synthesised integer arrays index with 0..7)")
    ap.add_argument("--rtol", type=float, default=1e-5)
    ap.add_argument("--messages", type=int, default=4096)
    ap.add_argument("--reference-only", action="store_true",
                    help="run only the bounds-checked cpu reference pass, one line per kernel (no GPU needed); "
                         "exit status 1 if a kernel indexes out of bounds")
    args = ap.parse_args(argv)
    if args.reference_only:
        bad = check_kernels([], args.size, args.rtol)
        print("gpu_check:", "no kernel out of bounds" if not bad else f"{bad} kernel(s) out of bounds")
        return 1 if bad else 0
    why = gpu_reason()
    if why is not None:
        print(f"gpu_check: no usable GPU here ({why}); nothing to check (--reference-only runs the cpu pass).")
        return 0
    bad = check_kernels(args.backends.split(","), args.size, args.rtol)
    bad += check_actors(args.messages, args.backends.split(","))
    print("gpu_check:", "all match" if not bad else f"{bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
