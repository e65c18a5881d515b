"""KernelHandle: the user's view of one launched actor (send, receive, lifecycle, stats).

The handle is backend-neutral: it drives a backend actor object (backends/cpu.py `CpuActor`)
through its queues (`host_lane`, `k2k_lane`, `out`: queues.Queue), control block (`ctrl`,
`post(cmd)`, `acked(seq)`), `ctx`, `reset_state()` and `run_loop(active)`.

Nothing is lost on any path. The actor's loop runs on the handle's thread (a GPU block: the
thread waits for it); once that thread has returned, nothing consumes the actor's inboxes again.
A TERMINATED actor's inboxes (host queue and K2K inbox) are dead-lettered when its loop has
returned, again whenever one of its K2K producers stops (it may have been the last writer), and
periodically by the runtime's watchdog while a producer still runs: what a peer sends to a stopped
actor becomes a dead letter carrying its correlation id. An actor that failed for good (not
restarted) refuses sends at once and keeps its queued input until it is terminated.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass

import numpy as np

from . import actor_abi as abi
from .deadletter import DeadLetter
from .errors import (ActorFailedError, ActorTerminatedError, CommandTimeout, InvalidArgumentError,
                     LifecycleError, MessageTypeError, QueueFullError, ReceiveTimeout, RingKernelError,
                     check_int, check_timeout)
from .layout import CB
from .lifecycle import (CMD_ACTIVATE, CMD_DEACTIVATE, CMD_NONE, CMD_RESTART, CMD_TERMINATE, EXIT_FAILED,
                        EXIT_RESTART, EXIT_TERMINATED, KernelState, Lifecycle)
from .queues import wait_until
from .supervisor import Temporary

S = KernelState
log = logging.getLogger("ringkernel_runtime")
_JOIN_MAX = min(threading.TIMEOUT_MAX, 1e9)
_BLOCK_EXIT_WAIT_S = 2.0   # how long the actor thread waits to see its exited block's stream finish


@dataclass(frozen=True)
class KernelStats:
    messages_in: int
    messages_out: int
    queue_depth: int          # host lane + K2K inbox
    reply_depth: int
    restarts: int
    last_heartbeat: float     # seconds since the epoch (0.0 before the first beat)
    error_code: int


@dataclass(frozen=True)
class StopReport:
    """An actor whose loop did not return within terminate's (or close's) timeout: its handler
    was still running. It is TERMINATED and refuses input; its loop exits after the handler
    returns, and then the input still queued is dead-lettered. `handle.stopped` says when."""
    actor: str
    waited: float            # seconds since it was told to stop
    queued: int              # messages in its inboxes at the deadline, the one(s) in hand included
                             # (those finish; the rest are dead-lettered once it stops)
    handling: int            # correlation id of the message its handler was on
    detail: str

    def __str__(self) -> str:
        return self.detail


@dataclass(frozen=True)
class ActorRecord:
    """What the runtime keeps of a terminated actor (Runtime.history, the last N)."""
    name: str
    kernel: str
    actor_id: int
    state: KernelState
    restarts: int
    messages_in: int
    messages_out: int
    failure: str | None
    ended: float
    lifecycle: tuple          # ((time, state, reason), ...)


class KernelHandle:
    def __init__(self, runtime, kernel, actor, options, name: str, parent=None, restart_policy=None,
                 supervised: bool = True, peer_handles: tuple = ()):
        self.runtime, self.kernel, self.actor, self.options = runtime, kernel, actor, options
        self.name, self.parent, self.restart_policy = name, parent, restart_policy
        self.supervised = supervised        # spawned into its parent's group (False: rt.launch)
        self.lifecycle = Lifecycle(name)
        self.restart_count = 0
        self.escalated = False
        self.escalations: list[tuple[float, str, str]] = []
        self.failure: str | None = None     # why it failed last
        self.terminate_report: StopReport | None = None
        self._restart_times: deque[float] = deque()
        self._stalled = False
        self._terminating = False
        self._failed_for_good = False       # FAILED and not restarted: refuses input from then on
        self._active_wanted = options.activate
        self._corr = itertools.count(1)
        self._life_lock = threading.RLock()
        self._drain_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop_done = threading.Event()  # the loop returned for good: nothing consumes the inboxes
        self._retired = False                # out of the runtime's tables (terminated and stopped)
        self._peer_handles = tuple(peer_handles)   # K2K targets, by peer index (sorted peer names)
        self._producers: weakref.WeakSet = weakref.WeakSet()   # handles wired to send to this one
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
        """Whether a supervisor may restart it (never: unsupervised or Temporary, stalled,
        terminating, escalated, failed for good, terminated)."""
        policy = self.restart_policy
        if policy is None or isinstance(policy, Temporary):
            return False
        return not (self._stalled or self._terminating or self.escalated or self._failed_for_good
                    or self.state == S.TERMINATED)

    @property
    def stopped(self) -> bool:
        """True once the actor's loop has returned for good (its thread is gone): nothing it holds
        runs any more, and a TERMINATED actor's leftover input has been dead-lettered."""
        return self._loop_done.is_set()

    def _start(self) -> None:
        self.started_ns = time.time_ns()   # the watchdog counts a first beat that never comes from here
        self.lifecycle.to(S.INITIALIZING, "launch")
        self._thread = threading.Thread(target=self._thread_main, name=f"actor:{self.name}", daemon=True)
        self._thread.start()
        # the thread may already have failed (a launch error, a message failing at once): keep that
        self.lifecycle.try_to(S.ACTIVE if self._active_wanted else S.DRAINING, "launched")

    def _thread_main(self) -> None:
        try:
            self._serve()
        except BaseException as exc:  # noqa: BLE001 - a host-side bug: never pretend to run on
            log.exception("ringkernel: the host thread of actor %s failed", self.name)
            with self._life_lock:
                self.crash = exc
                self._failed_for_good = True
                self.failure = f"host thread failed: {exc!r}"
                self.lifecycle.try_to(S.FAILED, self.failure)
        finally:
            self._observe_block_exit()
            self._loop_done.set()
            try:
                self._settle()
            except Exception:  # noqa: BLE001 - logged; the thread is ending anyway
                log.exception("ringkernel: dead-lettering what actor %s left failed", self.name)

    def _observe_block_exit(self) -> None:
        """A GPU block that published its exit (its last act) is about to finish: see its stream
        finish here, so the launch stops counting as resident (frees deferred behind it run) even
        when a bounded terminate or close stopped waiting for it earlier."""
        stopped = getattr(self.actor, "wait_stopped", None)
        if stopped is None or int(self.actor.ctrl[CB["exit_reason"]]) != EXIT_TERMINATED:
            return
        try:
            stopped(_BLOCK_EXIT_WAIT_S)
        except Exception:  # noqa: BLE001 - a faulted stream has stopped too; run_loop reported it
            pass

    def _serve(self) -> None:
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
                why = self._failure_detail() if reason == EXIT_FAILED else f"crashed: {self.crash!r}"
                if reason == EXIT_FAILED:
                    self._dead_letter_failed()
                self.failure = why
                self.lifecycle.try_to(S.FAILED, why)
                targets = self.runtime.supervisor.on_failure(self, why)
                for t in targets:
                    if t is not self:
                        t._request_restart()
                if self not in targets:
                    self._failed_for_good = True
                    return
                self._restarted(why)

    def _failure_detail(self) -> str:
        code = int(self.actor.ctx[abi.CTX_FAIL_CODE])
        if code != abi.FAIL_PEER_FULL:
            return f"failed (ctx.fail code {code})"
        k = int(self.actor.ctx[abi.CTX_FAIL_PEER])
        peer = sorted(self.kernel.peers)[k]
        target = f" ({self._peer_handles[k].name})" if k < len(self._peer_handles) else ""
        then = ("its restart policy decides what follows" if self.restartable else
                "it is not supervised, so it stays FAILED: spawn it with a restart policy, or raise "
                "peer_timeout (and stall_timeout above it), to ride out a slow consumer")
        return (f"peer_full:{peer}: ctx.send to peer {peer!r}{target} found its inbox full for "
                f"peer_timeout={self.options.peer_timeout}s and gave up, as LaunchOptions.peer_timeout "
                f"documents; the message is dead-lettered and the actor failed ({then})")

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
            self._failed_for_good = True
            detail = f"kernel fault: {fault}"
            self.failure = detail
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
            self._failed_for_good = True
            detail = self.stall_report()
            self.failure = detail
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
        timeout = check_timeout(timeout, allow_none=False)
        with self._life_lock:
            if self.state == S.ACTIVE:
                return
            if not self.lifecycle.can(S.ACTIVE):
                raise LifecycleError(f"actor {self.name} is {self.state.name} and cannot be activated")
            self._active_wanted = True
            self._command(CMD_ACTIVATE, timeout)
            self.lifecycle.to(S.ACTIVE, "activate")

    def deactivate(self, timeout: float = 2.0) -> None:
        timeout = check_timeout(timeout, allow_none=False)
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

        Waits up to `timeout` seconds for the loop to return. Returns False when it did not (a
        handler still running a long computation): the actor is TERMINATED either way and accepts
        no more messages; `terminate_report` (also logged) says what it left, and its queued input
        is dead-lettered as soon as the handler returns and the loop exits (`stopped`).
        """
        timeout = check_timeout(timeout, allow_none=False)
        t0 = time.monotonic()
        self._request_terminate()
        return self._await_terminated(timeout, t0)

    def _request_terminate(self) -> None:
        """Tell the loop to stop (non-blocking); from here the actor refuses input."""
        with self._life_lock:
            if self.state != S.TERMINATED:
                self._terminating = True
                self.actor.ctx[abi.CTX_ABORT] = 1
                if (self._thread is not None and self._thread.is_alive()) or getattr(self.actor, "launched", False):
                    self.actor.post(CMD_TERMINATE)   # a parked GPU block outlives a failed actor's thread
                self.lifecycle.to(S.TERMINATED, "terminate")
        self.runtime.registry.unregister(self.name, self)    # the name is free at once

    def _await_terminated(self, timeout: float, since: float | None = None) -> bool:
        """Wait (bounded) for the loop to return; settle what it left; report if it did not return.
        `since`: when it was told to stop (for the report)."""
        t0 = time.monotonic() if since is None else since
        deadline = time.monotonic() + timeout
        thread = self._thread
        if thread is not None and thread is threading.current_thread():
            return True                      # called from our own thread: it settles as it returns
        if thread is not None:
            thread.join(min(timeout, _JOIN_MAX))
        exited = thread is None or not thread.is_alive()
        stopped = getattr(self.actor, "wait_stopped", None)
        if stopped is not None:
            exited = stopped(max(0.0, deadline - time.monotonic())) and exited
        if self._loop_done.is_set():
            self._settle()
        if not exited:
            self._report_unfinished(time.monotonic() - t0)
        return exited

    def _report_unfinished(self, waited: float) -> None:
        try:
            queued = self.actor.host_lane.depth() + self.actor.k2k_lane.depth()
        except Exception:  # noqa: BLE001 - a GPU copy that failed: report what we can
            queued = -1
        corr = int(self.actor.ctrl[CB["last_correlation"]])
        detail = (f"actor {self.name}: its loop did not stop within {waited:.3g}s (a handler still running, "
                  f"on correlation id {corr}); it is TERMINATED and refuses input; {queued} message(s) in its "
                  "inboxes: the one(s) in hand finish, the rest are dead-lettered when the handler returns "
                  "(handle.stopped)")
        self.terminate_report = StopReport(self.name, waited, queued, corr, detail)
        log.warning("ringkernel: %s", detail)

    def _settle(self) -> None:
        """After the loop returned for good: a TERMINATED actor's leftover input goes to dead letters
        and it leaves the runtime's tables; stopped peers this actor fed are drained again (it may
        have been their last writer)."""
        if not self._loop_done.is_set():
            return
        if self.state == S.TERMINATED:
            self._drain_inboxes()
            self.runtime._retire(self)
        for peer in self._peer_handles:
            if peer is not self and peer._loop_done.is_set() and peer.state == S.TERMINATED:
                peer._drain_inboxes()

    def _drain_inboxes(self) -> int:
        """Dead-letter whatever both inboxes hold. Only once nothing consumes them (stopped)."""
        if not self._loop_done.is_set():
            return 0
        reason = "stalled" if self._stalled else "terminated"
        letters, now = [], time.time()
        t = self.kernel.input_type
        with self._drain_lock:
            for lane in (self.actor.host_lane, self.actor.k2k_lane):
                with lane.send_lock:
                    recs, meta = lane.pop_many(lane.capacity)
                corr = meta["correlation_id"].tolist()
                for i in range(len(recs)):
                    letters.append(DeadLetter(reason, t.from_array(recs[i:i + 1].copy()), self.name, now,
                                              None, int(corr[i])))
        self.runtime.dead_letters.add_many(letters)
        return len(letters)

    # -- sending -------------------------------------------------------------------------------
    def _refusal(self) -> ActorTerminatedError | None:
        """The error a send gets now, or None while the actor takes input (a supervised actor
        between a failure and its restart does: the message waits for the restarted loop)."""
        st = self.lifecycle._state
        if st is S.TERMINATED:
            return ActorTerminatedError(
                f"actor {self.name} is TERMINATED; it accepts no messages. Spawn or launch it again "
                "(rt.spawn / rt.launch).")
        if st is S.FAILED and not self.restartable:
            why = f": {self.failure}" if self.failure else ""
            return ActorFailedError(
                f"actor {self.name} is FAILED{' (escalated)' if self.escalated else ''} and will not be "
                f"restarted{why}; it accepts no messages (its queued input is dead-lettered when it is "
                "terminated). Spawn it with a restart policy, or launch it again.")
        return None

    def _check_alive(self) -> None:
        err = self._refusal()
        if err is not None:
            raise err

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
        """Enqueue one message; returns its correlation id (copied into the reply's header).

        Raises ActorTerminatedError (ActorFailedError) at once when the actor is terminated or
        failed for good; QueueFullError when its queue stays full for `timeout` seconds
        (default: LaunchOptions.send_timeout; only with overflow="block")."""
        rec = msg.record if type(msg) is self._input_type else self._record_of(msg)
        if timeout is not None:
            timeout = check_timeout(timeout)
        q = self._lane
        letter = None
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
                letter = DeadLetter("queue_full", self.kernel.input_type.from_record(rec), self.name,
                                    time.time(), None, corr)
            else:
                timeout = self.options.send_timeout if timeout is None else timeout
                if policy == "error" or not wait_until(lambda: q.free() > 0 or self._refusal() is not None,
                                                       timeout):
                    raise QueueFullError(f"actor {self.name}: input queue full ({q.capacity} messages) for "
                                         f"{0 if policy == 'error' else timeout}s; raise queue_capacity, "
                                         "receive replies faster, or use overflow='dead_letter'")
                self._check_alive()
                q.push_one(rec, corr, physical, logical)
                return corr
        self.runtime.dead_letters.add(letter)      # outside the lock: hooks may run
        return corr

    def _alive_now(self) -> bool:
        return self._refusal() is None

    def send_many(self, batch: np.ndarray, timeout: float | None = None) -> int:
        """Enqueue a structured array of input messages (blocks while full); returns the count.

        An error raised after some of the batch was enqueued (QueueFullError, or ActorTerminatedError
        when the actor stopped while the call waited for room) says how many in `exc.sent`: those
        were accepted (each is then processed or dead-lettered); the rest were not."""
        t = self.kernel.input_type
        if not isinstance(batch, np.ndarray) or batch.dtype != t.dtype:
            got = getattr(batch, "dtype", type(batch).__name__)
            raise MessageTypeError(f"actor {self.name}: send_many needs a structured array of dtype "
                                   f"{t.__name__}.dtype = {t.dtype}, got {got}; build it with "
                                   f"{t.__name__}.zeros(n)")
        timeout = self.options.send_timeout if timeout is None else check_timeout(timeout)
        batch = batch.reshape(-1)
        q, n, sent = self.actor.host_lane, len(batch), 0
        deadline = time.perf_counter() + timeout
        letters = []
        with q.send_lock:
            err = self._refusal()
            if err is not None:
                err.sent = 0
                raise err
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
                    letters = [DeadLetter("queue_full", t.from_record(batch[i]), self.name, now)
                               for i in range(sent, n)]
                    break
                remaining = deadline - time.perf_counter()
                if remaining <= 0 or not wait_until(lambda: q.free() > 0 or self._refusal() is not None,
                                                    remaining):
                    err = QueueFullError(f"actor {self.name}: queue stayed full for {timeout}s after "
                                         f"{sent} of {n} messages; the first {sent} were sent")
                    err.sent = sent
                    raise err
                err = self._refusal()
                if err is not None:               # it stopped while we waited: `sent` were accepted
                    err.sent = sent
                    raise err
        self.runtime.dead_letters.add_many(letters)
        return sent

    # -- receiving -----------------------------------------------------------------------------
    def _out_queue(self):
        if self.kernel.output_type is None:
            raise RingKernelError(f"actor {self.name} declares output=None: it sends no replies")
        return self.actor.out

    def _replies_over(self) -> bool:
        """No reply can come any more: terminated or failed for good, and the loop has returned."""
        return self._loop_done.is_set() and self.lifecycle._state in (S.TERMINATED, S.FAILED) \
            and self._refusal() is not None

    def receive(self, timeout: float | None = 1.0):
        """The next reply (an instance of the output message class).

        Raises ReceiveTimeout (a TimeoutError) when none arrives within `timeout` seconds (None:
        wait as long as it takes), and at once ActorTerminatedError (ActorFailedError) when the
        actor has stopped and no reply is left."""
        timeout = check_timeout(timeout)
        q = self._out_queue()
        with q.receive_lock:
            got = q.pop_one()
            if got is None:
                wait_until(lambda: q.depth() > 0 or self._replies_over(), timeout)
                got = q.pop_one()
                if got is None:
                    if self._replies_over():
                        err = self._refusal()
                        raise type(err)(f"{err} No reply is left to receive.")
                    raise ReceiveTimeout(f"no reply from actor {self.name} within {timeout}s "
                                         f"(state {self.state.name}, {q.depth()} replies queued)")
        rec, (_, phys, logical) = got
        self.runtime.hlc.update(phys, logical)
        return self.kernel.output_type.from_array(rec)

    def receive_many(self, max_count: int, timeout: float | None = 1.0, headers: bool = False):
        """Up to max_count replies as a structured array (what arrived by the timeout; maybe empty;
        at once what is left when the actor has stopped).

        With headers=True returns (replies, message_headers) (correlation ids, HLC stamps).
        """
        max_count = check_int(max_count, "max_count", lo=0)
        timeout = check_timeout(timeout)
        if not isinstance(headers, (bool, np.bool_)):
            raise InvalidArgumentError(f"headers={headers!r} must be True or False")
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
                if self._replies_over() and q.depth() == 0:
                    break
                wait_until(lambda: q.depth() > 0 or self._replies_over(), remaining)
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
