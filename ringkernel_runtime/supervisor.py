r"""Supervision with Erlang/OTP semantics, shared by every backend.

Each supervised actor carries a restart policy. When it fails (ctx.fail, a crash, a stall):

    policy        restarts
    OneForOne     the failed actor
    OneForAll     every live sibling (same parent), in spawn order
    RestForOne    the failed actor and the siblings spawned after it
    Temporary     nothing: the actor stays FAILED (no escalation)

Siblings are the actors spawned (rt.spawn, or rt.launch_pool with a restart policy) under the
same parent; actors spawned with no parent form the root group. An actor started with rt.launch
(or a pool without a policy) is unsupervised: it is its own group, never a sibling, so no
OneForAll / RestForOne restarts it.

Intensity: a failure that would make more than `max_restarts` restarts within the last
`window` seconds is not restarted; the actor is *escalated*: it stays FAILED and its parent
(if any) is told (`parent.escalations`, and the runtime's `on_escalation` callbacks). A callback
that raises is logged and counted (`callback_errors`); it never stops the caller (the watchdog,
an actor's thread).

A terminated actor leaves these tables (`remove`); the runtime keeps a bounded history of them.

    running --fail--> [recent restarts < max] --> restart targets --> running
                 \--> [recent restarts >= max] --> FAILED (escalated) --> tell parent
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from .errors import InvalidArgumentError, check_int, check_timeout

log = logging.getLogger("ringkernel_runtime")


@dataclass(frozen=True)
class RestartPolicy:
    max_restarts: int = 3
    window: float = 60.0

    def __post_init__(self):
        check_int(self.max_restarts, f"{type(self).__name__}(max_restarts)", lo=0)
        w = check_timeout(self.window, f"{type(self).__name__}(window)", allow_none=False)
        if w == 0 and self.max_restarts:
            raise InvalidArgumentError(f"{type(self).__name__}(window=0): the window must be > 0 seconds")


@dataclass(frozen=True)
class OneForOne(RestartPolicy):
    pass


@dataclass(frozen=True)
class OneForAll(RestartPolicy):
    pass


@dataclass(frozen=True)
class RestForOne(RestartPolicy):
    pass


@dataclass(frozen=True)
class Temporary(RestartPolicy):
    max_restarts: int = 0


@dataclass(frozen=True)
class SupervisorEvent:
    time: float
    kind: str        # "failed", "restarted", "escalated", "not_restarted", "stalled", "fault"
    actor: str
    detail: str = ""


class Supervisor:
    """Tracks parent/children (spawn order) and decides restarts; handles do the restarting."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._children: dict[object, list] = {}    # parent handle (None: the root) -> children
        self._lock = threading.RLock()
        self.events: deque[SupervisorEvent] = deque(maxlen=10_000)
        self.on_escalation: list = []
        self.callback_errors = 0                     # user callbacks that raised (each logged)
        self.last_callback_error: BaseException | None = None

    def add(self, handle) -> None:
        with self._lock:
            self._children.setdefault(handle.parent, []).append(handle)

    def remove(self, handle) -> None:
        """Forget a terminated actor: out of its parent's children (its own children, still
        running, keep their parent as their group until they go too)."""
        with self._lock:
            group = self._children.get(handle.parent)
            if group is not None:
                if handle in group:
                    group.remove(handle)
                if not group:
                    del self._children[handle.parent]

    def children(self, handle) -> list:
        with self._lock:
            return list(self._children.get(handle, []))

    def descendants(self, handle) -> list:
        """Children, grandchildren, ... depth first, each subtree before its root."""
        out = []
        for child in self.children(handle):
            out.extend(self.descendants(child))
            out.append(child)
        return out

    def table_size(self) -> int:
        """How many actors the tables hold (for leak checks)."""
        with self._lock:
            return sum(len(g) for g in self._children.values())

    def record(self, kind: str, handle, detail: str = "") -> None:
        self.events.append(SupervisorEvent(time.time(), kind, handle.name, detail))

    def on_failure(self, handle, reason: str) -> list:
        """Decide what to restart after `handle` failed; [] means it stays FAILED."""
        policy = handle.restart_policy
        with self._lock:
            self.record("failed", handle, reason)
            if policy is None or isinstance(policy, Temporary) or not handle.restartable:
                self.record("not_restarted", handle, reason)
                return []
            now = self._clock()
            times = handle._restart_times
            while times and now - times[0] > policy.window:
                times.popleft()
            escalate = len(times) >= policy.max_restarts
            if not escalate:
                return self._restart_targets(handle, policy, reason, now)
        self._escalate(handle, reason)            # outside the lock: callbacks may spawn or close
        return []

    def _restart_targets(self, handle, policy, reason: str, now: float) -> list:
        with self._lock:
            times = handle._restart_times
            times.append(now)
            # siblings: the supervised actors spawned under the same parent (never rt.launch ones)
            group = [h for h in self._children.get(handle.parent, [])
                     if h is handle or (getattr(h, "supervised", True) and h.restartable)]
            if isinstance(policy, OneForAll):
                targets = group
            elif isinstance(policy, RestForOne):
                targets = group[group.index(handle):] if handle in group else [handle]
            else:
                targets = [handle]
            if handle not in targets:
                targets = [handle] + targets
            for t in targets:
                self.record("restarted", t, f"after {handle.name}: {reason}")
            return targets

    def _escalate(self, handle, reason: str) -> None:
        handle.escalated = True
        self.record("escalated", handle, reason)
        parent = handle.parent
        if parent is not None:
            parent.escalations.append((time.time(), handle.name, reason))
        for cb in list(self.on_escalation):
            self.call_user(cb, "on_escalation", handle, reason)

    def call_user(self, cb, what: str, *args) -> None:
        """Run a user callback; an exception is logged and counted, never raised to the caller."""
        try:
            cb(*args)
        except Exception as exc:  # noqa: BLE001 - a user callback must not harm the runtime
            self.callback_errors += 1
            self.last_callback_error = exc
            log.exception("ringkernel: %s callback %r raised; ignored (supervisor.callback_errors = %d)",
                          what, cb, self.callback_errors)
