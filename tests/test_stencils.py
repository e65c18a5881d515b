"""Stencils on every target against NumPy shifts/pads: neighbours, offsets, boundaries, halo, tiles."""
import numpy as np
import pytest

from ringkernel_codegen import Field2D, f64, stencil
from tests.kernels import stencil_kernels as S

SENTINEL = -777.0


def field(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)


def shifted(u, offsets, mode="edge"):
    """u[y + dy, x + dx] for every cell, reading outside the domain through np.pad(mode)."""
    h = max(abs(d) for d in offsets) or 0
    p = np.pad(u, h, mode=mode) if h else u
    sl = tuple(slice(h + d, h + d + n) for d, n in zip(offsets, u.shape))
    return p[sl]


def interior(a, halo):
    return a[tuple(slice(halo, n - halo) for n in a.shape)]


def border_mask(shape, halo):
    m = np.ones(shape, bool)
    m[tuple(slice(halo, n - halo) for n in shape)] = False
    return m


# ---------------------------------------------------------------- named neighbours, one at a time
def run_neighbours_2d(target):
    u = field((9, 13))
    outs = [np.full(u.shape, SENTINEL) for _ in range(4)]
    S.neighbours_2d.to(target)(u, *outs)
    return u, dict(zip(("north", "south", "west", "east"), outs))


@pytest.mark.parametrize("name,offset", [("north", (-1, 0)), ("south", (1, 0)), ("west", (0, -1)),
                                         ("east", (0, 1))])
def test_2d_named_neighbour(target, name, offset):
    u, outs = run_neighbours_2d(target)
    dy, dx = offset
    want = u[1 + dy:u.shape[0] - 1 + dy, 1 + dx:u.shape[1] - 1 + dx]  # hand-written slice, no helper
    np.testing.assert_array_equal(interior(outs[name], 1), want)


@pytest.mark.parametrize("name,offset", [("up", (-1, 0, 0)), ("down", (1, 0, 0)), ("north", (0, -1, 0)),
                                         ("south", (0, 1, 0)), ("west", (0, 0, -1)), ("east", (0, 0, 1))])
def test_3d_named_neighbour(target, name, offset):
    u = field((5, 6, 11))
    names = ("up", "down", "north", "south", "west", "east")
    outs = {n: np.full(u.shape, SENTINEL) for n in names}
    S.neighbours_3d.to(target)(u, *(outs[n] for n in names))
    want = interior(np.roll(u, [-d for d in offset], axis=(0, 1, 2)), 1)
    np.testing.assert_array_equal(interior(outs[name], 1), want)


def test_1d_west_and_east(target):
    u = field(70)
    out = np.full(70, SENTINEL)
    S.laplace_1d.to(target)(u, out)
    np.testing.assert_allclose(out[1:-1], u[:-2] + u[2:] - 2 * u[1:-1], rtol=1e-14)
    assert out[0] == SENTINEL and out[-1] == SENTINEL


# ---------------------------------------------------------------- relative offsets in array order
def test_2d_offsets_are_in_array_order(target):
    u = field((7, 10))
    dy, dx, diag = (np.full(u.shape, SENTINEL) for _ in range(3))
    S.offsets_2d.to(target)(u, dy, dx, diag)
    np.testing.assert_array_equal(dy[1:-1, 1:-1], u[2:, 1:-1])      # u[1, 0] is one row down
    np.testing.assert_array_equal(dx[1:-1, 1:-1], u[1:-1, 2:])      # u[0, 1] is one column right
    np.testing.assert_array_equal(diag[1:-1, 1:-1], u[:-2, 2:])     # u[-1, 1]: row up, column right


def test_3d_offsets_are_in_array_order(target):
    u = np.arange(5 * 6 * 7, dtype=np.float64).reshape(5, 6, 7)
    out = np.full(u.shape, SENTINEL)
    S.offsets_3d.to(target)(u, out)
    want = u[2:, 1:-1, 1:-1] * 10000 + u[1:-1, :-2, 1:-1] * 100 + u[1:-1, 1:-1, 2:]
    np.testing.assert_array_equal(out[1:-1, 1:-1, 1:-1], want)


# ---------------------------------------------------------------- boundary modes
def heat_reference(u, alpha, mode):
    a = np.float32(alpha)
    nb = sum(shifted(u, o, mode) for o in ((-1, 0), (1, 0), (0, 1), (0, -1)))
    return u + a * (nb - np.float32(4.0) * u)


@pytest.mark.parametrize("boundary,mode", [("clamp", "edge"), ("periodic", "wrap"), ("zero", "constant")])
def test_boundary_mode_writes_every_cell(target, boundary, mode):
    u = field((9, 13), np.float32, seed=2)
    out = np.full(u.shape, SENTINEL, np.float32)
    S.HEAT[boundary].to(target)(u, out, 0.1)
    np.testing.assert_allclose(out, heat_reference(u, 0.1, mode), rtol=1e-5, atol=1e-6)


