"""The numba backend's runtime (backends.NUMBA's provider): kernels and stencils run as the generated
numba.cuda module (on a GPU, or in numba's CUDA simulator), actors as the numba.cuda actor loop
(numba_actor.py)."""
from __future__ import annotations

from ringkernel_codegen.loader import load_source

from .numba_actor import available, make_actor, prepare, preload, unavailable_reason


def launch(kernel, grid, block, args, shared_bytes: int = 0) -> None:
    entry = kernel.entry("numba", lambda: getattr(load_source(kernel.numba_source(), f"{kernel.name}_numba"),
                                                  kernel.name))
    if shared_bytes:
        entry[grid, block, 0, shared_bytes](*args)   # numba's spelling: stream 0, dynamic shared bytes
    else:
        entry[grid, block](*args)


def start_persistent(kernel, geometry, args):
    """A @persistent kernel's numba.cuda resident loop (numba_persistent.py)."""
    from .numba_persistent import start_persistent as start

    return start(kernel, geometry, args)


__all__ = ["available", "launch", "make_actor", "prepare", "preload", "start_persistent", "unavailable_reason"]
