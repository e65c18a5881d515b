"""What the runtime reports about actors: KernelStats, StopReport (an actor not stopped in time), ActorRecord."""
from __future__ import annotations

from dataclasses import dataclass

from .lifecycle import KernelState


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
