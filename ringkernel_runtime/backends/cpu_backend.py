"""The cpu backend's runtime (backends.CPU's provider): kernels and stencils run as the generated
njit module (ringkernel_codegen.emit.cpu), actors as njit loops on threads (cpu.CpuActor)."""
from __future__ import annotations

import numpy as np

from ringkernel_codegen.loader import load_source


def available() -> bool:
    return True


def unavailable_reason() -> str | None:
    return None


def launch(kernel, grid, block, args, shared_bytes: int = 0) -> None:
    entry = kernel.entry("cpu", lambda: load_source(kernel.cpu_source(), f"{kernel.name}_cpu")._rk_launch)
    if getattr(kernel, "dynamic_shared", None) is not None:
        args = (*args, np.int64(shared_bytes))  # the emitted launcher's hidden last parameter
    entry(*kernel.kind.cpu_entry_args(grid, block, args))


def start_persistent(kernel, geometry, args):
    """A @persistent kernel's step loop on a thread of its own (cpu_persistent.py)."""
    from .cpu_persistent import start_persistent as start

    return start(kernel, geometry, args)


def make_actor(kernel, actor_id, capacity, initial_state, spin_ns, peer_timeout_ns, batch, node_id=0):
    from .cpu import CpuActor  # here, not at import: launching kernels does not load the actor host

    return CpuActor(kernel, actor_id, capacity, initial_state, spin_ns, peer_timeout_ns, batch, node_id)


__all__ = ["available", "launch", "make_actor", "start_persistent", "unavailable_reason"]
