"""What a launch reads of a kernel's typed IR, kept apart from it: the name and parameters
(launch.check_args, stage_noncontiguous), the dynamic shared array and the fixed shared bytes
(launch.check_shared_memory, the providers) and where it calls cluster_sync() (kinds.KERNEL's
geometry).

Made from the IR once per kernel (`of`), and small and picklable without the IR's classes, so a
kernel from the compile cache (cache.py) launches without loading its IR (ir/nodes.py and the
passes are not even imported).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import Span


@dataclass(frozen=True)
class Param:
    name: str
    type: Any          # a types.ScalarType or types.ArrayType
    readonly: bool


@dataclass(frozen=True)
class SharedArray:
    """The kernel's dynamic shared array, `buf = shared_array(0, T)`: what errors about it name."""

    name: str
    dtype: Any         # a types.ScalarType
    span: Span | None


@dataclass(frozen=True)
class CallSite:
    span: Span | None


@dataclass(frozen=True)
class Signature:
    name: str
    params: tuple                        # of Param
    dynamic_shared: SharedArray | None
    static_shared_bytes: int
    cluster_sync: CallSite | None        # the first cluster_sync() call (kernel or its device functions)


def of(f) -> Signature:
    """The signature of typed IR function `f`."""
    from .emit.common import device_functions
    from .ir import nodes as ir
    from .passes import dynamic_shared
    from .passes.fission import is_grid_sync

    dyn = dynamic_shared.dynamic_array(f)
    call = next((n for fn in (f, *device_functions(f)) for n in ir.walk(fn.body)
                 if is_grid_sync(n) and n.callee.name == "cluster_sync"), None)
    return Signature(
        name=f.name, params=tuple(Param(p.name, p.type, bool(p.readonly)) for p in f.params),
        dynamic_shared=None if dyn is None else SharedArray(dyn.name, dyn.dtype, dyn.span),
        static_shared_bytes=dynamic_shared.static_bytes(f),
        cluster_sync=None if call is None else CallSite(call.span))
