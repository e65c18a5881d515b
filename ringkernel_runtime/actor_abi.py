"""The ring-kernel contract (see `ringkernel_codegen.abi.actor` for the whole description): its
constants, re-exported from the compiler's contracts package, and the runtime-side pieces,
RingKernelSpec / `ring_kernel` for a hand-written njit handler and `check_kernel`.

Generated handlers reach the constants through this module (`from ringkernel_runtime import
actor_abi as _abi`), so every name of `ringkernel_codegen.abi.actor` stays importable here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ringkernel_codegen.abi.actor import (  # noqa: F401  (re-exported)
    CTX_ABORT, CTX_ACTOR_ID, CTX_CORRELATION, CTX_FAIL_CODE, CTX_FAIL_LANE, CTX_FAIL_PEER, CTX_FAILED,
    CTX_MESSAGE_INDEX, CTX_NODE_ID, CTX_NOW_LOGICAL, CTX_NOW_PHYSICAL, CTX_PEER_TIMEOUT_NS, CTX_SOURCE,
    CTX_WORDS, FAIL_PEER_FULL, FAILED, NO_OUTPUT_DTYPE, NO_REPLY, NO_STATE_DTYPE, REPLY,
)


@dataclass
class RingKernelSpec:
    """A ring kernel object satisfying the contract, built from a ready njit handler."""

    name: str
    input_type: type
    output_type: type | None
    handler: Callable[..., int]
    state_type: type | None = None
    peers: dict[str, type] = field(default_factory=dict)
    parallel: bool = False
    source: Any = None

    def cpu_handler(self):
        return self.handler

    def __repr__(self) -> str:
        out = self.output_type.__name__ if self.output_type else None
        return f"<ring_kernel {self.name}: {self.input_type.__name__} -> {out}>"


def ring_kernel(*, input, output=None, state=None, peers=None, parallel=False, name=None):
    """Runtime-side `@ring_kernel` for an njit handler that already follows the contract.

    The codegen package's `@ring_kernel` compiles a DSL body to such a handler and returns an
    object with the same attributes; the runtime only relies on the attributes listed above.
    """
    def wrap(handler):
        return RingKernelSpec(name or getattr(handler, "__name__", "ring_kernel"), input, output,
                              handler, state, dict(peers or {}), parallel)
    return wrap


def check_kernel(kernel) -> None:
    """Raise a LaunchError naming the missing part when `kernel` does not follow the contract."""
    from .errors import LaunchError

    missing = [a for a in ("name", "input_type", "output_type", "state_type", "peers", "parallel",
                           "cpu_handler") if not hasattr(kernel, a)]
    if missing:
        raise LaunchError(f"{kernel!r} is not a ring kernel (missing {', '.join(missing)}); "
                          "decorate the handler with @ring_kernel(input=..., output=...)")
    for what in ("input_type", "output_type", "state_type"):
        t = getattr(kernel, what)
        if t is not None and not isinstance(getattr(t, "dtype", None), np.dtype):
            raise LaunchError(f"{kernel.name}.{what} is {t!r}; expected a @message class")
    if kernel.input_type is None:
        raise LaunchError(f"ring kernel {kernel.name} needs input=<@message class>")
