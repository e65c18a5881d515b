"""Device operations of the numba.cuda actor loop (templates/ring_actor_numba.py.j2).

On a GPU, the ordered accesses are the linked CUDA C++ helpers of templates/numba_actor_ops.cu
(numba.cuda has no scoped relaxed load, release store or %globaltimer). Mapped host memory (host
lane, reply queue, control block) is ordered at system scope:

    poll_u / poll_i(arr, i)        ld.relaxed.sys      (a plain load in a spin loop is hoisted)
    store_i(arr, i, v)             st.relaxed.sys      (heartbeat, counters, state)
    publish_u / publish_i(arr,i,v) st.release.sys      (tail, head, command_ack, exit_reason)
    fence_sys()                    fence.acq_rel.sys   (after a poll saw a change / before a publish)

K2K inboxes live in device memory and only GPU threads touch them while they are live (the host
copies one only while its consumer is parked or stopped), so they are ordered at gpu scope:

    poll_u_gpu(arr, i)             ld.relaxed.gpu
    publish_u_gpu(arr, i, v)       st.release.gpu
    fence_gpu()                    fence.acq_rel.gpu
    k2k_tail(hdr) / k2k_release_head(hdr, v)   the consumer's side of an inbox (the actor loop)

    now()                          %globaltimer, ns
    beat(ctrl, beat_at, t)         heartbeat: store t if the block's last beat (beat_at[0], shared
                                   memory) is over BEAT_NS old; the loop beats per message, sends too
    copy_record(dst, i, src, j)    dst[i] = src[j] for record arrays

Under the numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1) the same names are plain Python on
numpy (the GIL orders everything; `now` is time.time_ns, `nap` sleeps), so the actor loop's
protocol can be tested without a GPU. Array arguments are 1-D uint64 (queue headers, locks) or
int64 (control block, ctx) arrays; `i` is a word index.

K2K sends from handlers (emit/numba_ring.py): `j = send_begin(hdr, lock, ctx, mctx, ctrl, beat_at, k)`
beats (rate-limited: a handler that sends in a long loop keeps its actor's heartbeat going), takes
the inbox's producer lock (a word in device memory) and waits for room (backpressure, bounded
by ctx[CTX_PEER_TIMEOUT_NS] and the host's abort flag mctx[CTX_ABORT]; beating while blocked); the
handler fills payload slot j; `send_commit(hdr, meta, lock, ctx, j)` writes the header, publishes
the tail and unlocks. send_begin returns -1 after marking ctx failed (FAIL_PEER_FULL), like
queues.send_peer.
"""
from __future__ import annotations

import time

import numpy as np
from numba import cuda, types

from ringkernel_codegen.abi.simulator import numba_simulator

from .. import actor_abi as abi
from ..layout import CB, QH_CAPACITY, QH_HEAD, QH_MASK, QH_TAIL, QH_TYPE_ID

SIMULATOR = numba_simulator()
_HEARTBEAT = CB["heartbeat_ns"]
NAP_MAX_NS = 8192
BEAT_NS = 1_000_000        # heartbeat store at most once per ms (RK_BEAT_NS of the CUDA C++ loop)

_dev = cuda.jit(device=True)


def ops_source_path() -> str:
    from ringkernel_codegen.intrinsics import data_dir
    return str(data_dir("templates") / "numba_actor_ops.cu")


if SIMULATOR:
    @_dev
    def poll_u(arr, i):
        return arr[i]

    @_dev
    def poll_i(arr, i):
        return arr[i]

    @_dev
    def store_i(arr, i, v):
        arr[i] = v

    @_dev
    def publish_u(arr, i, v):
        arr[i] = v

    @_dev
    def publish_i(arr, i, v):
        arr[i] = v

    @_dev
    def fence_sys():
        pass

    @_dev
    def poll_u_gpu(arr, i):
        return arr[i]

    @_dev
    def publish_u_gpu(arr, i, v):
        arr[i] = v

    @_dev
    def fence_gpu():
        pass

    @_dev
    def now():
        return np.int64(time.time_ns())

    @_dev
    def nap(ns):
        time.sleep(ns * 1e-9)

    def _plain(x):
        """The numpy object behind the simulator's in-kernel array wrappers."""
        while hasattr(x, "_item"):
            x = x._item
        return getattr(x, "_ary", x)

    @_dev
    def copy_record(dst, i, src, j):
        dst[i] = _plain(src[j])

