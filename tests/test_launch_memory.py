"""A barrier kernel's cpu launch allocates emulation state per block and worker, never per grid
(#15): its peak resident memory does not grow with the number of blocks. Measured with
tools/bench/rss.py (VmHWM reset through /proc/self/clear_refs; Linux only, else skipped)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from ringkernel_codegen import f32, f64, kernel
from ringkernel_codegen.dsl import block_idx_x, local_array, shared_array, sync_threads, thread_idx_x

_RSS_PY = Path(__file__).resolve().parents[1] / "tools" / "bench" / "rss.py"
_spec = importlib.util.spec_from_file_location("rss", _RSS_PY)
rss = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rss)

BLOCK = 64
KEEP = 16  # f64 per thread that live across the barrier: 8 KiB of state per block
MB = 2 ** 20


@kernel
def block_sum_keeping(x: f32[:], out: f64[:]):
    buf = shared_array(BLOCK, f32)
    keep = local_array(KEEP, f64)
    t = thread_idx_x()
    b = block_idx_x()
    for k in range(KEEP):
        keep[k] = x[b * BLOCK + t] * k
    buf[t] = x[b * BLOCK + t]
    sync_threads()
    if t == 0:
        total = 0.0
        for k in range(BLOCK):
            total += buf[k]
        out[b] = total + keep[1] - x[b * BLOCK]  # keep[1] is this thread's x: adds nothing


def launch_peak(blocks: int) -> float:
    x = np.random.default_rng(blocks).random(blocks * BLOCK, dtype=np.float32)
    out = np.zeros(blocks, np.float64)
    peak = rss.launch_peak_mb(block_sum_keeping.to("cpu")[blocks, BLOCK], x, out)
    np.testing.assert_allclose(out, x.reshape(blocks, BLOCK).sum(axis=1, dtype=np.float64), rtol=1e-6)
    return peak


@pytest.fixture(scope="module")
def measurable():
    if not rss.reset_peak():
        pytest.skip("this platform cannot reset the peak RSS (/proc/self/clear_refs)")


def test_the_measurement_sees_a_calls_fresh_allocation(measurable):
    # 96 MiB: above glibc's largest mmap threshold (32 MiB), so fresh pages whatever ran before;
    # a smaller block may come from heap pages the process already holds and not raise RSS
    peak = rss.launch_peak_mb(lambda: np.ones(12 * MB).sum())
    assert peak >= 0.9 * 96


def test_barrier_launch_memory_does_not_grow_with_the_grid(measurable):
    small, large = 1024, 8 * 1024
    launch_peak(large)  # compiles, starts numba's threads
    grow = launch_peak(large) - launch_peak(small)
    # what state kept per grid would add: 56 MiB (its 64 MiB array at 8192 blocks is mmapped fresh)
    per_grid = (large - small) * BLOCK * KEEP * 8 / MB
    assert grow < 0.25 * per_grid, f"launch peak grew {grow:.1f} MiB from {small} to {large} blocks"
