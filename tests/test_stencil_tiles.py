"""3-D stencils on the cpu backend over domains whose z-planes are big enough for cache tiles
(emit/cpu_stencil.py): every cell computed once, as NumPy computes it, with ragged tiles at the
far edges, with every boundary rule's start and stop, and through the early-return per-cell path.
Smaller domains (one tile per plane) are what tests/test_stencils.py runs."""
import math

import numpy as np
import pytest

from ringkernel_codegen import Field3D, f64, stencil
from ringkernel_codegen.emit.cpu_stencil import TILE_MIN_PLANE_BYTES
from tests.kernels import stencil_kernels as S

SENTINEL = -777.0


def tiled_shape(nz: int, nx: int, itemsize: int) -> tuple:
    """A domain of nz planes whose planes just reach the tiling threshold, with a ragged row count."""
    ny = math.ceil(TILE_MIN_PLANE_BYTES / (nx * itemsize)) + 3
    assert ny * nx * itemsize >= TILE_MIN_PLANE_BYTES  # else this file would test the untiled loops
    return nz, ny, nx


@stencil(tile=(3, 5, 8), halo=1, boundary="clamp")
def clamp_or_mark(u: Field3D[f64], out: Field3D[f64], limit: f64):
    if u[0, 0, 0] > limit:
        out[0, 0, 0] = -1.0
        return
    out[0, 0, 0] = u.up + u.down + u.north + u.south + u.east + u.west


@pytest.fixture(params=[False, True], ids=["cpu", "cpu-boundscheck"])
def checked(request):
    return request.param


def test_tiled_launch_is_the_tiled_loop_nest():
    assert "tiles of 3 z-planes x 5 y-rows" in clamp_or_mark.cpu_source()


def test_3d_heat_on_tiled_domain_matches_numpy():
    shape = tiled_shape(7, 1027, 4)  # z: tiles of 2 planes over 5 interior planes, y: rows % 4 != 0
    u = np.random.default_rng(1).uniform(-1, 1, shape).astype(np.float32)
    out = np.full(shape, SENTINEL, np.float32)
    S.heat_3d.to("cpu")(u, out, 0.05)
    c = u[1:-1, 1:-1, 1:-1]
    nb = u[:-2, 1:-1, 1:-1] + u[2:, 1:-1, 1:-1] + u[1:-1, :-2, 1:-1] + u[1:-1, 2:, 1:-1] \
        + u[1:-1, 1:-1, :-2] + u[1:-1, 1:-1, 2:]
    np.testing.assert_allclose(out[1:-1, 1:-1, 1:-1], c + np.float32(0.05) * (nb - 6 * c), rtol=1e-5, atol=1e-6)
    border = np.ones(shape, bool)
    border[1:-1, 1:-1, 1:-1] = False
    assert (out[border] == SENTINEL).all()


def test_clamp_and_early_return_on_tiled_domain_match_numpy(checked):
    shape = tiled_shape(4, 1031, 8)  # z: a tile of 3 planes and one of 1; every cell, edges clamped
    u = np.random.default_rng(2).uniform(-1, 1, shape)
    out = np.full(shape, SENTINEL)
    clamp_or_mark.to("cpu", boundscheck=checked)(u, out, 0.8)
    p = np.pad(u, 1, mode="edge")
    nb = (p[:-2, 1:-1, 1:-1] + p[2:, 1:-1, 1:-1] + p[1:-1, :-2, 1:-1] + p[1:-1, 2:, 1:-1]
          + p[1:-1, 1:-1, 2:] + p[1:-1, 1:-1, :-2])  # up, down, north, south, east, west: the body's order
    np.testing.assert_array_equal(out, np.where(u > 0.8, -1.0, nb))


def test_every_cell_of_a_tiled_domain_is_written_with_its_own_coordinates():
    shape = tiled_shape(3, 1500, 4)  # halo 0: cells from 0 to the extent on every axis
    out = np.full(shape, -1, np.int32)
    S.cell_coords_3d.to("cpu")(out)
    zz, yy, xx = np.ogrid[0:shape[0], 0:shape[1], 0:shape[2]]
    np.testing.assert_array_equal(out, zz * 10000 + yy * 100 + xx)
