"""3D acoustic wave simulator on a @persistent kernel: the simulation is launched once and stays
resident (a thread of its own on the CPU backend, one cooperative launch on a GPU) while this
script steers it: run N steps, read the pressure between two steps, inject point sources at named
steps, stop. Leapfrog FDTD with a 7-point Laplacian; reflecting walls (pressure 0 beyond the
edge) or absorbing ones (a damping sponge near the walls).

Checks the first steps against a NumPy reference, then writes a picture of the mid-plane pressure
every --every steps (matplotlib) and prints where they went.

    python examples/wavesim3d.py [--n 64] [--steps 240] [--every 60] [--boundary absorbing|reflecting]
                                 [--out build/wavesim3d]

Expected output on the CPU backend of a 2-core machine (about 10 s, most of it compiling; the
time per step varies with the machine's load):

    wavesim3d on cpu: 64^3 f32, 240 steps, c2=0.1, absorbing walls
    first 5 steps match NumPy
    step  60: max |p| 0.0883  picture build/wavesim3d/step_0060.png
    step 120: max |p| 1.0000  picture build/wavesim3d/step_0120.png
    step 180: max |p| 0.1033  picture build/wavesim3d/step_0180.png
    step 240: max |p| 0.0742  picture build/wavesim3d/step_0240.png
    second source injected at step 120 (asked for step 120)
    time per step = 7.44 ms (35 Mcells/s), 5 reads and 2 injects without a relaunch
    final max |p| = 0.074154

(At step 120 the second source has just been injected: the picture is taken at the same step
boundary, after it.)
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from ringkernel_codegen import Field3D, default_backend, f32, persistent

C2 = 0.1          # (c dt / dx)^2; the 3D leapfrog scheme is stable below 1/3


@persistent(halo=1, swap=("p", "p_prev"), boundary="zero")
def wave(p: Field3D[f32], p_prev: Field3D[f32], damp: Field3D[f32], c2: f32):
    # one time step for one cell: writes the next pressure into p_prev, then the two swap roles
    c = p[0, 0, 0]
    lap = p.east + p.west + p.north + p.south + p.up + p.down - 6.0 * c
    p_prev[0, 0, 0] = damp[0, 0, 0] * (2.0 * c - p_prev[0, 0, 0] + c2 * lap)


def damping(n: int, absorbing: bool, width: int = 8) -> np.ndarray:
    """1 inside; near the walls a sponge that eats outgoing waves (absorbing), else 1 everywhere."""
    d = np.ones((n, n, n), np.float32)
    if absorbing:
        edge = np.minimum(np.arange(n), np.arange(n)[::-1])
        ramp = np.where(edge < width, 1.0 - 0.04 * ((width - edge) / width) ** 2, 1.0).astype(np.float32)
        d = ramp[:, None, None] * ramp[None, :, None] * ramp[None, None, :]
    return np.ascontiguousarray(d, dtype=np.float32)


def source(center, r: int = 3):
    """Where a smooth point source goes (an index expression) and its values (a small Gaussian: a
    single-cell spike would mostly excite the grid's own checkerboard mode)."""
    offsets = np.arange(-r, r + 1)
    z, y, x = np.meshgrid(offsets, offsets, offsets, indexing="ij")
    blob = np.exp(-(x * x + y * y + z * z) / 2.0).astype(np.float32)
    return tuple(slice(c - r, c + r + 1) for c in center), blob


def numpy_steps(p, p_prev, damp, c2, steps):
    """The same scheme in NumPy (float64), zero pressure beyond the walls."""
    p, q = p.astype(np.float64), p_prev.astype(np.float64)
    for _ in range(steps):
        z = np.pad(p, 1)
        lap = (z[1:-1, 1:-1, 2:] + z[1:-1, 1:-1, :-2] + z[1:-1, 2:, 1:-1] + z[1:-1, :-2, 1:-1]
               + z[2:, 1:-1, 1:-1] + z[:-2, 1:-1, 1:-1] - 6.0 * p)
        q = damp * (2.0 * p - q + c2 * lap)
        p, q = q, p
    return p


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64, help="grid size (n^3)")
    parser.add_argument("--steps", type=int, default=240, help="time steps")
    parser.add_argument("--every", type=int, default=60, help="a picture every this many steps")
    parser.add_argument("--boundary", choices=("absorbing", "reflecting"), default="absorbing")
    parser.add_argument("--out", default="build/wavesim3d", help="folder for the pictures ('' for none)")
    args = parser.parse_args()
    n, check = args.n, 5
    p = np.zeros((n, n, n), np.float32)
    damp = damping(n, args.boundary == "absorbing")
    first, second = (n // 2, n // 2, n // 3), (n // 2, 2 * n // 3, 2 * n // 3)   # (z, y, x)

    print(f"wavesim3d on {default_backend()}: {n}^3 f32, {args.steps} steps, c2={C2}, {args.boundary} walls")
    with wave.start(p=p, p_prev=p.copy(), damp=damp, c2=C2) as sim:        # one launch, idle at step 0
        sim.inject("p", *source(first))                                      # a point source, now
        sim.inject("p", *source(second), step=args.steps // 2)               # and one at a named step
        reads = 0
        sim.run(check, wait=True, timeout=120)
        start_p = np.zeros((n, n, n), np.float32)
        where, blob = source(first)
        start_p[where] = blob
        reference = numpy_steps(start_p, np.zeros_like(start_p), damp, np.float32(C2), check)
        np.testing.assert_allclose(sim.read("p"), reference, rtol=1e-4, atol=1e-6)
        reads += 1
        print(f"first {check} steps match NumPy")

        t0, done = time.perf_counter(), check
        while done < args.steps:
            chunk = min(args.every - done % args.every, args.steps - done)
            sim.run(chunk, wait=True, timeout=600)
            done = sim.steps
            if done % args.every == 0 or done == args.steps:
                step, fields = sim.snapshot("p")                              # between two steps
                reads += 1
                where = save_picture(fields["p"][n // 2], step, args.out)
                print(f"step {step:3d}: max |p| {np.abs(fields['p']).max():.4f}  picture {where}")
        elapsed = time.perf_counter() - t0
    print(f"second source injected at step {args.steps // 2} (asked for step {args.steps // 2})")
    timed = max(args.steps - check, 1)
    print(f"time per step = {elapsed / timed * 1e3:.2f} ms ({n ** 3 * timed / elapsed / 1e6:.0f} Mcells/s), "
          f"{reads} reads and 2 injects without a relaunch")
    print(f"final max |p| = {np.abs(p).max():.6f}")


def save_picture(plane: np.ndarray, step: int, folder: str) -> str:
    if not folder:
        return "(none)"
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "not saved (matplotlib is not installed: pip install matplotlib)"
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"step_{step:04d}.png")
    lim = max(float(np.abs(plane).max()), 1e-6)
    fig, ax = plt.subplots(figsize=(4.5, 4), constrained_layout=True)
    image = ax.imshow(plane, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(f"mid-plane pressure, step {step}")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(image, ax=ax, shrink=0.85)
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
