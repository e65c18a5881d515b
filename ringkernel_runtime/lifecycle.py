"""The actor lifecycle: one state machine for every backend, plus the control-block commands.

                 launch            ready
    DORMANT ------------> INITIALIZING ------> ACTIVE <----------> DRAINING
       |                      |    ^         |   deactivate/activate  |
       |                      |    | restart |                        |
       |                      v    |         v                        v
       +----------------->  FAILED <---------+------------------------+
       |                      |     (ctx.fail, stalled, crash)
       +--------------------> TERMINATED <-- terminate (from any live state, or FAILED)

DRAINING is the deactivated state: the message in hand completes, then the actor takes no
input until `activate`; queued messages wait (nothing is lost). FAILED -> INITIALIZING is a
supervisor restart; ACTIVE/DRAINING -> INITIALIZING is a restart of a healthy sibling
(OneForAll, RestForOne). An escalated actor stays FAILED. TERMINATED is final.
"""
from __future__ import annotations

import threading
import time
from enum import IntEnum

from .errors import LifecycleError


class KernelState(IntEnum):
    DORMANT = 0
    INITIALIZING = 1
    ACTIVE = 2
    DRAINING = 3
    TERMINATED = 4
    FAILED = 5


# Commands the host posts in the control block (command, then command_seq with release).
# CMD_RESUME: only the actor's own host thread posts it, to a GPU block parked after a failure or a
# restart, once the host has dead-lettered the failed message and reset the state; the block takes
# its activity from the control block's `state`. ACTIVATE / DEACTIVATE reaching a parked block do
# not resume it. Terminate also sets ctx[CTX_ABORT], which a GPU block checks on every poll, so a
# terminate can never be lost to a command posted over it.
CMD_NONE, CMD_ACTIVATE, CMD_DEACTIVATE, CMD_TERMINATE, CMD_RESTART, CMD_RESUME = 0, 1, 2, 3, 4, 5
# Why an actor loop returned to its host thread (control block `exit_reason`).
EXIT_NONE, EXIT_TERMINATED, EXIT_FAILED, EXIT_RESTART = 0, 1, 2, 3

S = KernelState
TRANSITIONS: dict[KernelState, frozenset[KernelState]] = {
    S.DORMANT: frozenset({S.INITIALIZING, S.TERMINATED, S.FAILED}),
    S.INITIALIZING: frozenset({S.ACTIVE, S.DRAINING, S.FAILED, S.TERMINATED}),
    S.ACTIVE: frozenset({S.DRAINING, S.FAILED, S.TERMINATED, S.INITIALIZING}),
    S.DRAINING: frozenset({S.ACTIVE, S.FAILED, S.TERMINATED, S.INITIALIZING}),
    S.FAILED: frozenset({S.INITIALIZING, S.TERMINATED}),
    S.TERMINATED: frozenset(),
}


class Lifecycle:
    """Thread-safe current state with the transition rules above and a short history."""

    def __init__(self, name: str):
        self.name = name
        self._state = S.DORMANT
        self._cond = threading.Condition()
        self.history: list[tuple[float, KernelState, str]] = [(time.time(), S.DORMANT, "created")]

    @property
    def state(self) -> KernelState:
        return self._state

    def can(self, new: KernelState) -> bool:
        return new in TRANSITIONS[self._state]

    def to(self, new: KernelState, reason: str = "") -> None:
        with self._cond:
            if new == self._state:
                return
            if new not in TRANSITIONS[self._state]:
                allowed = ", ".join(s.name for s in TRANSITIONS[self._state]) or "nothing (final)"
                raise LifecycleError(f"actor {self.name}: cannot go {self._state.name} -> {new.name}"
                                     f"; from {self._state.name} it may go to {allowed}")
            self._state = new
            self.history.append((time.time(), new, reason))
            del self.history[:-64]
            self._cond.notify_all()

    def try_to(self, new: KernelState, reason: str = "") -> bool:
        with self._cond:
            if new != self._state and new not in TRANSITIONS[self._state]:
                return False
        self.to(new, reason)
        return True

    def wait_for(self, states, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._state in states, timeout)
