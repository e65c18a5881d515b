"""Binding a call to an intrinsic's signature from intrinsics/*.toml.

Param specs (see intrinsics.py): `T` is a generic scalar bound by joining every `T` argument, then
fitted to the entry's allowed `T` list; `E` is the element type of the `array` argument (checked
against the entry's `E` list); `index`/`int` take integers (`index` also a tuple on a
multi-dimensional array); a scalar name takes a number converted to that type. The call records
its bindings as `e.bound` (T, or E when there is no T) and `e.elem` (E); emitters spell by them.
"""
from __future__ import annotations

from typing import Callable, Optional

from .. import types as T
from ..errors import CodegenError
from ..intrinsics import Intrinsic
from ..ir import nodes as ir
from .typerules import Typed, check_index_type, expect_scalar, is_integral, join, settled

TypeOf = Callable[[ir.Expr], Typed]
CheckIndices = Callable[[ir.Expr, list], None]


def bind_call(e: ir.Call, ty: TypeOf, check_indices: Optional[CheckIndices] = None) -> Typed:
    """Type-check the arguments of an intrinsic call with `ty`, bind T and E; the result's (type, weak).
    An `index` must have one integer per axis of the call's array (`check_indices(array, parts)`
    checks constant parts against the array's extents)."""
    intr: Intrinsic = e.callee
    if len(e.args) != len(intr.params):
        raise CodegenError(f"{intr.name}() takes {len(intr.params)} arguments {intr.signature()}, "
                           f"got {len(e.args)}", e.span, intr.doc)
    bound_t, elem = None, None
    array, array_t = None, None
    for spec, a in zip(intr.params, e.args):
        if spec == "index":
            _check_index(intr, a, array, array_t, ty, check_indices)
            if isinstance(a, ir.TupleExpr):
                continue
        tw = ty(a)
        if tw is None:
            continue
        if spec == "array":
            if not isinstance(tw[0], T.ArrayType):
                raise CodegenError(f"{intr.name}() needs an array here, got {tw[0]}", a.span)
            elem = tw[0].dtype
            array, array_t = a, tw[0]
        elif spec in ("index", "int"):
            if not isinstance(a, ir.TupleExpr) and not is_integral(tw[0]):
                raise CodegenError(f"{intr.name}() needs an integer here, got {tw[0]}", a.span)
        elif spec == "T":
            expect_scalar(tw, a)
            bound_t = join(bound_t, tw)
        elif spec in T.SCALARS:
            expect_scalar(tw, a)
    if "T" in intr.params and bound_t is None:
        return None
    if bound_t is not None:
        e.bound = fit(intr, settled(bound_t), intr.T, e)
    if elem is not None:
        _bind_elem(intr, elem, e)
    return _result(intr, e, elem)


def _check_index(intr: Intrinsic, a: ir.Expr, array, array_t, ty: TypeOf, check_indices) -> None:
    """An `index` argument: an integer, or a tuple of integers (a multi-dimensional atomic), with
    exactly one part per axis of the array (a[0] of a 2D array is a whole row in Python)."""
    parts = a.items if isinstance(a, ir.TupleExpr) else [a]
    for item in parts:
        check_index_type(ty(item), item)
    if isinstance(a, ir.TupleExpr):
        a.type, a.weak = T.i64, False
    if array_t is None:
        return
    if len(parts) != array_t.ndim:
        axes = "(i, j, k)" if array_t.ndim == 3 else "(i, j)"
        want = "one index" if array_t.ndim == 1 else f"{array_t.ndim} indices, one per axis: {axes}"
        hint = "index exactly one element" + ("" if array_t.ndim == 1 else f": {intr.name}(a, {axes}, ...)")
        raise CodegenError(f"{intr.name}() on a {array_t.ndim}D array needs {want}, got {len(parts)}", a.span, hint)
    if check_indices is not None:
        check_indices(array, parts)


def _bind_elem(intr: Intrinsic, elem: T.ScalarType, e: ir.Call) -> None:
    if intr.E and elem.name not in intr.E:
        raise CodegenError(f"{intr.name}() does not support {elem.name} arrays "
                           f"(supported: {', '.join(intr.E)})", e.span)
    e.elem = elem
    if getattr(e, "bound", None) is None:
        e.bound = elem


def _result(intr: Intrinsic, e: ir.Call, elem) -> tuple:
    r = intr.returns
    if r == "void":
        return (T.VOID, False)
    if r == "T":
        return (e.bound, False)
    if r == "E":
        return (elem, False)
    return (T.SCALARS[r], False)


def fit(intr: Intrinsic, t: T.ScalarType, allowed: tuple, e: ir.Call) -> T.ScalarType:
    """The binding of T for argument type `t`: itself when allowed, else the nearest allowed type."""
    if not allowed or t.name in allowed:
        return t
    if (t.is_int or t.is_bool) and "f64" in allowed and not any(T.SCALARS[a].is_int for a in allowed):
        return T.f64
    if t.is_bool or (t.is_int and t.bits < 32):
        for cand in ("i32", "u32", "i64", "u64"):
            if cand in allowed:
                return T.SCALARS[cand]
    if t.is_float and "f64" in allowed and t.bits <= 64:
        return T.f64
    raise CodegenError(f"{intr.name}() does not accept {t.name} (accepts {', '.join(allowed)})", e.span,
                       "convert the argument explicitly, e.g. f32(x)")


def argument_targets(e: ir.Call) -> list:
    """Per argument of a bound intrinsic call: the type to convert it to, or None to leave it."""
    intr: Intrinsic = e.callee
    out = []
    for spec, a in zip(intr.params, e.args):
        if spec == "T":
            out.append(e.bound)
        elif spec == "E":
            out.append(e.elem)
        elif spec in T.SCALARS:
            out.append(T.SCALARS[spec])
        elif spec in ("index", "int") and getattr(a, "weak", False):
            out.append(T.i32 if spec == "int" else T.i64)
        else:
            out.append(None)
    return out
