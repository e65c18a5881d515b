"""Whether numba's CUDA simulator is active (NUMBA_ENABLE_CUDASIM=1 when numba was first imported).

The numba.cuda emitter shapes the actor module for it (block size, simulator-only code) and the
numba backend (ringkernel_runtime.backends.numba_ops) switches its ordered operations on it, so
both ask here and agree.
"""
from __future__ import annotations


def numba_simulator() -> bool:
    """True under numba's CUDA simulator; imports numba (its config) on first use."""
    from numba import config

    return bool(config.ENABLE_CUDASIM)
