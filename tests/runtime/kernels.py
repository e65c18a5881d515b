"""Hand-written ring kernels that follow ringkernel_runtime.actor_abi (shared by the tests).

They stand in for what the codegen's @ring_kernel will generate; compiled once per process.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ringkernel_codegen.message import Array, message
from ringkernel_codegen.types import f32, f64, i32, i64
from ringkernel_runtime import actor_abi as abi
from ringkernel_runtime import queues as _q
from ringkernel_runtime.actor_abi import ring_kernel


@message
class Add:
    a: f32
    b: f32


@message
class Sum:
    value: f32


@message
class Seq:
    """A 64-byte message carrying a sequence number."""
    seq: i64
    producer: i64 = 0
    fail: i64 = 0
    pad: Array(i64, 5) = 0


@message
class SeqReply:
    seq: i64
    producer: i64
    count: i64
    hlc_physical: i64
    hlc_logical: i64
    pad: Array(i64, 3)


@message
class Counter:
    count: i64
    total: f64


@message
class Other:
    x: i32


@njit(nogil=True)
def _adder(msg, reply, state, ctx, peers):
    reply.value = msg.a + msg.b
    return abi.REPLY


adder = ring_kernel(input=Add, output=Sum, name="adder")(_adder)


@njit(nogil=True)
def _counter(msg, reply, state, ctx, peers):
    """Echo seq, count messages; fail when msg.fail != 0 (before touching state)."""
    if msg.fail != 0:
        ctx[abi.CTX_FAILED] = 1
        ctx[abi.CTX_FAIL_CODE] = msg.fail
        return abi.FAILED
    state.count += 1
    state.total += msg.seq
    reply.seq = msg.seq
    reply.producer = msg.producer
    reply.count = state.count
    reply.hlc_physical = ctx[abi.CTX_NOW_PHYSICAL]
    reply.hlc_logical = ctx[abi.CTX_NOW_LOGICAL]
    for i in range(3):
        reply.pad[i] = 0
    return abi.REPLY


counter = ring_kernel(input=Seq, output=SeqReply, state=Counter, name="counter")(_counter)


@njit(nogil=True)
def _forwarder(msg, reply, state, ctx, peers):
    """K2K: forward every Seq to peer "next" (the only peer, index 0); no reply."""
    m = peers[0][3][0]
    m.seq = msg.seq
    m.producer = msg.producer
    m.fail = msg.fail
    for i in range(5):
        m.pad[i] = 0
    if _q.send_peer(peers[0], ctx, m, 0) != 0:
        return abi.FAILED
    return abi.NO_REPLY


forwarder = ring_kernel(input=Seq, output=None, peers={"next": Seq}, name="forwarder")(_forwarder)


@njit(nogil=True)
def _sleeper(msg, reply, state, ctx, peers):
    """Busy for msg.seq nanoseconds (a stuck handler for the watchdog test)."""
    t0 = ctx[abi.CTX_NOW_PHYSICAL]
    x = 0
    end = np.int64(msg.seq)
    from_ = np.int64(0)
    while from_ < end:
        from_ = _now() - t0
        x += 1
    reply.seq = msg.seq
    reply.producer = x
    return abi.REPLY


from ringkernel_runtime.atomics import now_ns as _now  # noqa: E402

sleeper = ring_kernel(input=Seq, output=SeqReply, name="sleeper")(_sleeper)