def test_boundary_skip_computes_interior(target):
    u = field((9, 13), np.float32, seed=3)
    out = np.full(u.shape, SENTINEL, np.float32)
    S.HEAT["skip"].to(target)(u, out, 0.1)
    np.testing.assert_allclose(interior(out, 1), interior(heat_reference(u, 0.1, "edge"), 1), rtol=1e-5,
                               atol=1e-6)


def test_boundary_skip_leaves_cells_within_halo_untouched(target):
    u = field((9, 13), np.float32, seed=3)
    out = np.full(u.shape, SENTINEL, np.float32)
    S.HEAT["skip"].to(target)(u, out, 0.1)
    assert (out[border_mask(u.shape, 1)] == SENTINEL).all()


def test_default_boundary_is_skip():
    assert S.laplace_1d.boundary == "skip"


# ---------------------------------------------------------------- halo=2, tiles, 3D
def test_halo_2_reaches_two_cells(target):
    u = field((11, 12), seed=4)
    out = np.full(u.shape, SENTINEL)
    S.cross_halo2.to(target)(u, out)
    c = (slice(2, -2), slice(2, -2))
    want = (u[:-4, 2:-2] + u[4:, 2:-2] + u[2:-2, :-4] + u[2:-2, 4:]
            + u[1:-3, 2:-2] + u[3:-1, 2:-2] + u[2:-2, 1:-3] + u[2:-2, 3:-1])
    np.testing.assert_allclose(out[c], want, rtol=1e-14)


def test_halo_2_skip_leaves_two_cell_border_untouched(target):
    u = field((11, 12), seed=4)
    out = np.full(u.shape, SENTINEL)
    S.cross_halo2.to(target)(u, out)
    assert (out[border_mask(u.shape, 2)] == SENTINEL).all()


@pytest.mark.parametrize("shape", [(4, 8), (13, 19), (5, 33)], ids=["one-tile", "ragged", "ragged-wide"])
def test_domain_not_a_multiple_of_tile_is_covered(target, shape):
    out = np.full(shape, -1, np.int32)
    S.cell_coords.to(target)(out)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    np.testing.assert_array_equal(out, yy * 1000 + xx)


def test_cell_x_y_z_give_absolute_cell_3d(target):
    out = np.full((3, 5, 9), -1, np.int32)
    S.cell_coords_3d.to(target)(out)
    zz, yy, xx = np.mgrid[0:3, 0:5, 0:9]
    np.testing.assert_array_equal(out, zz * 10000 + yy * 100 + xx)


def test_3d_heat_seven_point(target):
    u = field((6, 7, 9), np.float32, seed=5)
    out = np.full(u.shape, SENTINEL, np.float32)
    S.heat_3d.to(target)(u, out, 0.05)
    c = u[1:-1, 1:-1, 1:-1]
    nb = u[:-2, 1:-1, 1:-1] + u[2:, 1:-1, 1:-1] + u[1:-1, :-2, 1:-1] + u[1:-1, 2:, 1:-1] \
        + u[1:-1, 1:-1, :-2] + u[1:-1, 1:-1, 2:]
    np.testing.assert_allclose(out[1:-1, 1:-1, 1:-1], c + np.float32(0.05) * (nb - 6 * c), rtol=1e-5, atol=1e-6)
    assert (out[border_mask(u.shape, 1)] == SENTINEL).all()


def test_early_return_in_stencil_leaves_other_cells_running(target):
    u = field((8, 9), seed=6)
    out = np.full(u.shape, SENTINEL)
    S.threshold.to(target)(u, out, 0.5)
    want = np.where(u[1:-1, 1:-1] > 0.5, 1.0, u[:-2, 1:-1] + u[2:, 1:-1])
    np.testing.assert_array_equal(out[1:-1, 1:-1], want)


def test_fields_of_different_shapes_raise_launch_error():
    from ringkernel_codegen import LaunchError

    with pytest.raises(LaunchError, match="share one shape"):
        S.offsets_2d.to("cpu")(field((5, 5)), field((5, 5)), field((5, 6)), field((5, 5)))


WEIGHTS_3 = np.array([0.25, 0.5, 0.25])


@stencil(tile=(8, 8), halo=1)
def weighted_rows(u: Field2D[f64], out: Field2D[f64]):
    out[0, 0] = WEIGHTS_3[0] * u[0, -1] + WEIGHTS_3[1] * u[0, 0] + WEIGHTS_3[2] * u[0, 1]


def test_stencil_reads_a_module_level_array_as_constants(target):
    u = field((10, 12))
    out = np.full(u.shape, SENTINEL)
    weighted_rows.to(target)(u, out)
    want = 0.25 * u[1:-1, :-2] + 0.5 * u[1:-1, 1:-1] + 0.25 * u[1:-1, 2:]
    np.testing.assert_allclose(interior(out, 1), want, rtol=1e-15)
