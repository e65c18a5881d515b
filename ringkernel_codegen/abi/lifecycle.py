"""Lifecycle codes shared by the host and every actor loop: KernelState values (the control block's
`state` word), the commands the host posts (CMD_*) and why a loop returned (EXIT_*).

The emitters write them into generated actor loops; the runtime's state machine
(ringkernel_runtime.lifecycle, which re-exports these names) holds the transition rules.
"""
from __future__ import annotations

from enum import IntEnum


class KernelState(IntEnum):
    DORMANT = 0
    INITIALIZING = 1
    ACTIVE = 2
    DRAINING = 3
    TERMINATED = 4
    FAILED = 5

    # Shown as an enum (KernelState.ACTIVE), not as its number: IntEnum prints the int since
    # Python 3.11. Code that needs the control-block value says int(state).
    def __str__(self) -> str:
        return f"{type(self).__name__}.{self.name}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


# Commands the host posts in the control block (command, then command_seq with release).
# CMD_RESUME: only the actor's own host thread posts it, to a GPU block parked after a failure or a
# restart, once the host has dead-lettered the failed message and reset the state; the block takes
# its activity from the control block's `state`. ACTIVATE / DEACTIVATE reaching a parked block do
# not resume it. Terminate also sets ctx[CTX_ABORT], which a GPU block checks on every poll, so a
# terminate can never be lost to a command posted over it.
CMD_NONE, CMD_ACTIVATE, CMD_DEACTIVATE, CMD_TERMINATE, CMD_RESTART, CMD_RESUME = 0, 1, 2, 3, 4, 5
# Why an actor loop returned to its host thread (control block `exit_reason`).
EXIT_NONE, EXIT_TERMINATED, EXIT_FAILED, EXIT_RESTART = 0, 1, 2, 3
