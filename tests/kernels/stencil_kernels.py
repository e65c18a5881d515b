"""Stencils used by test_stencils.py and test_emit_cuda.py. Offsets are relative, in array order."""
from ringkernel_codegen import Field1D, Field2D, Field3D, f32, f64, i32, stencil
from ringkernel_codegen.dsl import cell_x, cell_y, cell_z
from ringkernel_codegen.passes.stencil import BOUNDARIES


@stencil(tile=(32,), halo=1)
def laplace_1d(u: Field1D[f64], out: Field1D[f64]):
    out[0] = u.west + u.east - 2.0 * u[0]


@stencil(tile=(4, 8), halo=1)
def neighbours_2d(u: Field2D[f64], north: Field2D[f64], south: Field2D[f64], west: Field2D[f64],
                  east: Field2D[f64]):
    north[0, 0] = u.north
    south[0, 0] = u.south
    west[0, 0] = u.west
    east[0, 0] = u.east


@stencil(tile=(2, 4, 8), halo=1)
def neighbours_3d(u: Field3D[f64], up: Field3D[f64], down: Field3D[f64], north: Field3D[f64],
                  south: Field3D[f64], west: Field3D[f64], east: Field3D[f64]):
    up[0, 0, 0] = u.up
    down[0, 0, 0] = u.down
    north[0, 0, 0] = u.north
    south[0, 0, 0] = u.south
    west[0, 0, 0] = u.west
    east[0, 0, 0] = u.east


@stencil(tile=(4, 8), halo=1)
def offsets_2d(u: Field2D[f64], dy: Field2D[f64], dx: Field2D[f64], diag: Field2D[f64]):
    dy[0, 0] = u[1, 0]
    dx[0, 0] = u[0, 1]
    diag[0, 0] = u[-1, 1]


@stencil(tile=(2, 4, 4), halo=1)
def offsets_3d(u: Field3D[f64], out: Field3D[f64]):
    out[0, 0, 0] = u[1, 0, 0] * 10000.0 + u[0, -1, 0] * 100.0 + u[0, 0, 1]


def heat_step(u: Field2D[f32], out: Field2D[f32], alpha: f32):
    out[0, 0] = u[0, 0] + alpha * (u.north + u.south + u.east + u.west - 4.0 * u[0, 0])


HEAT = {b: stencil(tile=(4, 8), halo=1, boundary=b)(heat_step) for b in BOUNDARIES}


@stencil(tile=(4, 4), halo=2)
def cross_halo2(u: Field2D[f64], out: Field2D[f64]):
    out[0, 0] = u[-2, 0] + u[2, 0] + u[0, -2] + u[0, 2] + u[-1, 0] + u[1, 0] + u[0, -1] + u[0, 1]


@stencil(tile=(2, 4, 4), halo=1)
def heat_3d(u: Field3D[f32], out: Field3D[f32], alpha: f32):
    out[0, 0, 0] = u[0, 0, 0] + alpha * (u.up + u.down + u.north + u.south + u.east + u.west - 6.0 * u[0, 0, 0])


@stencil(tile=(4, 8), halo=0)
def cell_coords(out: Field2D[i32]):
    out[0, 0] = cell_y() * 1000 + cell_x()


@stencil(tile=(2, 2, 4), halo=0)
def cell_coords_3d(out: Field3D[i32]):
    out[0, 0, 0] = cell_z() * 10000 + cell_y() * 100 + cell_x()


@stencil(tile=(4, 8), halo=1)
def threshold(u: Field2D[f64], out: Field2D[f64], limit: f64):
    if u[0, 0] > limit:
        out[0, 0] = 1.0
        return
    out[0, 0] = u.north + u.south


# Stencils launch over their fields (tile and halo are in the decorator): no launch to record. The
# convention: basic_kernels.GEOMETRY.
GEOMETRY: dict = {}
ARGS: dict = {}

ALL = [laplace_1d, neighbours_2d, neighbours_3d, offsets_2d, offsets_3d, *HEAT.values(), cross_halo2, heat_3d,
       cell_coords, cell_coords_3d, threshold]
