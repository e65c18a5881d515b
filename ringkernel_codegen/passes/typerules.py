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


def check_index_type(tw: Typed, e: ir.Expr) -> None:
    """An array index is an integer: a float would be truncated by one backend and refused by
    another, and a bool (an int in Python) is almost always a mistake."""
    if tw is None:
        return
    t = tw[0]
    if not (isinstance(t, T.ScalarType) and t.is_int):
        hint = "convert with int(...) or index with an integer variable"
        if isinstance(t, T.ScalarType) and t.is_bool:
            hint = "convert explicitly with int(...) if you mean 0 and 1"
        raise CodegenError(f"array index must be an integer, got {t}", e.span, hint)


def int_range(t: T.ScalarType) -> tuple:
    """The values an integer type holds."""
    if t.kind == "u":
        return 0, 2 ** t.bits - 1
    return -(2 ** (t.bits - 1)), 2 ** (t.bits - 1) - 1


def check_literal_fits(e: ir.Const, target: T.ScalarType) -> None:
    """A bare integer literal takes the type of the other operand (or i64): it must fit in it, or
    the backends disagree (C would widen the literal, numba wraps it). A negative literal converts
    to an unsigned type by wrapping, as in C, when it fits the signed type of that width."""
    v = e.value
    if not target.is_int or isinstance(v, bool) or not isinstance(v, int):
        return
    lo, hi = int_range(target)
    if target.kind == "u":
        lo = -(2 ** (target.bits - 1))
    if lo <= v <= hi:
        return
    if v > 2 ** 64 - 1 or v < -(2 ** 63):
        raise CodegenError(f"integer constant {v} does not fit any kernel integer type (at most 64 bits)", e.span,
                           "use a float constant (e.g. 2.0 ** 70) or a smaller value")
    wider = "i64" if -(2 ** 63) <= v < 2 ** 63 else "u64"
    raise CodegenError(f"integer constant {v} does not fit {target.name}, the type it takes here "
                       f"(from the other operand or the target)", e.span,
                       f"convert explicitly to a type that holds it, e.g. {wider}({v}), or convert the other "
                       f"operand: i64(x)")


def constant_int(e: ir.Expr):
    """The value of an integer expression built from literals only (`3`, `-1`, `2 * 4 - 9`), else None."""
    if isinstance(e, ir.Const):
        v = e.value
        return v if isinstance(v, int) and not isinstance(v, bool) else None
    if isinstance(e, ir.UnaryOp) and e.op in ("-", "+"):
        v = constant_int(e.operand)
        return None if v is None else (-v if e.op == "-" else v)
    if isinstance(e, ir.Cast) and isinstance(e.type, T.ScalarType) and e.type.is_int:
        v = constant_int(e.value)
        if v is None:
            return None
        lo, _ = int_range(e.type)
        return (v - lo) % 2 ** e.type.bits + lo  # the conversion wraps, as in C
    if isinstance(e, ir.BinOp) and e.op in ("+", "-", "*"):
        a, b = constant_int(e.left), constant_int(e.right)
        if a is None or b is None:
            return None
        return a + b if e.op == "+" else (a - b if e.op == "-" else a * b)
    return None


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
