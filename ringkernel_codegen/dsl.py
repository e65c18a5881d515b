"""Names usable inside kernels, generated from intrinsics/*.toml (one attribute per intrinsic).

`from ringkernel_codegen.dsl import global_id, sync_threads, shared_array, atomic_add`
Calling any of them from plain Python raises RingKernelError: they only mean something in kernels.
IDEs and type checkers read dsl.pyi, written from the same table by tools/gen_dsl_stub.py.
"""
from .intrinsics import dsl_names as _dsl_names

# The entries are the registry's own objects (resolve.py recognises them by type), described for
# help(), inspect.signature() and notebooks by the registry (intrinsics.describe).
_entries = _dsl_names()
globals().update(_entries)  # after this, min/max/abs/round/pow in this module are the intrinsics
__all__ = sorted(_entries)


def __getattr__(name):
    raise AttributeError(f"ringkernel_codegen.dsl has no intrinsic {name!r}; "
                         "run `ringkernel-codegen intrinsics` to list them")
