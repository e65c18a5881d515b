"""The shape of a conformance case (tests/conformance/{polybench,rodinia,guide}.py) and the launcher
the host drivers use.

A case is one ported program: the kernels it launches, the launch geometry of the original host
code, an input builder, a host driver that launches the kernels in the original order, and a NumPy
reference. tests/test_conformance.py runs every case on the cpu backend and compiles every kernel's
CUDA C++ with nvcc; tests/sim/test_conformance_sim.py runs the cases the numba CUDA simulator can
run. Status per target is data here (`xfail`, `sim`), so docs/conformance.md and the tests agree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Case:
    name: str                                   # "<suite>.<program>", e.g. "polybench.2mm"
    source: str                                 # "owner/repo path/in/repo" (or a document and section)
    kernels: tuple                              # every @kernel / @stencil the driver launches
    geometry: Callable[[dict], dict]            # inputs -> {kernel name: (grid, block)}, as the host code
    build: Callable[[str], dict]                # "cpu" | "sim" -> inputs (arrays, scalars); deterministic
    run: Callable[["Launcher", dict], dict]     # host driver: launches in order, returns {name: array}
    reference: Callable[[dict], dict]           # NumPy: inputs (fresh from build) -> {name: expected}
    features: tuple = ()
    rtol: float = 1e-4
    atol: float = 1e-5
    xfail: dict = field(default_factory=dict)   # "cpu" | "sim" | "nvcc:<kernel>" -> the defect
    sim: str | None = None                      # None: runs in the simulator; else why it cannot
    notes: str = ""


class Launcher:
    """What a host driver launches through: go(k, grid, block)(*args) for kernels (go(k, grid, block,
    shared_bytes) with dynamic shared memory), go.stencil(k)(*args)."""

    def __init__(self, backend: str):
        self.backend = backend
        self.launches = 0

    def __call__(self, k, grid, block, shared_bytes=0):
        self.launches += 1
        return k.to(self.backend)[grid, block, 0, shared_bytes]

    def stencil(self, k):
        self.launches += 1
        return k.to(self.backend)


def cdiv(a: int, b: int) -> int:
    """(size_t)ceil((float)a / (float)b), the PolyBench/Rodinia host idiom."""
    return int(math.ceil(a / b))


def f32(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def copy_inputs(inp: dict) -> dict:
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in inp.items()}


def check(case: Case, got: dict, want: dict) -> None:
    assert set(want) <= set(got), f"{case.name}: driver returned {sorted(got)}, reference {sorted(want)}"
    for name, expected in want.items():
        actual = np.asarray(got[name])
        expected = np.asarray(expected)
        assert actual.shape == expected.shape, f"{case.name}.{name}: shape {actual.shape} != {expected.shape}"
        if actual.dtype.kind in "iub":
            np.testing.assert_array_equal(actual, expected, err_msg=f"{case.name}.{name}")
        else:
            np.testing.assert_allclose(actual, expected, rtol=case.rtol, atol=case.atol,
                                       err_msg=f"{case.name}.{name}")


def run_case(case: Case, backend: str, size: str) -> None:
    """Build the inputs, run the host driver on `backend`, compare with the NumPy reference."""
    inp = case.build(size)
    want = case.reference(copy_inputs(inp))
    got = case.run(Launcher(backend), copy_inputs(inp))
    check(case, got, want)


class Refused:
    """A faithful port the front end refuses today (a ringkernel defect, named in the case's `xfail`):
    decorating raised, so every use raises that error again. The module still imports, the case's
    strict xfail records the defect, and the day the decorator accepts the function `try_decorate`
    returns the real kernel and the xfail turns into an unexpected pass."""

    def __init__(self, fn, error):
        self.fn = fn
        self.name = fn.__name__
        self.error = error

    def _raise(self, *args, **kwargs):
        raise self.error

    to = cuda_source = numba_source = cpu_source = _raise


def try_decorate(decorator):
    """@try_decorate(kernel) / @try_decorate(stencil(...)): the decorated kernel, or a Refused."""
    from ringkernel_codegen import CodegenError

    def wrap(fn):
        try:
            return decorator(fn)
        except CodegenError as exc:
            return Refused(fn, exc)

    return wrap