else:
    from llvmlite import ir
    from numba.core import cgutils
    from numba.cuda.extending import intrinsic

    @intrinsic
    def _word_ptr(typingctx, arr, idx):
        """Address of arr[idx] as a uint64* (arr: a 1-D array of 8-byte integers)."""
        if not isinstance(arr, types.Array) or arr.ndim != 1 or arr.dtype.bitwidth != 64:
            return None
        sig = types.CPointer(types.uint64)(arr, idx)

        def codegen(context, builder, sig, args):
            aryty, idxty = sig.args
            ary = context.make_array(aryty)(context, builder, args[0])
            i = context.cast(builder, args[1], idxty, types.intp)
            ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [i], wraparound=False)
            return builder.bitcast(ptr, ir.PointerType(ir.IntType(64)))
        return sig, codegen

    _u64p = types.CPointer(types.uint64)
    _link = [ops_source_path()]
    _poll = cuda.declare_device("rk_nb_poll_u64", types.uint64(_u64p), link=_link, abi="c")
    _store = cuda.declare_device("rk_nb_store_u64", types.uint64(_u64p, types.uint64), link=_link, abi="c")
    _publish = cuda.declare_device("rk_nb_publish_u64", types.uint64(_u64p, types.uint64), link=_link, abi="c")
    _fence = cuda.declare_device("rk_nb_fence_acq_rel_sys", types.uint64(), link=_link, abi="c")
    _poll_gpu = cuda.declare_device("rk_nb_poll_u64_gpu", types.uint64(_u64p), link=_link, abi="c")
    _publish_gpu = cuda.declare_device("rk_nb_publish_u64_gpu", types.uint64(_u64p, types.uint64), link=_link,
                                       abi="c")
    _fence_gpu = cuda.declare_device("rk_nb_fence_acq_rel_gpu", types.uint64(), link=_link, abi="c")
    _timer = cuda.declare_device("rk_nb_globaltimer", types.uint64(), link=_link, abi="c")

    @_dev
    def poll_u(arr, i):
        return _poll(_word_ptr(arr, i))

    @_dev
    def poll_i(arr, i):
        return types.int64(_poll(_word_ptr(arr, i)))

    @_dev
    def store_i(arr, i, v):
        _store(_word_ptr(arr, i), types.uint64(v))

    @_dev
    def publish_u(arr, i, v):
        _publish(_word_ptr(arr, i), v)

    @_dev
    def publish_i(arr, i, v):
        _publish(_word_ptr(arr, i), types.uint64(v))

    @_dev
    def fence_sys():
        _fence()

    @_dev
    def poll_u_gpu(arr, i):
        return _poll_gpu(_word_ptr(arr, i))

    @_dev
    def publish_u_gpu(arr, i, v):
        _publish_gpu(_word_ptr(arr, i), v)

    @_dev
    def fence_gpu():
        _fence_gpu()

    @_dev
    def now():
        return types.int64(_timer())

    @_dev
    def nap(ns):
        cuda.nanosleep(types.uint32(ns))

    @_dev
    def copy_record(dst, i, src, j):
        dst[i] = src[j]


@_dev
def next_nap(ns):
    return ns * 2 if ns < NAP_MAX_NS else ns


@_dev
def beat(ctrl, beat_at, t):
    """Heartbeat: store t (a now() the caller read anyway) if the block's last store, beat_at[0]
    (shared memory, any thread), is more than BEAT_NS old. Racing threads may both store: harmless."""
    if t - beat_at[0] > BEAT_NS:
        beat_at[0] = t
        store_i(ctrl, _HEARTBEAT, t)


# --- the consumer's side of a K2K inbox (device memory: gpu scope) ------------------------------

@_dev
def k2k_tail(hdr):
    """The inbox's tail (relaxed); fence_gpu() once it moved, before reading the slots."""
    return poll_u_gpu(hdr, QH_TAIL)


@_dev
def k2k_release_head(hdr, v):
    """The consumed slots are free again for the GPU senders (release)."""
    publish_u_gpu(hdr, QH_HEAD, v)


# --- HLC: the rules of ringkernel_runtime/hlc.py (hlc_tick / hlc_update) ----------------------

@_dev
def hlc_tick(ctx, pt):
    if pt > ctx[abi.CTX_NOW_PHYSICAL]:
        ctx[abi.CTX_NOW_PHYSICAL] = pt
        ctx[abi.CTX_NOW_LOGICAL] = 0
    else:
        ctx[abi.CTX_NOW_LOGICAL] += 1


