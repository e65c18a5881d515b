"""Kernels with grid-wide barriers (cooperative launch on CUDA; split block loops on the CPU)."""
from ringkernel_codegen import f32, i32, kernel
from ringkernel_codegen.dsl import block_dim_x, block_idx_x, global_id, grid_sync, thread_idx_x


@kernel
def neighbour_after_grid_sync(x: f32[:], out: f32[:], n: i32):
    """Each thread writes its value, the whole grid syncs, then reads the next block's value."""
    i = global_id()
    if i < n:
        x[i] = f32(i) * 2.0
    grid_sync()
    j = (i + block_dim_x()) % n
    if i < n:
        out[i] = x[j]


@kernel
def grid_sync_in_branch(x: f32[:]):
    if thread_idx_x() == 0:
        grid_sync()
    x[block_idx_x()] = 1.0


# Any 1D launch its arrays cover (the convention: basic_kernels.GEOMETRY); on a GPU the grid must
# also fit the device at once (cooperative launch), which every small launch does.
GEOMETRY: dict = {}
ARGS: dict = {}
