"""Issue #9 (the fission part): the CPU emulator never drops a barrier.

Barriers and collectives inside @device functions (inlined into the kernel before fission), local
arrays living across barriers, warp collectives under warp-uniform conditions and partial masks
(warp regions), intra-warp divergence as a clear KernelRuntimeError, and grid barriers inside
loops and uniform conditions. Every corpus kernel (tests/kernels/device_barrier_kernels.py) is
checked against a NumPy or hand-computed reference with several blocks; the kernels defined here
specify errors and CPU-only details of inlining.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.kernels import device_barrier_kernels as D
from tests.kernels.device_barrier_kernels import block_total  # the corpus's shared-memory reduction
from ringkernel_codegen import CodegenError, Field1D, KernelRuntimeError, device, f32, f64, i32, kernel, stencil
from ringkernel_codegen.dsl import (
    activemask, block_dim_x, global_id, grid_sync, lane_id, shared_array, shfl_down_sync, sync_threads,
    thread_idx_x,
)
from ringkernel_codegen.emit.common import device_functions
from ringkernel_codegen.ir import nodes as ir
from ringkernel_codegen.passes import fission as F
from ringkernel_codegen.passes.inline import has_sync

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FULL = 0xFFFFFFFF
HERE = os.path.basename(__file__)


def launch(k, *args):
    grid, block = D.GEOMETRY[k.name]
    k.to("cpu")[grid, block](*args)


def ints(n, lo=0, hi=8, seed=0):
    return np.random.default_rng(seed).integers(lo, hi, n).astype(np.int32)


def by_block(values, block):
    return [list(values[b:b + block]) for b in range(0, len(values), block)]


def shfl_down_sum(lanes):
    """Lane values after the shfl_down tree sum (16, 8, 4, 2, 1) of one 32-lane warp."""
    for delta in (16, 8, 4, 2, 1):
        lanes = [lanes[l] + (lanes[l + delta] if l + delta < 32 else lanes[l]) for l in range(32)]
    return lanes


# ---------------------------------------------------------------- barriers inside device functions
def test_barrier_in_device_function_called_from_a_barrier_free_kernel():
    """The silent bug: the kernel body has no barrier, the device function has two."""
    x = ints(96, 0, 1000)
    out = np.full(96, -1, np.int32)
    launch(D.rotate_via_device, x, out)
    want = [blk[(t + 1) % 32] for blk in by_block(x, 32) for t in range(32)]
    np.testing.assert_array_equal(out, want)


def test_device_barrier_kernel_inlines_on_cpu_only():
    cpu = D.rotate_via_device.cpu_source()
    assert "def rotate_left(" not in cpu and cpu.count("for _tx in range(_bdx):") >= 2  # inlined, then split
    cuda = D.rotate_via_device.cuda_source()
    assert "rotate_left(" in cuda and "__syncthreads()" in cuda    # CUDA keeps the device function
    assert "def rotate_left(" in D.rotate_via_device.numba_source()


def test_nested_device_calls_with_barriers():
    x = ints(96, 0, 10)
    out = np.zeros(96, np.int32)
    launch(D.nested_device_barriers, x, out)
    want = [blk[t] + 10 * blk[(t + 1) % 32] + 100 * blk[(t + 2) % 32] for blk in by_block(x, 32) for t in range(32)]
    np.testing.assert_array_equal(out, want)


def test_device_function_returning_a_value_computed_across_barriers():
    x = ints(64, 0, 50).astype(np.float32)
    out = np.zeros(64, np.float32)
    launch(D.offset_by_block_total, x, out)
    totals = np.repeat(x.reshape(2, 32).sum(axis=1), 32)
    np.testing.assert_array_equal(out, x + 0.5 * totals)


@pytest.mark.parametrize("shift", [0, 3])
def test_device_function_with_early_returns_around_its_barriers(shift):
    x = ints(64, 0, 8, seed=shift)
    out = np.zeros(64, np.int32)
    launch(D.device_early_return, x, out, shift)
    if shift == 0:
        want = list(x)
    else:
        want = [blk[(t + shift) % 32] for blk in by_block(x, 32) for t in range(32)]
        want = [-w if w < 2 else w for w in want]
    np.testing.assert_array_equal(out, want)


def test_shared_array_inside_a_device_function_called_twice():
    """Was refused ("shared_array() inside @device function ... is not supported"): the CPU inlines the
    function and allocates its array once per block, shared by both calls, as CUDA does."""
    x = ints(96, 0, 10)
    out = np.zeros(96, np.int32)
    launch(D.shared_array_in_device, x, out)
    want = [blk[(t + 1) % 32] + 100 * blk[(t + 2) % 32] for blk in by_block(x, 32) for t in range(32)]
    np.testing.assert_array_equal(out, want)
    assert "__shared__ int buf[32];" in D.shared_array_in_device.cuda_source()   # kept in the device function
    assert "cuda.shared.array((32,)" in D.shared_array_in_device.numba_source()


def test_shared_array_inside_a_device_function_without_barriers():
    x = ints(64, 0, 100)
    out = np.zeros(64, np.int32)
    launch(D.shared_scratch_in_device, x, out)
    np.testing.assert_array_equal(out, x.astype(np.int64) ** 2 + 1)


def test_device_function_returning_a_tuple_across_barriers():
    """Was refused on the CPU ("... in a Unpack statement cannot run on the CPU emulator")."""
    x = ints(96, 0, 50)
    out = np.zeros(96, np.int32)
    launch(D.tuple_across_barrier, x, out)
    want = []
    for blk in by_block(x, 32):
        for t in range(32):
            left, right = blk[(t - 1) % 32], blk[(t + 1) % 32]
            lo, hi = (right, left) if t == 0 else (left, right)
            want.append(lo * 100 + hi)
    np.testing.assert_array_equal(out, want)


@device
def shared_helper(v: f64) -> f64:
    s = shared_array(4, f64)
    s[0] = v
    return s[0]


@stencil(tile=(8,))
def stencil_calling_shared_helper(u: Field1D[f64], out: Field1D[f64]):
    out[0] = shared_helper(u[0])


def test_shared_array_in_a_device_function_called_from_a_cpu_stencil_is_refused():
    """A CPU stencil has no blocks for a shared array to belong to; CUDA keeps it (compiles)."""
    with pytest.raises(CodegenError, match=r"shared_array\(\) inside device function 'shared_helper' cannot run "
                                           r"on the CPU emulator") as info:
        stencil_calling_shared_helper.cpu_source()
    assert f"{HERE}:" in str(info.value)
    assert "__shared__ double s[4];" in stencil_calling_shared_helper.cuda_source()


# ---------------------------------------------------------------- local arrays across barriers
def test_local_array_lives_across_a_barrier():
    """Was: CompileError ... NameError: name 'acc' is not defined (a ringkernel bug)."""
    x = ints(64, 0, 8)
    out = np.zeros(64, np.int32)
    launch(D.local_array_across_barrier, x, out)
    want = [sum(blk[t] * (j + 1) * blk[(t + j) % 32] for j in range(4)) for blk in by_block(x, 32) for t in range(32)]
    np.testing.assert_array_equal(out, want)


def test_local_array_inside_a_device_function_with_barriers_called_twice():
    x = ints(64, 0, 8)
    out = np.zeros(64, np.int32)
    launch(D.local_array_in_device, x, out)

    def window_dot(vals):
        return [sum((vals[t] + j) * vals[(t + j) % 32] for j in range(3)) for t in range(32)]

    want = []
    for blk in by_block(x, 32):
        a = window_dot(blk)
        b = window_dot([v % 7 for v in a])
        want += [p + q for p, q in zip(a, b)]
    np.testing.assert_array_equal(out, want)


# ---------------------------------------------------------------- collectives inside device functions
def test_shuffle_ballot_and_reduction_inside_device_functions():
    """Was: NameError: name '_t' is not defined."""
    x = ints(128, 0, 8)
    sums, counts, totals = (np.zeros(128, np.int32) for _ in range(3))
    launch(D.warp_collectives_in_device, x, sums, counts, totals)
    want_sums, want_counts, want_totals = [], [], []
    for warp in by_block(x, 32):
        reduced = shfl_down_sum(warp)
        want_sums += reduced
        want_counts += [sum(v > 3 for v in warp)] * 32
        want_totals += [sum(warp) - r for r in reduced]
    np.testing.assert_array_equal(sums, want_sums)
    np.testing.assert_array_equal(counts, want_counts)
    np.testing.assert_array_equal(totals, want_totals)
    assert sums[0] == x[:32].sum() and totals[0] == 0


def test_block_collectives_inside_a_device_function():
    x = ints(192, 0, 8)
    out = np.zeros(192, np.int32)
    launch(D.block_collectives_in_device, x, out)
    want = [sum(blk) * 1000 + sum(v > 4 for v in blk) for blk in by_block(x, 64) for _ in range(64)]
    np.testing.assert_array_equal(out, want)


# ---------------------------------------------------------------- warp-uniform conditions
def test_warp_uniform_if_with_shuffles_in_both_branches():
    x = ints(128, 0, 100)
    out = np.zeros(128, np.int32)
    launch(D.warp_uniform_if, x, out)
    want = []
    for w, warp in enumerate(by_block(x, 32)):
        want += shfl_down_sum(warp) if w % 2 == 0 else [warp[l ^ 1] for l in range(32)]
    np.testing.assert_array_equal(out, want)


def test_loop_bound_that_differs_between_warps():
    x = ints(192, 0, 1000)
    out = np.zeros(192, np.int32)
    launch(D.warp_dependent_trip_count, x, out)
    want = []
    for w, warp in enumerate(by_block(x, 32)):
        lanes = list(warp)
        for r in range(w % 3 + 1):
            lanes = [max(lanes[l], lanes[l ^ (1 << r)]) for l in range(32)]
        want += lanes
    np.testing.assert_array_equal(out, want)


def test_break_that_differs_between_warps():
    x = ints(128, 0, 8, seed=5)
    x[64:96] = 0                                  # one warp needs more rounds than the others
    out = np.zeros(128, np.int32)
    launch(D.warp_divergent_break, x, out, 500)
    want = []
    for warp in by_block(x, 32):
        lanes, rounds = list(warp), 0
        while sum(lanes) <= 500:
            lanes = [v * 2 + 1 for v in lanes]
            rounds += 1
        want += [rounds * 1000 + v for v in lanes]
    np.testing.assert_array_equal(out, want)
    assert len({w // 1000 for w in want}) > 1     # the warps really left at different rounds


def test_device_function_with_shuffles_called_by_one_warp():
    x = ints(128, 0, 8)
    out = np.zeros(128, np.int32)
    launch(D.device_collective_in_one_warp, x, out)
    want = []
    for w, warp in enumerate(by_block(x, 32)):
        want += shfl_down_sum(warp) if w % 2 == 1 else list(warp)
    np.testing.assert_array_equal(out, want)


def test_continue_nested_break_and_return_inside_loops_that_differ_between_warps():
    x = ints(192, 0, 8, seed=3)
    out = np.zeros(192, np.int32)
    launch(D.warp_region_loops, x, out)
    want = []
    for n, warp in enumerate(by_block(x, 32)):
        w, s, ret = n % 3, 0, None
        for r in range(w + 2):
            if r == 1:
                continue
            s += sum(warp) + w + 1
            if w == 1 and r == 2:
                ret = s + 100000
                break
        want += [s if ret is None else ret] * 32
    np.testing.assert_array_equal(out, want)


# ---------------------------------------------------------------- partial masks
def test_half_warp_shuffles_with_half_warp_masks():
    x = ints(128, 0, 1000)
    out = np.zeros(128, np.int32)
    launch(D.half_warp_shuffle, x, out)
    want = [warp[15 - l] if l < 16 else warp[47 - l] for warp in by_block(x, 32) for l in range(32)]
    np.testing.assert_array_equal(out, want)


def test_half_warp_ballot_and_reduction():
    x = ints(128, 0, 8, seed=2)
    votes = np.full(128, 7, np.uint32)
    sums = np.full(128, 7, np.int32)
    launch(D.half_warp_ballot, x, votes, sums)
    want_votes, want_sums = [], []
    for warp in by_block(x, 32):
        mask = sum(1 << l for l in range(16) if warp[l] > 3)
        want_votes += [mask] * 16 + [0] * 16
        want_sums += [sum(warp[:16])] * 16 + [0] * 16
    np.testing.assert_array_equal(votes, np.array(want_votes, np.uint32))
    np.testing.assert_array_equal(sums, want_sums)


@kernel
def active_lanes_in_branch(out: i32[:]):
    i = global_id()
    if lane_id() < 8:
        out[i] = i32(activemask())
    else:
        out[i] = -1


def test_activemask_inside_a_branch_names_the_lanes_that_took_it():
    out = np.zeros(64, np.int32)
    active_lanes_in_branch.to("cpu")[2, 32](out)
    np.testing.assert_array_equal(out, ([0xFF] * 8 + [-1] * 24) * 2)


# ---------------------------------------------------------------- divergence is an error
@kernel
def full_mask_in_half_warp(x: i32[:], out: i32[:]):
    i = global_id()
    v = x[i]
    if lane_id() < 16:
        v = shfl_down_sync(FULL, v, 1)
    out[i] = v


@device
def shuffle_sum(x: i32) -> i32:
    v = x
    for level in range(5):
        v += shfl_down_sync(FULL, v, 16 >> level)
    return v


@kernel
def device_shuffle_in_half_warp(x: i32[:], out: i32[:]):
    i = global_id()
    v = x[i]
    if lane_id() >= 8:
        v = shuffle_sum(v)
    out[i] = v


@device
def publish_and_read(buf: i32[:], t: i32, v: i32) -> i32:
    buf[t] = v
    sync_threads()
    return buf[(t + 1) % block_dim_x()]


@kernel
def device_barrier_under_divergent_if(x: i32[:], out: i32[:]):
    buf = shared_array(32, i32)
    t = thread_idx_x()
    v = x[t]
    if t < 4:
        v = publish_and_read(buf, t, v)
    out[t] = v


def test_full_mask_collective_under_intra_warp_divergence_raises():
    x = ints(64)
    out = np.zeros(64, np.int32)
    with pytest.raises(KernelRuntimeError, match=rf"divergent warp at shfl_down_sync\(\) \({HERE}:\d+: "
                                                 rf"v = shfl_down_sync\(FULL, v, 1\)\) inside {HERE}:\d+: "
                                                 r"if lane_id\(\) < 16"):
        full_mask_in_half_warp.to("cpu")[2, 32](x, out)


def test_full_mask_collective_in_device_function_under_intra_warp_divergence_names_its_line():
    x = ints(64)
    out = np.zeros(64, np.int32)
    with pytest.raises(KernelRuntimeError, match=rf"divergent warp at shfl_down_sync\(\) \({HERE}:\d+: "
                                                 r"v \+= shfl_down_sync\(FULL, v, 16 >> level\)\)"):
        device_shuffle_in_half_warp.to("cpu")[2, 32](x, out)


def test_device_barrier_under_divergent_if_raises():
    x = ints(32)
    out = np.zeros(32, np.int32)
    with pytest.raises(KernelRuntimeError, match=rf"divergent if .*{HERE}:\d+: if t < 4"):
        device_barrier_under_divergent_if.to("cpu")[1, 32](x, out)


# ---------------------------------------------------------------- inlining details (CPU semantics)
@device
def first_at_least(buf: i32[:], t: i32, v: i32, limit: i32) -> i32:
    """An early return from inside a loop, with barriers after the loop for the case it finds nothing."""
    buf[t] = v
    sync_threads()
    for j in range(block_dim_x()):
        if buf[j] >= limit:
            return j * 1000
    sync_threads()
    return publish_and_read(buf, t, v)


@kernel
def find_or_rotate(x: i32[:], out: i32[:], limit: i32):
    buf = shared_array(32, i32)
    i = global_id()
    out[i] = first_at_least(buf, thread_idx_x(), x[i], limit)


@pytest.mark.parametrize("limit", [5, 100])
def test_early_return_from_a_loop_inside_an_inlined_device_function(limit):
    x = ints(64, 0, 10, seed=limit)
    out = np.zeros(64, np.int32)
    find_or_rotate.to("cpu")[2, 32](x, out, limit)
    want = []
    for blk in by_block(x, 32):
        hit = next((j for j, v in enumerate(blk) if v >= limit), None)
        want += [hit * 1000] * 32 if hit is not None else [blk[(t + 1) % 32] for t in range(32)]
    np.testing.assert_array_equal(out, want)


@kernel
def short_circuit_and_select(x: i32[:], out: i32[:], go: i32):
    buf = shared_array(32, i32)
    t = thread_idx_x()
    i = global_id()
    hit = go != 0 and publish_and_read(buf, t, x[i]) > 3
    out[i] = (publish_and_read(buf, t, x[i] * 2) if go > 1 else -5) + i32(hit) * 100


@pytest.mark.parametrize("go", [0, 1, 2])
def test_calls_in_and_or_select_run_only_when_python_would_evaluate_them(go):
    x = ints(64, 0, 8, seed=go)
    out = np.zeros(64, np.int32)
    short_circuit_and_select.to("cpu")[2, 32](x, out, go)
    want = []
    for blk in by_block(x, 32):
        for t in range(32):
            right = blk[(t + 1) % 32]
            hit = go != 0 and right > 3
            want.append((2 * right if go > 1 else -5) + 100 * hit)
    np.testing.assert_array_equal(out, want)


@kernel
def halve_until_small(x: f32[:], out: f32[:], limit: f32):
    """A device call with barriers in a while condition: evaluated again before every round."""
    buf = shared_array(32, f32)
    t = thread_idx_x()
    i = global_id()
    v = x[i]
    rounds = 0
    while block_total(buf, t, v) > limit:
        v = v * 0.5
        rounds += 1
    out[i] = f32(rounds)


def test_device_call_with_barriers_in_a_while_condition():
    x = np.concatenate([np.full(32, 1.0), np.full(32, 8.0)]).astype(np.float32)
    out = np.zeros(64, np.float32)
    halve_until_small.to("cpu")[2, 32](x, out, 5.0)
    np.testing.assert_array_equal(out, [3.0] * 32 + [6.0] * 32)   # 32 -> 4 and 256 -> 4


@kernel
def operand_before_call(x: i32[:], out: i32[:]):
    """buf[t] is read before the call that overwrites buf (Python's left-to-right order)."""
    buf = shared_array(32, i32)
    t = thread_idx_x()
    i = global_id()
    buf[t] = -t
    sync_threads()
    out[i] = buf[t] * 1000 + publish_and_read(buf, t, x[i])


def test_operands_evaluated_before_an_inlined_call_keep_their_values():
    x = ints(64, 0, 8)
    out = np.zeros(64, np.int32)
    operand_before_call.to("cpu")[2, 32](x, out)
    want = [-t * 1000 + blk[(t + 1) % 32] for blk in by_block(x, 32) for t in range(32)]
    np.testing.assert_array_equal(out, want)


def test_device_function_assigning_its_parameters_keeps_the_callers_values():
    """A scalar parameter is passed by value: the callee's assignments to it (where the front end
    allows them) never reach the caller's variable of the same name."""
    try:
        @device
        def shuffle_total(v: i32) -> i32:
            offset = 16
            while offset > 0:
                v += shfl_down_sync(FULL, v, offset)
                offset //= 2
            return v

        @device
        def bumped_neighbour(buf: i32[:], t: i32, n: i32) -> i32:
            n = n + 1
            buf[t] = n * 10 + t
            sync_threads()
            return buf[(t + 1) % 32]

        @kernel
        def assigned_params(x: i32[:], out: i32[:]):
            buf = shared_array(32, i32)
            i = global_id()
            v = x[i]
            n = 7
            out[i] = shuffle_total(v) + bumped_neighbour(buf, thread_idx_x(), n) * 1000 + n * 1000000 + v * 0
    except CodegenError as exc:
        if "cannot assign to parameter" in str(exc):
            pytest.skip("this front end refuses assignments to parameters")
        raise
    x = ints(64, 0, 8)
    out = np.zeros(64, np.int32)
    assigned_params.to("cpu")[2, 32](x, out)
    want = [s + (80 + (t + 1) % 32) * 1000 + 7000000
            for blk in by_block(x, 32) for t, s in enumerate(shfl_down_sum(blk))]
    np.testing.assert_array_equal(out, want)


def test_no_barrier_left_unsplit_is_checked():
    """check_split refuses a segment that still holds a barrier (it would be spelled `pass`)."""
    k = D.rotate_via_device
    call = next(n for n in ir.walk(k._f.body) if isinstance(n, ir.Call) and hasattr(n.callee, "ir"))
    barrier = next(n for n in ir.walk(call.callee.ir.body) if F.is_sync(n))
    with pytest.raises(CodegenError, match=r"sync_threads\(\) in this statement could not be split") as info:
        F.check_split([F.Seg([ir.ExprStmt(barrier, span=barrier.span)])])
    assert "device_barrier_kernels.py:" in str(info.value)
    with pytest.raises(CodegenError, match="holds a barrier or collective that was not inlined"):
        F.check_split([F.Seg([ir.ExprStmt(call, span=call.span)])])


# ---------------------------------------------------------------- grid barriers in loops
def test_grid_sync_inside_a_for_loop_numba_cooperative_groups_example():
    m = np.zeros((6, 64), np.int32)
    m[0] = np.arange(64)
    launch(D.sequential_rows, m)
    want = np.zeros_like(m)
    want[0] = np.arange(64)
    for row in range(1, 6):
        want[row] = want[row - 1][::-1] + 1
    np.testing.assert_array_equal(m, want)


def test_grid_sync_inside_a_while_loop_keeps_per_thread_locals_across_it():
    x = ints(96, 0, 1000)
    y = np.zeros(96, np.int32)
    out = np.zeros(96, np.int32)
    want_x, acc = x.astype(np.int64), np.zeros(96, np.int64)
    for _ in range(4):
        want_x = (np.roll(want_x, 1) + 2 * want_x + np.roll(want_x, -1)) % 1009
        acc += want_x
    launch(D.grid_smoothing, x, y, out, 4)
    np.testing.assert_array_equal(x, want_x)
    np.testing.assert_array_equal(out, acc)


@pytest.mark.parametrize("enabled", [0, 1])
def test_grid_sync_inside_a_uniform_if(enabled):
    x = ints(96, 0, 100)
    x0 = x.copy()
    out = np.zeros(96, np.int32)
    launch(D.grid_sync_when_enabled, x, out, enabled)
    if enabled:
        np.testing.assert_array_equal(x, x0 * 3 + 1)
        np.testing.assert_array_equal(out, np.roll(x0 * 3 + 1, -32))
    else:
        np.testing.assert_array_equal(x, x0)
        assert (out == -1).all()


def test_local_array_lives_across_grid_barriers_in_a_loop():
    x = ints(96, 0, 50)
    x0 = x.copy()
    out = np.zeros(96, np.int32)
    launch(D.local_array_across_grid_sync, x, out, 5)
    hist = np.zeros((3, 96), np.int64)
    for r in range(5):
        hist[r % 3] += np.roll(x0, -32) + r
    np.testing.assert_array_equal(out, hist[0] + 100 * hist[1] + 10000 * hist[2])
    np.testing.assert_array_equal(x, x0 + 5)


@kernel
def grid_sync_thread_dependent_loop(x: i32[:]):
    for r in range(thread_idx_x()):
        grid_sync()
    x[global_id()] = 1


def test_grid_sync_in_a_loop_whose_bound_depends_on_the_thread_is_refused():
    with pytest.raises(CodegenError, match=r"grid_sync\(\) inside control flow whose condition can differ") as info:
        grid_sync_thread_dependent_loop.cpu_source()
    assert f"{HERE}:" in str(info.value)


# ---------------------------------------------------------------- other backends
@pytest.mark.parametrize("k", D.ALL, ids=[k.name for k in D.ALL])
def test_only_the_cpu_inlines_device_functions_holding_barriers(k):
    devs = device_functions(k._f)
    cuda, cpu = k.cuda_source(), k.cpu_source()
    for dev in devs:
        assert f" {dev.name}(" in cuda                                 # CUDA keeps and calls them
        assert (f"def {dev.name}(" in cpu) == (not has_sync(dev))      # the CPU inlines those with syncs


@device
def barrier_helper(v: f64) -> f64:
    sync_threads()
    return v


@stencil(tile=(8,))
def stencil_calling_barrier_helper(u: Field1D[f64], out: Field1D[f64]):
    out[0] = barrier_helper(u[0])


def test_device_function_with_a_barrier_outside_a_kernel_is_refused_not_dropped():
    """Only kernels inline such functions; elsewhere the CPU spelling `pass` would drop the barrier."""
    with pytest.raises(CodegenError, match=r"sync_threads\(\) inside device function 'barrier_helper' cannot run "
                                           r"on the CPU emulator") as info:
        stencil_calling_barrier_helper.cpu_source()
    assert f"{HERE}:" in str(info.value)


SIM_SCRIPT = r"""
import numpy as np
from tests.kernels import device_barrier_kernels as D
from ringkernel_codegen.emit.common import device_functions
from ringkernel_codegen.intrinsics import Intrinsic
from ringkernel_codegen.ir import nodes as ir

LACKS = ("warp_collective", "block_collective", "grid_barrier")
ran = 0
for k in D.ALL:
    fns = [k._f, *device_functions(k._f)]
    if any(isinstance(getattr(n, "callee", None), Intrinsic) and n.callee.kind in LACKS
           for fn in fns for n in ir.walk(fn.body)):
        continue
    grid, block = D.GEOMETRY[k.name]
    rng = np.random.default_rng(1)
    a = []
    for p in k.params:
        if hasattr(p.type, "ndim"):
            a.append(rng.integers(0, 8, grid * block).astype(p.type.dtype.np_dtype))
        else:
            a.append(D.ARGS.get(k.name, {}).get(p.name, 3))
    b = [v.copy() if isinstance(v, np.ndarray) else v for v in a]
    k.to("cpu")[grid, block](*a)
    k.to("numba")[grid, block](*b)
    for u, v in zip(a, b):
        if isinstance(u, np.ndarray):
            np.testing.assert_array_equal(v, u, err_msg=k.name)
    ran += 1
print("simulator agrees on", ran, "kernels")
"""


@pytest.mark.sim
def test_numba_simulator_agrees_with_cpu_on_the_barrier_kernels():
    """The kernels the simulator can run (no warp, block or grid collectives): numba.cuda keeps the
    device functions with their barriers, the CPU inlines them; both must agree."""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1",
               PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-c", SIM_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "simulator agrees on 9 kernels" in proc.stdout, proc.stdout
