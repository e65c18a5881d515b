"""The bounds-checked cpu backend's runtime (backends.CPU.bounds_checked's provider): the cpu
backend's, launching the bounds-checked source (ringkernel_codegen.emit.cpu_checked)."""
from __future__ import annotations

import numpy as np

from ringkernel_codegen import backends
from ringkernel_codegen.loader import load_source

from .cpu_backend import available, make_actor, unavailable_reason


def launch(kernel, grid, block, args, shared_bytes: int = 0) -> None:
    checked = backends.CPU.bounds_checked
    entry = kernel.entry(checked.name, lambda: load_source(kernel.source(checked),
                                                           f"{kernel.name}_cpu_checked")._rk_launch)
    if getattr(kernel, "dynamic_shared", None) is not None:
        args = (*args, np.int64(shared_bytes))  # the emitted launcher's hidden last parameter (cpu_backend)
    entry(*kernel.kind.cpu_entry_args(grid, block, args))


__all__ = ["available", "launch", "make_actor", "unavailable_reason"]
