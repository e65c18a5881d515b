"""Errors a user can act on. Every error ringkernel raises derives from RingKernelError.

A RingKernelError reaches the user with a traceback that ends at their own call: the public entry
points (the decorators, launches, `.to(...)`, source emission) are wrapped in `user_entry`, which
re-raises it without the frames of the compiler behind it (the message already says what and where;
an explicit `raise ... from cause`, e.g. the internal fault behind a "ringkernel bug" error, is
kept). Set RINGKERNEL_DEBUG=1 to see the full internal traceback and chain.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

DEBUG_ENV = "RINGKERNEL_DEBUG"


class RingKernelError(Exception):
    """Base of every error raised by ringkernel (codegen and runtime)."""


@dataclass(frozen=True)
class Span:
    """Where an IR node came from: file, 1-based line, 1-based column, and the source line."""

    file: str
    line: int
    col: int
    text: str = ""

    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class CodegenError(RingKernelError):
    """A kernel the front end or a pass cannot accept; shows file:line:col, the line and a caret."""

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None):
        self.message = message
        self.span = span
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        parts = []
        if self.span is not None:
            parts.append(f"{self.span.where()}: error: {self.message}")
            if self.span.text:
                line = self.span.text.rstrip("\n")
                parts.append(f"    {line}")
                parts.append("    " + " " * max(self.span.col - 1, 0) + "^")
        else:
            parts.append(f"error: {self.message}")
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


class BackendUnavailableError(RingKernelError):
    """The requested backend cannot run here (no GPU, no driver, missing package)."""


class LaunchError(RingKernelError):
    """A launch configuration or argument does not fit the kernel."""


class CompileError(RingKernelError):
    """A downstream compiler (nvcc, NVRTC, numba) rejected generated code."""


class KernelRuntimeError(RingKernelError):
    """A kernel failed while running (e.g. a divergent barrier on the CPU emulator)."""


def debug() -> bool:
    """RINGKERNEL_DEBUG=1 (any value but "" and "0"): keep ringkernel's internal frames in tracebacks."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def user_entry(fn):
    """Wrap a public entry point: a RingKernelError raised below it reaches the caller with the internal
    frames dropped (one frame of this wrapper stays) and its implicit context hidden; its explicit
    cause is kept. With RINGKERNEL_DEBUG=1 it propagates untouched. Other exceptions pass through."""
    @functools.wraps(fn)
    def entry(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RingKernelError as exc:
            if debug():
                raise
            exc.__suppress_context__ = True
            raise exc.with_traceback(None)  # ringkernel's internal frames hidden: RINGKERNEL_DEBUG=1 shows them
    entry.__ringkernel_entry__ = True
    return entry
