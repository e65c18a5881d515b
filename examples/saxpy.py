"""SAXPY (y = a*x + y) on the default backend (CUDA when a GPU is usable, else the CPU emulator),
checked against NumPy.

    python examples/saxpy.py
"""
from __future__ import annotations

import numpy as np

from ringkernel_codegen import default_backend, f32, i32, kernel
from ringkernel_codegen.dsl import global_id


@kernel
def saxpy(a: f32, x: f32[:], y: f32[:], n: i32):
    i = global_id()
    if i < n:
        y[i] = a * x[i] + y[i]


def main(n: int = 1_000_003) -> None:
    rng = np.random.default_rng(0)
    a = np.float32(2.5)
    x = rng.standard_normal(n, dtype=np.float32)
    y = rng.standard_normal(n, dtype=np.float32)
    expected = a * x + y  # the NumPy reference, computed before the kernel updates y in place

    threads = 256
    blocks = (n + threads - 1) // threads
    saxpy[blocks, threads](a, x, y, np.int32(n))

    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)
    print(f"saxpy on {default_backend()}: n={n}, max |error| = {np.max(np.abs(y - expected)):.2e}")
    print("OK")


if __name__ == "__main__":
    main()
