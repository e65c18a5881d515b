"""The type lattice of inference: weak literals, joins, and the result type of each operator.

A typed value is a pair (type, weak). Bare literals are *weak*: `x * 4.0` keeps x's float type and
`i + 1` keeps i's integer type. A weak float meeting a strong integer gives f64 (as in C); weak-only
values default to i64 (ints) and f64 (floats), as in Python/numba. Two strong types promote by the C
usual arithmetic conversions (types.promote); `/` is true division (integers give f64); integer
arithmetic on bool and small ints computes in i32.
"""
from __future__ import annotations

from typing import Optional

from .. import types as T
from ..errors import CodegenError
from ..ir import nodes as ir

ARITH = {"+", "-", "*", "/", "//", "%", "**"}
BITS = {"&", "|", "^", "<<", ">>"}
LOGIC = ("and", "or")

Typed = Optional[tuple]  # (type, weak), or None while a local's type is still unknown


def default_of(t: T.ScalarType) -> T.ScalarType:
    """The type a weak-only value takes in the end (Python's int and float)."""
    return T.f64 if t.is_float else (T.boolean if t.is_bool else T.i64)


def settled(tw: tuple) -> T.ScalarType:
    """The type of a (type, weak) pair once no other operand can decide it."""
    return default_of(tw[0]) if tw[1] else tw[0]


def join(a: Typed, b: Typed) -> Typed:
    """Join two (type, weak) pairs; None means unknown."""
    if a is None:
        return b
    if b is None:
        return a
    (ta, wa), (tb, wb) = a, b
    if wa and not wb:
        return (T.f64, False) if ta.is_float and not tb.is_float else (tb, False)
    if wb and not wa:
        return (T.f64, False) if tb.is_float and not ta.is_float else (ta, False)
    if wa and wb:
        return (T.f64 if (ta.is_float or tb.is_float) else (T.i64 if (ta.is_int or tb.is_int) else ta), True)
    if ta.is_bool and tb.is_bool:
        return (T.boolean, False)
    return (T.promote(ta, tb), False)


def literal_type(e: ir.Const) -> tuple:
    """A constant's (type, weak): bools are strong, other bare literals weak until joined."""
    if isinstance(e.value, bool):
        return (T.boolean, False)
    if isinstance(e.value, str):
        raise CodegenError("strings are not kernel values", e.span, "kernels compute with numbers and arrays")
    if e.type is not None and not e.weak:
        return (e.type, False)
    return (T.f64 if isinstance(e.value, float) else T.i64, True)


def is_integral(t) -> bool:
    """An integer or bool scalar: what indices, shifts and `int` parameters accept."""
    return isinstance(t, T.ScalarType) and (t.is_int or t.is_bool)


def expect_scalar(tw: tuple, e: ir.Expr) -> None:
    if not isinstance(tw[0], T.ScalarType):
        raise CodegenError(f"expected a number, got {tw[0]}", e.span,
                           "arrays must be indexed: a[i]")


def binop_result(e: ir.BinOp, a: tuple, b: tuple) -> tuple:
    """(type, weak) of `a op b` for scalar operands (and/or are handled by the caller)."""
    if e.op in BITS:
        for side, x in ((a, e.left), (b, e.right)):
            if side[0].is_float:
                raise CodegenError(f"operator {e.op} needs integers, got {side[0]}", x.span,
                                   "convert with int(...) first")
        if e.op in ("<<", ">>"):
            return (T.widen_small(a[0]), a[1])
        if a[0].is_bool and b[0].is_bool:
            return (T.boolean, False)
    t = join(a, b)
    if not t[0].is_float:
        t = (T.widen_small(t[0]), t[1])
    if e.op == "/" and not t[0].is_float:
        return (T.f64, t[1])
    if e.op == "**" and not t[0].is_float and not _small_int_power(e.right):
        return (T.f64, t[1])
    return t


def _small_int_power(exponent: ir.Expr) -> bool:
    """`i ** k` stays integer only for a literal k in 0..8 (unrolled multiplications)."""
    return isinstance(exponent, ir.Const) and isinstance(exponent.value, int) and 0 <= exponent.value <= 8


def unary_result(e: ir.UnaryOp, t: tuple) -> tuple:
    """(type, weak) of `-x`, `+x`, `~x` for a scalar operand (`not` is the caller's)."""
    if e.op == "~" and not (t[0].is_int or t[0].is_bool):
        raise CodegenError("~ needs an integer operand", e.span)
    return (T.i32, False) if t[0].is_bool else t


def comparison_operand_type(a: ir.Expr, b: ir.Expr) -> T.ScalarType:
    """The type both sides of a comparison are converted to before comparing."""
    ot = settled(join((a.type, a.weak), (b.type, b.weak)))
    if not ot.is_float and not ot.is_bool:
        ot = T.widen_small(ot)
    return ot


def weak_retyped(e: ir.Expr, target: T.ScalarType) -> T.ScalarType:
    """The type a weak compound expression takes when its context settles on `target`."""
    if e.type.is_float and not target.is_float:
        target = T.f64
    if isinstance(e, ir.Compare) or (isinstance(e, ir.BinOp) and e.op in LOGIC):
        return T.boolean
    if isinstance(e, ir.BinOp) and e.op == "/" and not target.is_float:
        return T.f64
    return target
