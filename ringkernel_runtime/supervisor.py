r"""Supervision with Erlang/OTP semantics, shared by every backend.

Each supervised actor carries a restart policy. When it fails (ctx.fail, a crash, a stall):

    policy        restarts
    OneForOne     the failed actor
    OneForAll     every live sibling (same parent), in spawn order
    RestForOne    the failed actor and the siblings spawned after it
    Temporary     nothing: the actor stays FAILED (no escalation)

Intensity: a failure that would make more than `max_restarts` restarts within the last
`window` seconds is not restarted; the actor is *escalated*: it stays FAILED and its parent
(if any) is told (`parent.escalations`, and the runtime's `on_escalation` callbacks).

    running --fail--> [recent restarts < max] --> restart targets --> running
                 \--> [recent restarts >= max] --> FAILED (escalated) --> tell parent
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    max_restarts: int = 3
    window: float = 60.0


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
        self._children: dict[int, list] = {}
        self._lock = threading.RLock()
        self.events: deque[SupervisorEvent] = deque(maxlen=10_000)
        self.on_escalation: list = []

    def _key(self, parent) -> int:
        return 0 if parent is None else id(parent)

    def add(self, handle) -> None:
        with self._lock:
            self._children.setdefault(self._key(handle.parent), []).append(handle)

    def remove(self, handle) -> None:
        with self._lock:
            group = self._children.get(self._key(handle.parent), [])
            if handle in group:
                group.remove(handle)

    def children(self, handle) -> list:
        with self._lock:
            return list(self._children.get(id(handle), []))

    def descendants(self, handle) -> list:
        """Children, grandchildren, ... depth first, each subtree before its root."""
        out = []
        for child in self.children(handle):
            out.extend(self.descendants(child))
            out.append(child)
        return out

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
            if len(times) >= policy.max_restarts:
                self._escalate(handle, reason)
                return []
            times.append(now)
            group = [h for h in self._children.get(self._key(handle.parent), []) if h.restartable]
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
            cb(handle, reason)
