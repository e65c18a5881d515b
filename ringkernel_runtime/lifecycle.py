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

The states and the control-block codes (CMD_*, EXIT_*) are shared with generated code and live in
ringkernel_codegen.abi.lifecycle; this module re-exports them and holds the state machine.
"""
from __future__ import annotations

import threading
import time

from ringkernel_codegen.abi.lifecycle import (  # noqa: F401  (re-exported; the codes are a contract)
    CMD_ACTIVATE, CMD_DEACTIVATE, CMD_NONE, CMD_RESTART, CMD_RESUME, CMD_TERMINATE, EXIT_FAILED,
    EXIT_NONE, EXIT_RESTART, EXIT_TERMINATED, KernelState,
)

from .errors import LifecycleError


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
