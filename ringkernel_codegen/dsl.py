"""Names usable inside kernels, generated from intrinsics/*.toml (one attribute per intrinsic).

`from ringkernel_codegen.dsl import global_id, sync_threads, shared_array, atomic_add`
Calling any of them from plain Python raises RingKernelError: they only mean something in kernels.
IDEs and type checkers read dsl.pyi, written from the same table by tools/gen_dsl_stub.py.
"""
import inspect as _inspect
import textwrap as _textwrap

from .intrinsics import dsl_names as _dsl_names

# Structural arguments keep their spec's name; value arguments are called x, y, z, w in order
# (then x4, x5, ...: philox4x32 takes six words).
_NAMED_SPECS = ("array", "index", "shape", "dtype")
_VALUE_NAMES = ("x", "y", "z", "w")


def _param_names(params: tuple) -> list:
    values = iter(_VALUE_NAMES + tuple(f"x{i}" for i in range(len(_VALUE_NAMES), len(params))))
    return [spec if spec in _NAMED_SPECS else next(values) for spec in params]


def _docstring(entry) -> str:
    """The entry's doc, then its table signature and the types its T and E may bind to."""
    lines = [*_textwrap.wrap(entry.doc, 96), "", f"Table signature: {entry.name}{entry.signature()}"]
    if entry.T:
        lines.append(f"T: {', '.join(entry.T)}")
    if entry.E:
        lines.append(f"E: {', '.join(entry.E)}")
    return "\n".join(lines)


def _describe(entry) -> None:
    """Give an intrinsic what help(), inspect.signature() and notebooks read off a function.

    The entries are the registry's own objects (resolve.py recognises them by type), so the
    attributes are set on them rather than on wrappers; the dataclass is frozen, hence
    object.__setattr__.
    """
    params = [_inspect.Parameter(n, _inspect.Parameter.POSITIONAL_ONLY) for n in _param_names(entry.params)]
    for attr, value in (("__name__", entry.name), ("__qualname__", entry.name), ("__module__", __name__),
                        ("__doc__", _docstring(entry)), ("__signature__", _inspect.Signature(params))):
        object.__setattr__(entry, attr, value)


_entries = _dsl_names()
for _entry in _entries.values():
    _describe(_entry)
del _entry
globals().update(_entries)  # after this, min/max/abs/round/pow in this module are the intrinsics
__all__ = sorted(_entries)


def __getattr__(name):
    raise AttributeError(f"ringkernel_codegen.dsl has no intrinsic {name!r}; "
                         "run `ringkernel-codegen intrinsics` to list them")
