"""2D heat equation with a @stencil on the default backend (CUDA when a GPU is usable, else the
CPU emulator): a hot square in a cold plate diffuses for a few hundred explicit steps.

Checks the first steps against a NumPy reference, then says what happened to the heat (how much
is left in the plate, how hot the hottest cell still is), the time per step, and saves a picture
of the field before and after (build/heat2d.png; needs matplotlib, which the test extra installs).

    python examples/heat2d.py [--n 256] [--steps 5000] [--png build/heat2d.png]

Expected output on the CPU backend of a 2-core machine (timings vary; a few seconds in all, most
of it compiling the kernel the first time; a status line on stderr says what it is doing meanwhile):

    heat2d on cpu: 256x256 f32, 5000 steps, alpha=0.2
    first 5 steps match NumPy
    heat in the plate: 16384.0 -> 14816.4 (90.4% left; it leaves only through the cold edge)
    hottest cell: 1.000 -> 0.718 (the square spreads and rounds off; its middle cools last)
    time per step = 0.036 ms (1827 Mcells/s)
    picture: build/heat2d.png
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from ringkernel_codegen import Field2D, default_backend, f32, stencil
from ringkernel_codegen.progress import heartbeat

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
    parser.add_argument("--n", type=int, default=256, help="grid size (n x n)")
    parser.add_argument("--steps", type=int, default=5000, help="time steps")
    parser.add_argument("--check-steps", type=int, default=5, help="steps compared with NumPy")
    parser.add_argument("--png", default="build/heat2d.png", help="where to save the picture ('' for none)")
    args = parser.parse_args()
    alpha = np.float32(ALPHA)

    # The stencil leaves the edge (within `halo`) untouched, so both buffers start identical and
    # the fixed-zero boundary survives every swap.
    u = initial_field(args.n)
    start_field = u.copy()
    out = u.copy()
    reference = u.copy()

    # Verify the first steps against NumPy (this also compiles the kernel before timing).
    status = heartbeat("heat2d")
    status.say(f"compiling on {default_backend()} and checking {args.check_steps} steps against NumPy")
    for _ in range(args.check_steps):
        heat(u, out, alpha)
        u, out = out, u
        reference = numpy_step(reference, alpha)
    np.testing.assert_allclose(u, reference, rtol=1e-5, atol=1e-6)

    status.say(f"running {args.steps} steps")
    start = time.perf_counter()
    for _ in range(args.steps - args.check_steps):
        heat(u, out, alpha)
        u, out = out, u
    elapsed = time.perf_counter() - start
    timed = max(args.steps - args.check_steps, 1)
    status.stop()

    before, after = float(start_field.sum(dtype=np.float64)), float(u.sum(dtype=np.float64))
    print(f"heat2d on {default_backend()}: {args.n}x{args.n} f32, {args.steps} steps, alpha={ALPHA}")
    print(f"first {args.check_steps} steps match NumPy")
    print(f"heat in the plate: {before:.1f} -> {after:.1f} ({100 * after / before:.1f}% left; "
          "it leaves only through the cold edge)")
    print(f"hottest cell: {start_field.max():.3f} -> {u.max():.3f} (the square spreads and rounds off; its middle cools last)")
    print(f"time per step = {elapsed / timed * 1e3:.3f} ms "
          f"({args.n * args.n * timed / elapsed / 1e6:.0f} Mcells/s)")
    if args.png:
        print(f"picture: {save_picture(start_field, u, args.steps, args.png)}")


def save_picture(before: np.ndarray, after: np.ndarray, steps: int, path: str) -> str:
    """The field before and after, side by side, on one colour scale; returns what was done."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "not saved (matplotlib is not installed: pip install matplotlib)"
    import os
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), constrained_layout=True)
    for ax, field, title in ((axes[0], before, "start"), (axes[1], after, f"after {steps} steps")):
        image = ax.imshow(field, vmin=0.0, vmax=1.0, cmap="inferno")
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=axes, label="temperature", shrink=0.9)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
