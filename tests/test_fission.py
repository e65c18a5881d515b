"""CPU emulator semantics of barriers and warp collectives (barrier fission), against pure-Python
block/warp references. These run on the cpu backend only: they specify the emulator."""
import numpy as np
import pytest

from tests.kernels import barrier_kernels as K
from ringkernel_codegen import KernelRuntimeError, RingKernelError


def warp_lanes(values):
    """Split a flat per-thread list into warps of 32 lanes."""
    return [list(values[w:w + 32]) for w in range(0, len(values), 32)]


def shfl_down_reference(lanes, delta):
    return [lanes[l + delta] if l + delta < 32 else lanes[l] for l in range(32)]


def shfl_xor_reference(lanes, mask):
    return [lanes[l ^ mask] for l in range(32)]


def test_tree_reduction_with_barrier_in_uniform_while_loop(target):
    target.needs(K.tree_reduce)
    x = np.arange(3 * 64, dtype=np.float32) % 17
    out = np.zeros(3, np.float32)
    K.tree_reduce.to(target)[3, 64](x, out)
    np.testing.assert_array_equal(out, x.reshape(3, 64).sum(axis=1))


def test_tree_reduction_with_smaller_block(target):
    target.needs(K.tree_reduce)
    x = np.arange(2 * 16, dtype=np.float32)
    out = np.zeros(2, np.float32)
    K.tree_reduce.to(target)[2, 16](x, out)
    np.testing.assert_array_equal(out, [sum(range(16)), sum(range(16, 32))])


@pytest.mark.parametrize("rotate", [0, 3])
def test_barrier_inside_uniform_if(target, rotate):
    target.needs(K.uniform_if_barrier)
    x = np.arange(32, dtype=np.int32) * 7
    out = np.full(32, -1, np.int32)
    K.uniform_if_barrier.to(target)[1, 32](x, out, rotate)
    np.testing.assert_array_equal(out, [x[(t + rotate) % 32] for t in range(32)] if rotate else x)


def test_barrier_in_for_loop_with_uniform_bound(target):
    target.needs(K.barrier_in_for_loop)
    x = np.arange(16, dtype=np.int32)
    out = np.zeros(16, np.int32)
    K.barrier_in_for_loop.to(target)[1, 16](x, out, 3)
    ref = list(range(16))
    for _ in range(3):
        ref = [ref[t] + ref[(t + 1) % 16] for t in range(16)]
    np.testing.assert_array_equal(out, ref)


def test_divergent_barrier_in_if_raises_kernel_runtime_error():
    out = np.zeros(8, np.int32)
    with pytest.raises(KernelRuntimeError, match=r"divergent if .*barrier_kernels\.py:\d+: if t < 4"):
        K.divergent_if_barrier.to("cpu")[1, 8](out)


def test_divergent_loop_around_barrier_raises_kernel_runtime_error():
    out = np.zeros(8, np.int32)
    with pytest.raises(KernelRuntimeError, match="block-uniform"):
        K.divergent_loop_barrier.to("cpu")[1, 8](out)


def test_kernel_runtime_error_is_a_ringkernel_error():
    assert issubclass(KernelRuntimeError, RingKernelError)


def test_threads_that_returned_early_do_not_block_the_barrier(target):
    target.needs(K.early_exit_then_barrier)
    x = np.arange(32, dtype=np.int32)
    out = np.full(32, -1, np.int32)
    K.early_exit_then_barrier.to(target)[1, 32](x, out, 10)
    np.testing.assert_array_equal(out[:10], [((t + 1) % 10) * 10 for t in range(10)])
    assert (out[10:] == -1).all()


def test_shfl_down_warp_sum_matches_32_lane_reference(target):
    target.needs(K.warp_sum_shfl_down)
    x = (np.arange(64, dtype=np.int32) * 37) % 101
    out = np.zeros(64, np.int32)
    K.warp_sum_shfl_down.to(target)[2, 32](x, out)
    want = []
    for lanes in warp_lanes(x.tolist()):
        for delta in (16, 8, 4, 2, 1):
            moved = shfl_down_reference(lanes, delta)
            lanes = [a + b for a, b in zip(lanes, moved)]
        want.extend(lanes)
    np.testing.assert_array_equal(out, want)
    assert out[0] == x[:32].sum() and out[32] == x[32:].sum()


def test_shfl_xor_butterfly_gives_warp_max_in_every_lane(target):
    target.needs(K.warp_butterfly_max)
    x = (np.arange(64, dtype=np.int32) * 53) % 97
    out = np.zeros(64, np.int32)
    K.warp_butterfly_max.to(target)[1, 64](x, out)
    want = []
    for lanes in warp_lanes(x.tolist()):
        for level in range(5):
            other = shfl_xor_reference(lanes, 1 << level)
            lanes = [max(a, b) for a, b in zip(lanes, other)]
        want.extend(lanes)
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(out, np.repeat([x[:32].max(), x[32:].max()], 32))


def test_ballot_sync_sets_one_bit_per_lane_with_true_predicate(target):
    target.needs(K.warp_ballot)
    x = np.where(np.arange(64) % 3 == 0, 1, -1).astype(np.int32)
    x[40] = 5
    out = np.zeros(64, np.uint32)
    lanes = np.full(64, -1, np.int32)
    K.warp_ballot.to(target)[2, 32](x, out, lanes)
    want = []
    for warp in warp_lanes(x.tolist()):
        mask = sum(1 << l for l, v in enumerate(warp) if v > 0)
        want.extend([mask] * 32)
    np.testing.assert_array_equal(out, np.array(want, np.uint32))
    np.testing.assert_array_equal(lanes, np.arange(64) % 32)


def test_each_block_has_its_own_shared_memory(target):
    target.needs(K.per_block_shared)
    out = np.full(4 * 16, -1, np.int32)
    K.per_block_shared.to(target)[4, 16](out)
    want = [b * 100 + (t + 1) % 16 for b in range(4) for t in range(16)]
    np.testing.assert_array_equal(out, want)
