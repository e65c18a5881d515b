"""2D heat equation with a @stencil on the default backend (CUDA when a GPU is usable, else the
CPU emulator): a hot square in a cold plate diffuses for a few hundred explicit steps.

Checks the first steps against a NumPy reference, then prints the checksum (sum of the field)
and the time per step.

    python examples/heat2d.py [--n 512] [--steps 300]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from ringkernel_codegen import Field2D, default_backend, f32, stencil

ALPHA = 0.2  # diffusion number D*dt/dx^2; explicit Euler is stable below 0.25


@stencil(tile=(16, 16), halo=1)
def heat(u: Field2D[f32], out: Field2D[f32], alpha: f32):
    out[0, 0] = u[0, 0] + alpha * (u.north + u.south + u.east + u.west - 4.0 * u[0, 0])


def initial_field(n: int) -> np.ndarray:
    """A cold plate (0) with a hot square (1) in the middle; the edge stays fixed at 0."""
    u = np.zeros((n, n), dtype=np.float32)
    u[n // 4: 3 * n // 4, n // 4: 3 * n // 4] = 1.0
    return u


def numpy_step(u: np.ndarray, alpha: np.float32) -> np.ndarray:
    """One step of the same update in NumPy; edge cells are copied unchanged."""
    out = u.copy()
    c = u[1:-1, 1:-1]
    out[1:-1, 1:-1] = c + alpha * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - np.float32(4.0) * c)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="grid size (n x n)")
    parser.add_argument("--steps", type=int, default=300, help="time steps")
    parser.add_argument("--check-steps", type=int, default=5, help="steps compared with NumPy")
    args = parser.parse_args()
    alpha = np.float32(ALPHA)

    # The stencil leaves the edge (within `halo`) untouched, so both buffers start identical and
    # the fixed-zero boundary survives every swap.
    u = initial_field(args.n)
    out = u.copy()
    reference = u.copy()

    # Verify the first steps against NumPy (this also compiles the kernel before timing).
    for _ in range(args.check_steps):
        heat(u, out, alpha)
        u, out = out, u
        reference = numpy_step(reference, alpha)
    np.testing.assert_allclose(u, reference, rtol=1e-5, atol=1e-6)

    start = time.perf_counter()
    for _ in range(args.steps - args.check_steps):
        heat(u, out, alpha)
        u, out = out, u
    elapsed = time.perf_counter() - start
    timed = max(args.steps - args.check_steps, 1)

    print(f"heat2d on {default_backend()}: {args.n}x{args.n} f32, {args.steps} steps, alpha={ALPHA}")
    print(f"first {args.check_steps} steps match NumPy")
    print(f"checksum (sum of field) = {float(u.sum(dtype=np.float64)):.6f}")
    print(f"time per step = {elapsed / timed * 1e3:.3f} ms "
          f"({args.n * args.n * timed / elapsed / 1e6:.0f} Mcells/s)")


if __name__ == "__main__":
    main()
