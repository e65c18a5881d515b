"""grid_sync(): the CPU emulator finishes every block before any block passes the barrier."""
import numpy as np
import pytest

from tests.kernels import grid_kernels as G
from ringkernel_codegen import CodegenError


def test_reads_after_grid_sync_see_other_blocks_writes():
    n = 4 * 32
    x = np.zeros(n, np.float32)
    out = np.zeros(n, np.float32)
    G.neighbour_after_grid_sync.to("cpu")[4, 32](x, out, n)
    want = (2.0 * ((np.arange(n) + 32) % n)).astype(np.float32)
    np.testing.assert_array_equal(out, want)


def test_grid_sync_inside_control_flow_is_refused_on_cpu_with_a_location():
    with pytest.raises(CodegenError, match="grid_sync\\(\\) inside control flow") as info:
        G.grid_sync_in_branch.cpu_source()
    assert "grid_kernels.py:" in str(info.value)


def test_grid_sync_kernel_uses_cooperative_groups_in_cuda():
    src = G.neighbour_after_grid_sync.cuda_source()
    assert "#include <cooperative_groups.h>" in src and "this_grid().sync()" in src
