"""KernelHandle's lifecycle: serving the actor's loop, failure, restart, stall, termination, settling."""
from __future__ import annotations

import logging
import threading
import time

from . import actor_abi as abi
from .deadletter import DeadLetter
from .errors import CommandTimeout, LifecycleError, check_timeout
from .layout import CB
from .lifecycle import (CMD_ACTIVATE, CMD_DEACTIVATE, CMD_NONE, CMD_RESTART, CMD_TERMINATE, EXIT_FAILED,
                        EXIT_RESTART, EXIT_TERMINATED, KernelState)
from .queues import wait_until
from .reports import StopReport
from .supervisor import Temporary

S = KernelState
log = logging.getLogger("ringkernel_runtime")
_JOIN_MAX = min(threading.TIMEOUT_MAX, 1e9)
_BLOCK_EXIT_WAIT_S = 2.0   # how long the actor thread waits to see its exited block's stream finish


class HandleLifecycle:
    """KernelHandle's lifecycle methods (the state it uses is set up in KernelHandle.__init__)."""

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
