"""Errors a user can act on. Every error ringkernel raises derives from RingKernelError."""
from __future__ import annotations

from dataclasses import dataclass


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
