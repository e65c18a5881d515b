"""@persistent general-form kernels without a barrier (tests/test_persistent.py): the step calls the
cpu module's prange launcher directly (emit/cpu_persistent.py). Not a gpu_check corpus file."""
from ringkernel_codegen import f32, i32, persistent
from ringkernel_codegen.dsl import block_dim_x, global_id, grid_dim_x


@persistent
def bump(x: f32[:], n: i32):
    i = global_id()
    if i < n:
        x[i] += 1.0


@persistent
def bump_strided(x: f32[:], n: i32):
    """A grid-stride map (emit/cpu_gridmap.py): its prange launcher takes the worker count."""
    for i in range(global_id(), n, grid_dim_x() * block_dim_x()):
        x[i] += 1.0
