"""Names usable inside kernels, generated from intrinsics/*.toml (one attribute per intrinsic).

`from ringkernel_codegen.dsl import global_id, sync_threads, shared_array, atomic_add`
Calling any of them from plain Python raises RingKernelError: they only mean something in kernels.
"""
from __future__ import annotations

from .intrinsics import table as _table

_entries = _table()
globals().update(_entries)
__all__ = sorted(_entries)


def __getattr__(name):
    raise AttributeError(f"ringkernel_codegen.dsl has no intrinsic {name!r}; "
                         "run `ringkernel-codegen intrinsics` to list them")
