"""@persistent kernels used by test_persistent.py (and the CUDA emission tests), with the @stencil
twins that relaunching compares against."""
from ringkernel_codegen import Field1D, Field2D, Field3D, f32, f64, i32, i64, persistent, stencil
from ringkernel_codegen.dsl import global_id, grid_sync
from ringkernel_codegen.passes.stencil import BOUNDARIES


def _wave(p: Field3D[f32], p_prev: Field3D[f32], c2: f32):
    c = p[0, 0, 0]
    p_prev[0, 0, 0] = 2.0 * c - p_prev[0, 0, 0] + c2 * (p.east + p.west + p.north + p.south + p.up + p.down - 6.0 * c)


wave = persistent(halo=1, swap=("p", "p_prev"), boundary="zero")(_wave)
wave_cluster = persistent(halo=1, swap=("p", "p_prev"), boundary="zero", sync="cluster", cluster=2)(_wave)
wave_stencil = stencil(tile=(8, 8, 8), halo=1, boundary="zero")(_wave)


def _heat(u: Field2D[f64], out: Field2D[f64], alpha: f64):
    out[0, 0] = u[0, 0] + alpha * (u.north + u.south + u.east + u.west - 4.0 * u[0, 0])


heat = {b: persistent(halo=1, swap=("u", "out"), boundary=b, tile=(4, 8))(_heat) for b in BOUNDARIES}


@persistent(halo=1, swap=("u", "out"), boundary="clamp", tile=(16,))
def smooth_1d(u: Field1D[f32], out: Field1D[f32]):
    out[0] = 0.25 * u.west + 0.5 * u[0] + 0.25 * u.east


@persistent(halo=1, swap=("u", "u_new"), boundary="periodic", tile=(4, 4))
def several(u: Field2D[f32], u_new: Field2D[f32], k: Field2D[f32], dt: f32, gain: i32):
    u_new[0, 0] = u[0, 0] + dt * k[0, 0] * (u.north + u.south + u.east + u.west - 4.0 * u[0, 0]) + gain * 0.5


@persistent(halo=0, swap=("a", "b"), tile=(8, 8))
def count(a: Field2D[f32], b: Field2D[f32]):
    b[0, 0] = a[0, 0] + 1.0


@persistent(swap=("x", "x_new"))
def relax(x: f32[:], x_new: f32[:], tmp: f32[:], n: i32):
    """General form: one step of the whole grid, with a grid barrier between its two phases."""
    i = global_id()
    if i < n:
        tmp[i] = 0.5 * x[i]
    grid_sync()
    if i < n:
        left = max(i - 1, 0)
        right = min(i + 1, n - 1)
        x_new[i] = tmp[i] + 0.25 * (tmp[left] + tmp[right])


@persistent
def slow(x: f32[:], n: i64):
    """General form: a step that takes a while (the watchdog test)."""
    if global_id() == 0:
        for _ in range(n):
            x[0] += 1.0
