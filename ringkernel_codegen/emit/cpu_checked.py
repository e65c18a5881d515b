"""The CPU emitter's bounds-checked mode (backends.CPU.bounds_checked): the same njit source as
emit/cpu.py, with every array index checked against its extent by `_rt.bounds`, which raises an
IndexError that KernelBase._run reports as a KernelRuntimeError naming the kernel's file:line, the
array, the index and the extent. numba runs a loop that may raise one after another, so checked
launches do not spread blocks over the cores."""
from __future__ import annotations

from . import cpu
from .cpu_emitter import checking


def emit_kernel(f) -> str:
    with checking():
        return cpu.emit_kernel(f)


def emit_stencil(f) -> str:
    with checking():
        return cpu.emit_stencil(f)
