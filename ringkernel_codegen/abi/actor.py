"""The contract between a ring kernel (generated or hand-written) and the CPU actor loop: its constants.

The emitters write handlers against it and the runtime's loops call them, so the constants live
here, in the compiler's contracts package; `ringkernel_runtime.actor_abi` re-exports them next to
the runtime-side pieces (RingKernelSpec, ring_kernel, check_kernel).

A ring kernel object (what `@ring_kernel` returns) exposes:

    name          str
    input_type    @message class of the messages it receives
    output_type   @message class of its replies, or None
    state_type    @message class of its persistent state, or None
    peers         dict peer name -> @message class it sends to that peer
    parallel      bool (the CPU backend runs messages in order either way)
    cpu_handler() -> a numba.njit(nogil=True) function

        handler(msg, reply, state, ctx, peer_queues) -> int32

    msg          record of input_type.dtype; read-only (it is the queue slot itself)
    reply        record of output_type.dtype to fill; it is the reply queue slot and holds
                 stale bytes: write EVERY field (a constructor's missing fields are 0).
                 When output_type is None: a record of NO_OUTPUT_DTYPE, ignore it.
    state        record of state_type.dtype (view into a persistent 1-element array; writes
                 persist across messages; reset to LaunchOptions(state=...) on restart).
                 When state_type is None: a record of NO_STATE_DTYPE.
    ctx          int64 array, CTX_WORDS long, indices below (CTX_*)
    peer_queues  tuple, one entry per peer in sorted(peers) order; each entry is the tuple
                 (queue_header u64[:], slot_headers, payloads, scratch) built by
                 ringkernel_runtime.queues; `scratch` is a 1-element array of the peer's dtype.

    returns      REPLY (0) reply written and published; NO_REPLY (1); FAILED (2)

What generated code emits for the context calls (`from ringkernel_runtime import queues as _q`,
`from ringkernel_runtime import actor_abi as _abi`):

    ctx.state.x            -> state.x
    ctx.actor_id()         -> ctx[_abi.CTX_ACTOR_ID]
    ctx.now()              -> ctx[_abi.CTX_NOW_PHYSICAL]   (HLC physical ns after receiving msg;
                              ctx[_abi.CTX_NOW_LOGICAL] is its logical counter)
    ctx.fail(code)         -> ctx[_abi.CTX_FAILED] = 1; ctx[_abi.CTX_FAIL_CODE] = code; return 2
    ctx.send("p", Msg(a=x, b=y))  with p the k-th name in sorted(peers):
                           -> _m = peer_queues[k][3][0]; _m.a = x; _m.b = y
                              if _q.send_peer(peer_queues[k], ctx, _m, k) != 0: return 2
       send_peer blocks (spin, then back off) while the peer's K2K inbox is full, up to
       ctx[CTX_PEER_TIMEOUT_NS]; on timeout or terminate it marks ctx failed (code
       FAIL_PEER_FULL, ctx[CTX_FAIL_PEER] = k) and returns 1. The loop treats ctx[CTX_FAILED]
       as a failure even if the handler returns 0, so ignoring the status is safe.
    return Sum(value=v)    -> reply.value = v; return 0
    return None / no return with output=None -> return 1

The loop also sets ctx[CTX_CORRELATION], ctx[CTX_SOURCE] (0 = host) and ctx[CTX_MESSAGE_INDEX]
before each call, and clears CTX_FAILED/CTX_FAIL_CODE/CTX_FAIL_PEER.
"""
from __future__ import annotations

import numpy as np

REPLY, NO_REPLY, FAILED = 0, 1, 2

CTX_ACTOR_ID = 0
CTX_NOW_PHYSICAL = 1
CTX_NOW_LOGICAL = 2
CTX_FAILED = 3
CTX_FAIL_CODE = 4
CTX_CORRELATION = 5
CTX_SOURCE = 6
CTX_MESSAGE_INDEX = 7
CTX_ABORT = 8             # host sets it on terminate: blocking sends give up at once
CTX_PEER_TIMEOUT_NS = 9
CTX_NODE_ID = 10
CTX_FAIL_PEER = 11
CTX_FAIL_LANE = 12        # set by the loop: lane of the failed message (0 host, 1 K2K inbox)
CTX_WORDS = 16

FAIL_PEER_FULL = -2       # ctx.send found the peer's inbox full past CTX_PEER_TIMEOUT_NS

NO_OUTPUT_DTYPE = np.dtype([("unused", "u8")])
NO_STATE_DTYPE = np.dtype([("unused", "u8")])

