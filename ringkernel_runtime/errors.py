"""Runtime errors. Each derives from RingKernelError and says what to do about it."""
from __future__ import annotations

from ringkernel_codegen.errors import (  # noqa: F401  (re-exported for runtime users)
    BackendUnavailableError, CompileError, KernelRuntimeError, LaunchError, RingKernelError,
)


class QueueFullError(RingKernelError):
    """A send found the actor's input queue full for longer than its timeout."""


class ReceiveTimeout(RingKernelError, TimeoutError):
    """`receive` waited `timeout` seconds and no reply arrived (also a built-in TimeoutError)."""


class ActorTerminatedError(RingKernelError):
    """The actor was terminated (or failed for good); it accepts no more messages."""


class UnknownPeerError(RingKernelError):
    """A `peers=` name at launch does not match the ring kernel's declared peers."""


class MessageTypeError(RingKernelError, TypeError):
    """A message (or a batch's dtype) is not the type the actor's input declares."""


class LifecycleError(RingKernelError):
    """A lifecycle command is not allowed in the actor's current state."""


class CommandTimeout(RingKernelError, TimeoutError):
    """The actor did not acknowledge a control command in time (it may be stuck in a handler)."""
