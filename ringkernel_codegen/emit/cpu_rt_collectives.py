"""CPU runtime helpers (cpu_rt): warp and block collectives.

A collective receives per-thread arrays (one value per thread of the block, flat thread id order),
the calling thread's flat id `t` and the block's thread count `nt`; lanes are flat id % 32 and the
last warp of a block may be partial. The emulator runs every thread to every collective, so all
arguments of all threads are known when a collective runs.
"""
from __future__ import annotations

import numpy as np

from .cpu_rt_bits import rt_jit


# --- warp collectives --------------------------------------------------------------------------

@rt_jit
def _warp_lanes(t, nt):
    """(first flat id of t's warp, lanes present in that warp)."""
    base = (t // 32) * 32
    return base, min(32, nt - base)


@rt_jit
def shfl_idx(vals, src, t, nt):
    """__shfl_sync: value of lane src & 31; own value when that lane does not exist."""
    base, n = _warp_lanes(t, nt)
    lane = np.int64(src[t]) & 31
    return vals[base + lane] if lane < n else vals[t]


@rt_jit
def shfl_up(vals, delta, t, nt):
    base, n = _warp_lanes(t, nt)
    j = (t - base) - np.int64(np.uint32(delta[t]))
    return vals[base + j] if 0 <= j < n else vals[t]


@rt_jit
def shfl_down(vals, delta, t, nt):
    base, n = _warp_lanes(t, nt)
    j = (t - base) + np.int64(np.uint32(delta[t]))
    return vals[base + j] if j < n else vals[t]


@rt_jit
def shfl_xor(vals, lanemask, t, nt):
    base, n = _warp_lanes(t, nt)
    j = (t - base) ^ np.int64(np.uint32(lanemask[t]))
    return vals[base + j] if j < n else vals[t]


@rt_jit
def ballot(mask, pred, t, nt):
    """Bit i set when lane i exists, is in the caller's mask and has a non-zero predicate."""
    base, n = _warp_lanes(t, nt)
    m = np.uint64(np.uint32(mask[t]))
    r = np.uint64(0)
    for i in range(n):
        if (m >> np.uint64(i)) & np.uint64(1) and pred[base + i] != 0:
            r |= np.uint64(1) << np.uint64(i)
    return np.uint32(r)


@rt_jit
def any_sync(mask, pred, t, nt):
    return np.int32(ballot(mask, pred, t, nt) != 0)


@rt_jit
def all_sync(mask, pred, t, nt):
    base, n = _warp_lanes(t, nt)
    m = np.uint64(np.uint32(mask[t]))
    for i in range(n):
        if (m >> np.uint64(i)) & np.uint64(1) and pred[base + i] == 0:
            return np.int32(0)
    return np.int32(1)


@rt_jit
def activemask(t, nt):
    """Lanes present in the caller's warp (the emulator runs every thread to every collective)."""
    base, n = _warp_lanes(t, nt)
    return np.uint32((np.uint64(1) << np.uint64(n)) - np.uint64(1))


@rt_jit
def match_any(mask, vals, t, nt):
    base, n = _warp_lanes(t, nt)
    m = np.uint64(np.uint32(mask[t]))
    r = np.uint64(0)
    for i in range(n):
        if (m >> np.uint64(i)) & np.uint64(1) and vals[base + i] == vals[t]:
            r |= np.uint64(1) << np.uint64(i)
    return np.uint32(r)


@rt_jit
def match_all(mask, vals, t, nt):
    """mask (restricted to present lanes) when every lane in it holds the caller's value, else 0."""
    base, n = _warp_lanes(t, nt)
    m = np.uint64(np.uint32(mask[t]))
    r = np.uint64(0)
    for i in range(n):
        if (m >> np.uint64(i)) & np.uint64(1):
            if vals[base + i] != vals[t]:
                return np.uint32(0)
            r |= np.uint64(1) << np.uint64(i)
    return np.uint32(r)


@rt_jit
def _masked_reduce(mask, vals, t, nt, op):
    base, n = _warp_lanes(t, nt)
    m = np.uint64(np.uint32(mask[t]))
    acc = np.zeros(1, vals.dtype)
    first = True
    for i in range(n):
        if (m >> np.uint64(i)) & np.uint64(1):
            v = vals[base + i]
            if first:
                acc[0] = v
                first = False
            elif op == 0:
                acc[0] = acc[0] + v
            elif op == 1:
                acc[0] = min(acc[0], v)
            elif op == 2:
                acc[0] = max(acc[0], v)
            elif op == 3:
                acc[0] = acc[0] & v
            elif op == 4:
                acc[0] = acc[0] | v
            else:
                acc[0] = acc[0] ^ v
    return acc[0]


@rt_jit
def reduce_add(mask, vals, t, nt):
    return _masked_reduce(mask, vals, t, nt, 0)


@rt_jit
def reduce_min(mask, vals, t, nt):
    return _masked_reduce(mask, vals, t, nt, 1)


@rt_jit
def reduce_max(mask, vals, t, nt):
    return _masked_reduce(mask, vals, t, nt, 2)


@rt_jit
def reduce_and(mask, vals, t, nt):
    return _masked_reduce(mask, vals, t, nt, 3)


@rt_jit
def reduce_or(mask, vals, t, nt):
    return _masked_reduce(mask, vals, t, nt, 4)


@rt_jit
def reduce_xor(mask, vals, t, nt):
    return _masked_reduce(mask, vals, t, nt, 5)


@rt_jit
def _warp_fold(vals, t, nt, op):
    base, n = _warp_lanes(t, nt)
    return _fold(vals, base, base + n, op)


@rt_jit
def _fold(vals, lo, hi, op):
    """Fold vals[lo:hi] in order; floats: min/max ignore NaN like fminf/fmaxf."""
    acc = np.zeros(1, vals.dtype)
    acc[0] = vals[lo]
    for i in range(lo + 1, hi):
        v = vals[i]
        if op == 0:
            acc[0] = acc[0] + v
        elif op == 1:
            acc[0] = np.fmin(acc[0], v)
        else:
            acc[0] = np.fmax(acc[0], v)
    return acc[0]


@rt_jit
def warp_reduce_sum(vals, t, nt):
    return _warp_fold(vals, t, nt, 0)


@rt_jit
def warp_reduce_min(vals, t, nt):
    return _warp_fold(vals, t, nt, 1)


@rt_jit
def warp_reduce_max(vals, t, nt):
    return _warp_fold(vals, t, nt, 2)


# --- warp regions -------------------------------------------------------------------------------
# Control flow around warp collectives that may diverge runs under a per-thread active mask (flat
# thread id order, like the argument arrays); `done` marks threads that have returned. See
# passes/fission.py and emit/cpu_segments.py (SegmentWriter.masked).

@rt_jit
def any_live(mask, done):
    """Is some thread in `mask` still running?"""
    for i in range(mask.shape[0]):
        if mask[i] and not done[i]:
            return True
    return False


@rt_jit
def mask_live(mask, done):
    """A new mask: the threads of `mask` that have not returned."""
    out = np.zeros(mask.shape[0], np.bool_)
    for i in range(mask.shape[0]):
        out[i] = mask[i] and not done[i]
    return out


@rt_jit
def mask_where(mask, done, vals, truth):
    """A new mask: the live threads of `mask` whose condition value (vals != 0) equals `truth`."""
    out = np.zeros(mask.shape[0], np.bool_)
    for i in range(mask.shape[0]):
        out[i] = mask[i] and not done[i] and (vals[i] != 0) == truth
    return out


@rt_jit
def mask_off(mask, gone):
    """Take the threads of `gone` out of `mask` (in place): break / continue."""
    for i in range(mask.shape[0]):
        if gone[i]:
            mask[i] = False


@rt_jit
def range_keep(mask, done, counter, stop, step):
    """Per-thread range(): drop from `mask` (in place) the threads whose counter has run out."""
    for i in range(mask.shape[0]):
        if mask[i] and not done[i]:
            s = step[i]
            c = counter[i]
            if not ((s > 0 and c < stop[i]) or (s < 0 and c > stop[i])):
                mask[i] = False


@rt_jit
def trip_count(start, stop, step):
    """len(range(start, stop, step)) for a nonzero step (an interchanged loop's iterations in one thread)."""
    a, b, c = np.int64(start), np.int64(stop), np.int64(step)
    if c > 0:
        return (b - a + c - 1) // c if b > a else np.int64(0)
    return (a - b - c - 1) // (-c) if a > b else np.int64(0)


@rt_jit
def set_where(dst, src, mask):
    for i in range(mask.shape[0]):
        if mask[i]:
            dst[i] = src[i]


@rt_jit
def warp_converged(masks, active, done, nt):
    """True when every active lane names in its mask only lanes that are active too (lanes that
    returned or do not exist do not count): what CUDA asks of a *_sync collective."""
    for t in range(nt):
        if not active[t] or done[t]:
            continue
        base, n = _warp_lanes(t, nt)
        m = np.uint64(np.uint32(masks[t]))
        for i in range(n):
            if (m >> np.uint64(i)) & np.uint64(1) and not active[base + i] and not done[base + i]:
                return False
    return True


@rt_jit
def warp_converged_full(active, done, nt):
    """True when in every warp with an active lane all lanes are active (or have returned)."""
    for t in range(nt):
        if not active[t] or done[t]:
            continue
        base, n = _warp_lanes(t, nt)
        for i in range(n):
            if not active[base + i] and not done[base + i]:
                return False
    return True


@rt_jit
def active_lanes(active, done, t, nt):
    """activemask() inside a warp region: the lanes of t's warp running this code now."""
    base, n = _warp_lanes(t, nt)
    r = np.uint64(0)
    for i in range(n):
        if active[base + i] and not done[base + i]:
            r |= np.uint64(1) << np.uint64(i)
    return np.uint32(r)


# --- block collectives -------------------------------------------------------------------------

@rt_jit
def syncthreads_count(pred, nt):
    c = 0
    for i in range(nt):
        if pred[i] != 0:
            c += 1
    return np.int32(c)


@rt_jit
def syncthreads_and(pred, nt):
    return np.int32(syncthreads_count(pred, nt) == nt)


@rt_jit
def syncthreads_or(pred, nt):
    return np.int32(syncthreads_count(pred, nt) != 0)


@rt_jit
def block_reduce_sum(vals, nt):
    return _fold(vals, 0, nt, 0)


@rt_jit
def block_reduce_min(vals, nt):
    return _fold(vals, 0, nt, 1)


@rt_jit
def block_reduce_max(vals, nt):
    return _fold(vals, 0, nt, 2)
