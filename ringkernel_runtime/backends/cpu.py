"""CPU backend: one OS thread per actor running an njit actor loop with the GIL released.

The loop (`actor_loop`) polls two input lanes (host queue, K2K inbox) in batches, calls the
handler per message in order (contract in actor_abi), publishes replies, honours control-block
commands between messages, beats the heartbeat and stamps HLC times. When idle it spins for
`spin_ns`, then yields and sleeps in short steps (<= 0.5 ms), so an idle actor costs almost no
CPU while terminate stays prompt. It returns to its Python thread only to terminate, to be
restarted, or when a message failed (left at the lane's head so the host can dead-letter it).
"""
from __future__ import annotations

import threading

import numpy as np
from numba import njit

from .. import actor_abi as abi
from ..atomics import load_acquire, now_ns, store_release
from ..hlc import hlc_tick, hlc_update
from ..layout import CB, CB_WORDS, QH_CAPACITY, QH_HEAD, QH_MASK, QH_TAIL, QH_TYPE_ID
from ..lifecycle import (CMD_ACTIVATE, CMD_DEACTIVATE, CMD_RESTART, CMD_TERMINATE, EXIT_FAILED,
                         EXIT_RESTART, EXIT_TERMINATED, KernelState)
from ..queues import Queue, backoff

_STATE, _CMD, _SEQ, _ACK = CB["state"], CB["command"], CB["command_seq"], CB["command_ack"]
_HEARTBEAT, _IN, _OUT, _ERR = CB["heartbeat_ns"], CB["messages_in"], CB["messages_out"], CB["error_code"]
_HLC_P, _HLC_L, _SPIN, _CORR, _EXIT = (CB["hlc_physical"], CB["hlc_logical"], CB["spin_ns"],
                                       CB["last_correlation"], CB["exit_reason"])
_ACTIVE, _DRAINING = int(KernelState.ACTIVE), int(KernelState.DRAINING)
CTX_FAIL_LANE = abi.CTX_FAIL_LANE

# _drain results
_OK, _FAILED, _COMMAND = 0, 1, 2


@njit(nogil=True)
def _drain(handler, lane, lane_id, ctrl, ctx, out, has_output, state, dummy_reply, peers, batch, seen):
    """Handle up to `batch` messages of one lane; returns (handled, status)."""
    hdr, meta, payload = lane[0], lane[1], lane[2]
    head = hdr[QH_HEAD]
    avail = load_acquire(hdr, QH_TAIL) - head
    if avail == 0:
        return 0, _OK
    n = avail if avail < batch else np.uint64(batch)
    mask = hdr[QH_MASK]
    ohdr, ometa, opayload = out[0], out[1], out[2]
    ocap = ohdr[QH_CAPACITY]
    omask = ohdr[QH_MASK]
    done = 0
    # one clock read per batch: each message's receive and reply events still get strictly
    # increasing HLC stamps (the rules count up the logical part); two clock reads per message
    # were most of this loop's cost (docs/benchmarks.md, the host path)
    pt = now_ns()
    for _ in range(n):
        if load_acquire(ctrl, _SEQ) != seen:
            return done, _COMMAND
        j = head & mask
        m = meta[j]
        ctx[abi.CTX_CORRELATION] = np.int64(m.correlation_id)
        ctx[abi.CTX_SOURCE] = np.int64(m.source)
        ctx[abi.CTX_FAILED] = 0
        ctx[abi.CTX_FAIL_CODE] = 0
        ctx[abi.CTX_FAIL_PEER] = -1
        ctx[abi.CTX_MESSAGE_INDEX] = ctrl[_IN]
        ctrl[_CORR] = ctx[abi.CTX_CORRELATION]
        hlc_update(ctx, abi.CTX_NOW_PHYSICAL, abi.CTX_NOW_LOGICAL, pt,
                   np.int64(m.hlc_physical), np.int64(m.hlc_logical))
        if has_output:
            otail = ohdr[QH_TAIL]
            polls = 0
            while otail - load_acquire(ohdr, QH_HEAD) >= ocap:   # reply queue full: backpressure
                polls += 1
                if load_acquire(ctrl, _SEQ) != seen:
                    return done, _COMMAND
                ctrl[_HEARTBEAT] = now_ns()
                backoff(polls)
            oj = otail & omask
        else:
            oj = np.uint64(0)          # output=None: `out` is a 2-slot dummy queue never published
        rc = handler(payload[j], opayload[oj], state[0], ctx, peers)
        if rc == abi.FAILED or ctx[abi.CTX_FAILED] != 0:
            ctrl[_ERR] = ctx[abi.CTX_FAIL_CODE]
            ctx[CTX_FAIL_LANE] = lane_id
            return done, _FAILED
        if rc == abi.REPLY and has_output:
            hlc_tick(ctx, abi.CTX_NOW_PHYSICAL, abi.CTX_NOW_LOGICAL, pt)
            om = ometa[oj]
            om.type_id = np.uint32(ohdr[QH_TYPE_ID])
            om.flags = np.uint32(0)
            om.correlation_id = m.correlation_id
            om.hlc_physical = np.uint64(ctx[abi.CTX_NOW_PHYSICAL])
            om.hlc_logical = np.uint32(ctx[abi.CTX_NOW_LOGICAL])
            om.source = np.uint32(ctx[abi.CTX_ACTOR_ID])
            store_release(ohdr, QH_TAIL, otail + np.uint64(1))
            ctrl[_OUT] += 1
        head += np.uint64(1)
        store_release(hdr, QH_HEAD, head)
        ctrl[_IN] += 1
        done += 1
    return done, _OK


