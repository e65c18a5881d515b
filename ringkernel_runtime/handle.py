"""KernelHandle: the user's view of one launched actor (send, receive, lifecycle, stats).

The handle is backend-neutral: it drives a backend actor object (backends/cpu.py `CpuActor`)
through its queues (`host_lane`, `k2k_lane`, `out`: queues.Queue), control block (`ctrl`,
`post(cmd)`, `acked(seq)`), `ctx`, `reset_state()` and `run_loop(active)`.
"""
from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from . import actor_abi as abi
from .deadletter import DeadLetter
from .errors import (ActorTerminatedError, CommandTimeout, LifecycleError, MessageTypeError,
                     QueueFullError, ReceiveTimeout, RingKernelError)
from .layout import CB
from .lifecycle import (CMD_ACTIVATE, CMD_DEACTIVATE, CMD_NONE, CMD_RESTART, CMD_TERMINATE, EXIT_FAILED,
                        EXIT_RESTART, EXIT_TERMINATED, KernelState, Lifecycle)
from .queues import wait_until

S = KernelState


@dataclass(frozen=True)
class KernelStats:
    messages_in: int
    messages_out: int
    queue_depth: int          # host lane + K2K inbox
    reply_depth: int
    restarts: int
    last_heartbeat: float     # seconds since the epoch (0.0 before the first beat)
    error_code: int