@_dev
def hlc_update(ctx, pt, lm, cm):
    lo = ctx[abi.CTX_NOW_PHYSICAL]
    c = ctx[abi.CTX_NOW_LOGICAL]
    nl = lo if lo > lm else lm
    if pt > nl:
        nl = pt
    if nl == lo and nl == lm:
        nc = (c if c > cm else cm) + 1
    elif nl == lo:
        nc = c + 1
    elif nl == lm:
        nc = cm + 1
    else:
        nc = types.int64(0)
    ctx[abi.CTX_NOW_PHYSICAL] = nl
    ctx[abi.CTX_NOW_LOGICAL] = nc


# --- messages ----------------------------------------------------------------------------------

@_dev
def write_header(m, type_id, corr, ctx):
    """Fill one slot header (plain stores; the caller publishes the tail with release)."""
    m.type_id = types.uint32(type_id)
    m.flags = types.uint32(0)
    m.correlation_id = types.uint64(corr)
    m.hlc_physical = types.uint64(ctx[abi.CTX_NOW_PHYSICAL])
    m.hlc_logical = types.uint32(ctx[abi.CTX_NOW_LOGICAL])
    m.source = types.uint32(ctx[abi.CTX_ACTOR_ID])


@_dev
def begin_message(ctx, m, index, t):
    ctx[abi.CTX_CORRELATION] = types.int64(m.correlation_id)
    ctx[abi.CTX_SOURCE] = types.int64(m.source)
    ctx[abi.CTX_FAILED] = 0
    ctx[abi.CTX_FAIL_CODE] = 0
    ctx[abi.CTX_FAIL_PEER] = -1
    ctx[abi.CTX_MESSAGE_INDEX] = index
    hlc_update(ctx, t, types.int64(m.hlc_physical), types.int64(m.hlc_logical))


# --- K2K ---------------------------------------------------------------------------------------

@_dev
def _give_up(ctx, k):
    ctx[abi.CTX_FAILED] = 1
    ctx[abi.CTX_FAIL_CODE] = abi.FAIL_PEER_FULL
    ctx[abi.CTX_FAIL_PEER] = k
    return types.int64(-1)


@_dev
def _should_stop(mctx, ctrl, beat_at, deadline):
    """Every 64 polls of a blocked send: beat (alive, only blocked), then: give up?"""
    t = now()
    beat(ctrl, beat_at, t)
    return poll_i(mctx, abi.CTX_ABORT) != 0 or t > deadline


@_dev
def send_begin(hdr, lock, ctx, mctx, ctrl, beat_at, k):
    """Lock peer k's inbox and wait for a free slot; its index, or -1 (ctx marked failed).
    The inbox is in device memory: its positions are ordered at gpu scope."""
    start = now()
    beat(ctrl, beat_at, start)               # a long loop of sends is not a stall
    deadline = start + ctx[abi.CTX_PEER_TIMEOUT_NS]
    polls = 0
    ns = 32
    while cuda.atomic.cas(lock, 0, types.uint64(0), types.uint64(1)) != types.uint64(0):
        polls += 1
        if (polls & 63) == 0 and _should_stop(mctx, ctrl, beat_at, deadline):
            return _give_up(ctx, k)
        nap(ns)
        ns = next_nap(ns)
    cuda.threadfence()                       # lock acquired: see the last producer's tail
    tail = poll_u_gpu(hdr, QH_TAIL)
    cap = hdr[QH_CAPACITY]
    polls = 0
    ns = 32
    while tail - poll_u_gpu(hdr, QH_HEAD) >= cap:   # inbox full: backpressure
        polls += 1
        if (polls & 63) == 0 and _should_stop(mctx, ctrl, beat_at, deadline):
            cuda.threadfence()
            cuda.atomic.exch(lock, 0, types.uint64(0))
            return _give_up(ctx, k)
        nap(ns)
        ns = next_nap(ns)
    fence_gpu()                              # the consumer's head release -> our slot reuse
    return types.int64(tail & hdr[QH_MASK])


@_dev
def send_commit(hdr, meta, lock, ctx, j):
    """Header of slot j, then the tail (release, gpu scope), then unlock."""
    tail = poll_u_gpu(hdr, QH_TAIL)
    hlc_tick(ctx, now())
    write_header(meta[j], hdr[QH_TYPE_ID], ctx[abi.CTX_CORRELATION], ctx)
    publish_u_gpu(hdr, QH_TAIL, tail + types.uint64(1))   # payload and header, then the tail
    cuda.threadfence()
    cuda.atomic.exch(lock, 0, types.uint64(0))