@njit(nogil=True)
def actor_loop(handler, ctrl, ctx, host_lane, k2k_lane, out, has_output, state, dummy_reply, peers, batch):
    """Run until terminate, restart or a failed message; returns EXIT_* (also in ctrl)."""
    seen = ctrl[_ACK]
    active = ctrl[_STATE] == _ACTIVE
    idle = 0
    spin_ns = ctrl[_SPIN]
    last_work = now_ns()
    while True:
        t = now_ns()
        ctrl[_HEARTBEAT] = t
        seq = load_acquire(ctrl, _SEQ)
        if seq != seen:
            cmd = load_acquire(ctrl, _CMD)
            seen = seq
            if cmd == CMD_TERMINATE or cmd == CMD_RESTART:
                code = EXIT_TERMINATED if cmd == CMD_TERMINATE else EXIT_RESTART
                ctrl[_EXIT] = code
                store_release(ctrl, _ACK, seq)
                return code
            if cmd == CMD_DEACTIVATE:
                active = False
                ctrl[_STATE] = _DRAINING
            elif cmd == CMD_ACTIVATE:
                active = True
                ctrl[_STATE] = _ACTIVE
            store_release(ctrl, _ACK, seq)
        if not active:
            idle += 1
            backoff(idle if idle > 2048 else 2048)
            continue
        d0, s0 = _drain(handler, host_lane, 0, ctrl, ctx, out, has_output, state, dummy_reply, peers, batch, seen)
        if s0 == _FAILED:
            ctrl[_EXIT] = EXIT_FAILED
            return EXIT_FAILED
        d1, s1 = _drain(handler, k2k_lane, 1, ctrl, ctx, out, has_output, state, dummy_reply, peers, batch, seen)
        if s1 == _FAILED:
            ctrl[_EXIT] = EXIT_FAILED
            return EXIT_FAILED
        if d0 + d1 > 0:
            idle = 0
            last_work = t
            ctrl[_HLC_P] = ctx[abi.CTX_NOW_PHYSICAL]
            ctrl[_HLC_L] = ctx[abi.CTX_NOW_LOGICAL]
        elif t - last_work > spin_ns:
            idle += 1
            backoff(idle)


class CpuActor:
    """The memory and thread of one actor; the handle (runtime.py) drives it."""

    def __init__(self, kernel, actor_id: int, capacity: int, initial_state: np.ndarray,
                 spin_ns: int, peer_timeout_ns: int, batch: int, node_id: int = 0):
        self.kernel = kernel
        self.handler = kernel.cpu_handler()
        inp = kernel.input_type
        self.host_lane = Queue(inp.dtype, capacity, inp.type_id)
        self.k2k_lane = Queue(inp.dtype, capacity, inp.type_id)
        out = kernel.output_type
        self.has_output = out is not None
        self.out = Queue(out.dtype if out else abi.NO_OUTPUT_DTYPE, capacity if out else 2,
                         out.type_id if out else 0)
        self.dummy_reply = np.zeros(1, dtype=abi.NO_OUTPUT_DTYPE)
        self.initial_state = initial_state
        self.state = initial_state.copy()
        self.ctrl = np.zeros(CB_WORDS, dtype=np.int64)
        self.ctrl[CB["actor_id"]] = actor_id
        self.ctrl[CB["node_id"]] = node_id
        self.ctrl[_SPIN] = spin_ns
        self.ctrl[CB["peer_timeout_ns"]] = peer_timeout_ns
        self.ctx = np.zeros(abi.CTX_WORDS, dtype=np.int64)
        self.ctx[abi.CTX_ACTOR_ID] = actor_id
        self.ctx[abi.CTX_NODE_ID] = node_id
        self.ctx[abi.CTX_PEER_TIMEOUT_NS] = peer_timeout_ns
        self.batch = batch
        self.peers: tuple = ()
        self.thread: threading.Thread | None = None
        self._seq = 0
        self._cmd_lock = threading.Lock()

    # -- commands ------------------------------------------------------------------------------
    def post(self, cmd: int) -> int:
        """Write a command, then publish its sequence number; returns the sequence to wait for."""
        with self._cmd_lock:
            self._seq += 1
            self.ctrl[_CMD] = cmd
            self.ctrl[_SEQ] = self._seq
            return self._seq

    def acked(self, seq: int) -> bool:
        return int(self.ctrl[_ACK]) >= seq

    def reset_state(self) -> None:
        self.state[:] = self.initial_state

    def run_loop(self, active: bool) -> int:
        """Enter the njit loop on the calling thread (GIL released inside)."""
        self.ctrl[_STATE] = _ACTIVE if active else _DRAINING
        self.ctrl[_EXIT] = 0
        return actor_loop(self.handler, self.ctrl, self.ctx, self.host_lane.lane(), self.k2k_lane.lane(),
                          self.out.lane(), self.has_output, self.state, self.dummy_reply, self.peers,
                          self.batch)

    @property
    def heartbeat_ns(self) -> int:
        return int(self.ctrl[_HEARTBEAT])

    def fail_lane(self) -> Queue:
        return self.k2k_lane if int(self.ctx[CTX_FAIL_LANE]) == 1 else self.host_lane

    def compile(self) -> None:
        """Compile the loop for this handler and these dtypes now (errors surface at launch)."""
        import numba
        args = (self.handler, self.ctrl, self.ctx, self.host_lane.lane(), self.k2k_lane.lane(),
                self.out.lane(), self.has_output, self.state, self.dummy_reply, self.peers, self.batch)
        actor_loop.compile(tuple(numba.typeof(a) for a in args))