class KernelHandle:
    def __init__(self, runtime, kernel, actor, options, name: str, parent=None, restart_policy=None):
        self.runtime, self.kernel, self.actor, self.options = runtime, kernel, actor, options
        self.name, self.parent, self.restart_policy = name, parent, restart_policy
        self.lifecycle = Lifecycle(name)
        self.restart_count = 0
        self.escalated = False
        self.escalations: list[tuple[float, str, str]] = []
        self._restart_times: deque[float] = deque()
        self._stalled = False
        self._terminating = False
        self._active_wanted = options.activate
        self._corr = itertools.count(1)
        self._life_lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self.crash: BaseException | None = None
        self.started_ns = 0
        # the per-message send path, bound once
        self._input_type, self._lane, self._tick = kernel.input_type, actor.host_lane, runtime.hlc.tick

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def state(self) -> KernelState:
        return self.lifecycle.state

    @property
    def actor_id(self) -> int:
        return int(self.actor.ctrl[CB["actor_id"]])

    @property
    def restartable(self) -> bool:
        return not (self._stalled or self._terminating or self.escalated
                    or self.state == S.TERMINATED)

    def _start(self) -> None:
        self.started_ns = time.time_ns()   # the watchdog counts a first beat that never comes from here
        self.lifecycle.to(S.INITIALIZING, "launch")
        self._thread = threading.Thread(target=self._thread_main, name=f"actor:{self.name}", daemon=True)
        self._thread.start()
        # the thread may already have failed (a launch error, a message failing at once): keep that
        self.lifecycle.try_to(S.ACTIVE if self._active_wanted else S.DRAINING, "launched")

    def _thread_main(self) -> None:
        while True:
            try:
                reason = self.actor.run_loop(self._active_wanted)
            except BaseException as exc:  # a handler that raised (crash): fail like ctx.fail
                self.crash, reason = exc, -1
            if self._stalled or reason == EXIT_TERMINATED:
                return
            fault = getattr(self.actor, "fault", None)
            if fault is not None:         # the GPU grid faulted or vanished: nothing left to restart
                self._faulted(fault)
                return
            with self._life_lock:
                if self._terminating:
                    return
                if reason == EXIT_RESTART:
                    self._restarted("restart requested by supervisor")
                    continue
                why = "failed" if reason == EXIT_FAILED else f"crashed: {self.crash!r}"
                if reason == EXIT_FAILED:
                    self._dead_letter_failed()
                self.lifecycle.try_to(S.FAILED, why)
                targets = self.runtime.supervisor.on_failure(self, why)
                for t in targets:
                    if t is not self:
                        t._request_restart()
                if self not in targets:
                    return
                self._restarted(why)

    def _restarted(self, why: str) -> None:
        self.actor.reset_state()
        self.restart_count += 1
        self.lifecycle.try_to(S.INITIALIZING, why)
        self.lifecycle.try_to(S.ACTIVE if self._active_wanted else S.DRAINING, "restarted")

    def _request_restart(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self.actor.post(CMD_RESTART)

    def _dead_letter_failed(self) -> None:
        lane = self.actor.fail_lane()      # the loop left the failed message at the lane's head
        popped = lane.pop_one()
        if popped is None:
            return
        rec, hdr = popped
        code = int(self.actor.ctx[abi.CTX_FAIL_CODE])
        reason = "failed"
        if code == abi.FAIL_PEER_FULL:
            k = int(self.actor.ctx[abi.CTX_FAIL_PEER])
            reason = f"peer_full:{sorted(self.kernel.peers)[k]}"
        self.runtime.dead_letters.add(DeadLetter(reason, self.kernel.input_type.from_array(rec), self.name,
                                                 time.time(), code, hdr[0]))

    def _faulted(self, fault: BaseException) -> None:
        with self._life_lock:
            if self._terminating:
                return
            self._stalled = True              # not restartable: a faulted context stays faulted
            detail = f"kernel fault: {fault}"
            self.lifecycle.try_to(S.FAILED, detail)
            self.runtime.supervisor.record("fault", self, detail)
            self.runtime.supervisor.on_failure(self, detail)
            self.runtime.supervisor._escalate(self, detail)

    def _stall(self) -> None:
        """Watchdog: the heartbeat stopped. The thread cannot be preempted: fail, never restart."""
        with self._life_lock:
            if self._stalled or self.state not in (S.ACTIVE, S.DRAINING):
                return
            self._stalled = True
            detail = self.stall_report()
            self.actor.ctx[abi.CTX_ABORT] = 1
            self.actor.post(CMD_TERMINATE)     # if the handler ever returns, the loop exits
            self.lifecycle.try_to(S.FAILED, detail)
            self.runtime.supervisor.record("stalled", self, detail)
            self.runtime.supervisor.on_failure(self, "stalled")
            self.runtime.supervisor._escalate(self, "stalled")

    def stall_report(self) -> str:
        """Where the actor's loop (a GPU block, or the CPU thread) was, from its control block."""
        c = self.actor.ctrl
        if not self.actor.heartbeat_ns:
            return (f"stalled: no heartbeat within {self.options.stall_timeout}s of the launch: the loop never "
                    "started (on a GPU: the block did not become resident; too many resident actors or "
                    "pool blocks for the device?)")
        try:
            state = KernelState(int(c[CB["state"]])).name
        except ValueError:
            state = f"unknown ({int(c[CB['state']])})"
        cmd = int(c[CB["command"]])
        names = {CMD_NONE: "none", CMD_ACTIVATE: "activate", CMD_DEACTIVATE: "deactivate",
                 CMD_TERMINATE: "terminate", CMD_RESTART: "restart"}
        return (f"stalled: no heartbeat for {self.options.stall_timeout}s; last reported state {state}, "
                f"handling correlation id {int(c[CB['last_correlation']])} after "
                f"{int(c[CB['messages_in']])} messages in / {int(c[CB['messages_out']])} out; last command "
                f"{names.get(cmd, cmd)} (seq {int(c[CB['command_seq']])}, acknowledged {int(c[CB['command_ack']])})")

    def _command(self, cmd: int, timeout: float) -> None:
        if self._thread is None or not self._thread.is_alive():
            raise LifecycleError(f"actor {self.name} is {self.state.name}; its loop is not running")
        seq = self.actor.post(cmd)
        if not wait_until(lambda: self.actor.acked(seq), timeout):
            raise CommandTimeout(f"actor {self.name} did not acknowledge the command within {timeout}s; "
                                 "its handler may be stuck (see rt.supervisor.events for the watchdog)")

    def activate(self, timeout: float = 2.0) -> None:
        with self._life_lock:
            if self.state == S.ACTIVE:
                return
            if not self.lifecycle.can(S.ACTIVE):
                raise LifecycleError(f"actor {self.name} is {self.state.name} and cannot be activated")
            self._active_wanted = True
            self._command(CMD_ACTIVATE, timeout)
            self.lifecycle.to(S.ACTIVE, "activate")

    def deactivate(self, timeout: float = 2.0) -> None:
        with self._life_lock:
            if self.state == S.DRAINING:
                return
            if not self.lifecycle.can(S.DRAINING):
                raise LifecycleError(f"actor {self.name} is {self.state.name} and cannot be deactivated")
            self._active_wanted = False
            self._command(CMD_DEACTIVATE, timeout)
            self.lifecycle.to(S.DRAINING, "deactivate")

    def terminate(self, timeout: float = 2.0) -> bool:
        """Stop the actor after the message in hand; pending input goes to dead letters.

        Returns False when the loop did not exit within `timeout` (a handler stuck in a long
        computation); the actor is TERMINATED either way and accepts no more messages.
        """
        with self._life_lock:
            if self.state == S.TERMINATED:
                return True
            self._terminating = True
            self.actor.ctx[abi.CTX_ABORT] = 1
            exited = True
            if (self._thread is not None and self._thread.is_alive()) or getattr(self.actor, "launched", False):
                self.actor.post(CMD_TERMINATE)   # a parked GPU block outlives a failed actor's thread
            self.lifecycle.to(S.TERMINATED, "terminate")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            exited = not self._thread.is_alive()
        stopped = getattr(self.actor, "wait_stopped", None)
        if stopped is not None:
            exited = stopped(timeout) and exited
        if exited:
            self._dead_letter_pending()
        self.runtime._forget(self)
        return exited

    def _dead_letter_pending(self) -> None:
        for lane in (self.actor.host_lane, self.actor.k2k_lane):
            with lane.send_lock:
                recs, meta = lane.pop_many(lane.capacity)
            now = time.time()
            for i in range(len(recs)):
                self.runtime.dead_letters.add(DeadLetter(
                    "terminated", self.kernel.input_type.from_array(recs[i:i + 1]), self.name, now,
                    None, int(meta[i]["correlation_id"])))

    # -- sending -------------------------------------------------------------------------------
    def _check_alive(self) -> None:
        st = self.state
        if st == S.TERMINATED or (st == S.FAILED and not self.restartable):
            raise ActorTerminatedError(
                f"actor {self.name} is {st.name}{' (escalated)' if self.escalated else ''}; it accepts "
                "no messages. Spawn or launch it again (rt.spawn / rt.launch).")

    def _record_of(self, msg):
        t = self.kernel.input_type
        if isinstance(msg, t):
            return msg.record
        if isinstance(msg, (np.void, np.ndarray)) and msg.dtype == t.dtype and msg.size == 1:
            return msg
        got = type(msg).__name__ if not hasattr(msg, "dtype") else f"{type(msg).__name__} with dtype {msg.dtype}"
        raise MessageTypeError(f"actor {self.name} takes {t.__name__} messages, got {got}; "
                               f"build one with {t.__name__}({', '.join(f'{n}=...' for n in t.dtype.names)})")

    def send(self, msg, timeout: float | None = None) -> int:
        """Enqueue one message; returns its correlation id (copied into the reply's header)."""
        rec = msg.record if type(msg) is self._input_type else self._record_of(msg)
        q = self._lane
        with q.send_lock:          # terminate drains under this lock: a send is processed,
            st = self.lifecycle._state         # dead-lettered or refused, never lost
            if st is S.TERMINATED or st is S.FAILED:
                self._check_alive()
            corr = next(self._corr)
            physical, logical = self._tick()
            if q.push_one(rec, corr, physical, logical):
                return corr
            policy = self.options.overflow
            if policy == "dead_letter":
                self.runtime.dead_letters.add(DeadLetter("queue_full", self.kernel.input_type.from_record(rec),
                                                         self.name, time.time(), None, corr))
                return corr
            timeout = self.options.send_timeout if timeout is None else timeout
            if policy == "error" or not wait_until(lambda: q.free() > 0 or not self._alive_now(), timeout):
                raise QueueFullError(f"actor {self.name}: input queue full ({q.capacity} messages) for "
                                     f"{0 if policy == 'error' else timeout}s; raise queue_capacity, "
                                     "receive replies faster, or use overflow='dead_letter'")
            self._check_alive()
            q.push_one(rec, corr, physical, logical)
            return corr

    def _alive_now(self) -> bool:
        return self.state != S.TERMINATED and not (self.state == S.FAILED and not self.restartable)

    def send_many(self, batch: np.ndarray, timeout: float | None = None) -> int:
        """Enqueue a structured array of input messages (blocks while full); returns the count."""
        t = self.kernel.input_type
        if not isinstance(batch, np.ndarray) or batch.dtype != t.dtype:
            got = getattr(batch, "dtype", type(batch).__name__)
            raise MessageTypeError(f"actor {self.name}: send_many needs a structured array of dtype "
                                   f"{t.__name__}.dtype = {t.dtype}, got {got}; build it with "
                                   f"{t.__name__}.zeros(n)")
        batch = batch.reshape(-1)
        q, n, sent = self.actor.host_lane, len(batch), 0
        timeout = self.options.send_timeout if timeout is None else timeout
        deadline = time.perf_counter() + timeout
        with q.send_lock:
            self._check_alive()
            if self.options.overflow == "error" and q.free() < n:
                raise QueueFullError(f"actor {self.name}: {n} messages do not fit ({q.free()} free); "
                                     "send smaller batches or raise queue_capacity")
            while sent < n:
                ts = self.runtime.hlc.reserve(n - sent)
                first = next(self._corr)
                k = q.push_many(batch[sent:], first, ts.physical, ts.logical)
                self._corr = itertools.count(first + max(k, 1))
                sent += k
                if sent == n:
                    break
                if self.options.overflow == "dead_letter":
                    now = time.time()
                    for i in range(sent, n):
                        self.runtime.dead_letters.add(DeadLetter("queue_full", t.from_record(batch[i]),
                                                                 self.name, now))
                    return sent
                remaining = deadline - time.perf_counter()
                if remaining <= 0 or not wait_until(lambda: q.free() > 0 or not self._alive_now(), remaining):
                    err = QueueFullError(f"actor {self.name}: queue stayed full for {timeout}s after "
                                         f"{sent} of {n} messages; the first {sent} were sent")
                    err.sent = sent
                    raise err
                self._check_alive()
        return sent

    # -- receiving -----------------------------------------------------------------------------
    def _out_queue(self):
        if self.kernel.output_type is None:
            raise RingKernelError(f"actor {self.name} declares output=None: it sends no replies")
        return self.actor.out

    def receive(self, timeout: float | None = 1.0):
        """The next reply (an instance of the output message class)."""
        q = self._out_queue()
        with q.receive_lock:
            got = q.pop_one()
            if got is None:
                if not wait_until(lambda: q.depth() > 0, timeout):
                    raise ReceiveTimeout(f"no reply from actor {self.name} within {timeout}s "
                                         f"(state {self.state.name}, {q.depth()} replies queued)")
                got = q.pop_one()
        rec, (_, phys, logical) = got
        self.runtime.hlc.update(phys, logical)
        return self.kernel.output_type.from_array(rec)

    def receive_many(self, max_count: int, timeout: float | None = 1.0, headers: bool = False):
        """Up to max_count replies as a structured array (what arrived by the timeout; maybe empty).

        With headers=True returns (replies, message_headers) (correlation ids, HLC stamps).
        """
        q = self._out_queue()
        parts, metas, got = [], [], 0
        deadline = time.perf_counter() + (timeout if timeout is not None else 1e9)
        with q.receive_lock:
            while True:
                recs, meta = q.pop_many(max_count - got)
                if len(recs):
                    parts.append(recs)
                    metas.append(meta)
                    got += len(recs)
                remaining = deadline - time.perf_counter()
                if got >= max_count or remaining <= 0:
                    break
                wait_until(lambda: q.depth() > 0, remaining)
        out = np.concatenate(parts) if len(parts) > 1 else (parts[0] if parts else q.payload[:0].copy())
        meta = np.concatenate(metas) if len(metas) > 1 else (metas[0] if metas else q.meta[:0].copy())
        if len(meta):
            self.runtime.hlc.update(int(meta["hlc_physical"].max()), int(meta["hlc_logical"].max()))
        return (out, meta) if headers else out

    async def send_async(self, msg, timeout: float | None = None) -> int:
        return await asyncio.to_thread(self.send, msg, timeout)

    async def send_many_async(self, batch, timeout: float | None = None) -> int:
        return await asyncio.to_thread(self.send_many, batch, timeout)

    async def receive_async(self, timeout: float | None = 1.0):
        return await asyncio.to_thread(self.receive, timeout)

    async def receive_many_async(self, max_count: int, timeout: float | None = 1.0, headers: bool = False):
        return await asyncio.to_thread(self.receive_many, max_count, timeout, headers)

    # -- inspection ----------------------------------------------------------------------------
    def read_state(self):
        if self.kernel.state_type is None:
            raise RingKernelError(f"actor {self.name} declares no state=")
        return self.kernel.state_type.from_array(self.actor.state.copy())

    @property
    def stats(self) -> KernelStats:
        c = self.actor.ctrl
        return KernelStats(int(c[CB["messages_in"]]), int(c[CB["messages_out"]]),
                           self.actor.host_lane.depth() + self.actor.k2k_lane.depth(),
                           self.actor.out.depth() if self.kernel.output_type else 0,
                           self.restart_count, int(c[CB["heartbeat_ns"]]) / 1e9, int(c[CB["error_code"]]))

    def __repr__(self) -> str:
        return f"<KernelHandle {self.name} {self.state.name} restarts={self.restart_count}>"
