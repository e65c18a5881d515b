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


class ActorFailedError(ActorTerminatedError):
    """The actor failed and will not be restarted (unsupervised, Temporary, escalated, stalled or
    faulted); it accepts no more messages. `detail` says why it failed."""


class RuntimeClosedError(LaunchError):
    """The Runtime was closed: it launches no more actors. Make a new Runtime."""


class InvalidArgumentError(RingKernelError, ValueError):
    """An argument of the public API has the wrong type or value (a non-finite or negative
    timeout, a queue capacity that is not a power of two, a name that is not a string, ...).
    Also a built-in ValueError."""


class InvalidOptionsError(LaunchError, InvalidArgumentError):
    """A LaunchOptions field (or another launch argument) is out of range or of the wrong type."""


# -- argument checks of the public API (each raises one of the errors above) -----------------------
_INF = float("inf")


def check_timeout(value, what: str = "timeout", allow_none: bool = True, error=InvalidArgumentError):
    """A timeout in seconds: a real, finite number >= 0 (None where the call allows "no limit")."""
    if type(value) is float and 0.0 <= value < _INF:      # the common case, on every send/receive
        return value
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not _is_np_real(value):
        raise error(f"{what}={value!r} must be a number of seconds"
                    f"{' or None' if allow_none else ''}, not {type(value).__name__}")
    v = float(value)
    if v != v or v in (float("inf"), float("-inf")) or v < 0:
        raise error(f"{what}={value!r} must be a finite number of seconds >= 0"
                    f"{' (None: no limit)' if allow_none else ''}")
    return v


def check_int(value, what: str, lo: int | None = None, hi: int | None = None, error=InvalidArgumentError) -> int:
    """An integer (Python or numpy, never bool) within [lo, hi]."""
    import numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise error(f"{what}={value!r} must be an int, not {type(value).__name__}")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else (f"<= {hi}" if lo is None else f"in [{lo}, {hi}]")
        raise error(f"{what}={v} must be {rng}")
    return v


def check_name(value, what: str = "name", allow_none: bool = False, error=InvalidArgumentError):
    """An actor name: a non-empty str of '/'-separated segments (None where allowed)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise error(f"{what}={value!r} must be a str such as 'pipeline/stage1', not {type(value).__name__}")
    if not value or value.startswith("/") or value.endswith("/") or "//" in value:
        raise error(f"{what}={value!r} is not a valid actor name; use segments like 'pipeline/stage1'")
    return value


def _is_np_real(value) -> bool:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        return False
    return isinstance(value, (np.integer, np.floating))
