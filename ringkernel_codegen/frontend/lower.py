"""Front-end lowering of expressions that must evaluate a part once: chained comparisons.

`a < b < c` means `a < b and b < c` with `b` evaluated once, and `c` only when `a < b` holds.
When every middle operand is pure (names, constants, arithmetic on them: no call, no array read),
the parser writes the `and` form directly with a copy of each middle operand. Otherwise it leaves
a ChainCompare, which this module turns into statements on the untyped IR, before any pass:

    if 0 <= atomic_add(a, 0, 1) < n:      ->   _rk_t0 = atomic_add(a, 0, 1)
                                                if 0 <= _rk_t0 and _rk_t0 < n:

Everything the expression evaluates before the hoisted part is hoisted before it too (Python's
left-to-right order), and hoisting out of a conditional context (the right side of `and`/`or`,
the branches of `x if c else y`, a chain's later operands) becomes an `if`, so what Python would
not evaluate is not evaluated. A `while` whose condition needs statements becomes
`while True: <statements>; if not cond: break; ...`. Temporaries are ordinary locals named
ir.TEMP_PREFIX + n, so every pass and every backend (the CPU emulator's per-thread locals
included) handles them like user locals.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import ClassVar

from .. import types as T
from ..ir import nodes as ir


@dataclass(eq=False)
class ChainCompare(ir.Expr):
    """`x0 op0 x1 op1 x2 ...` with an impure middle operand (front end only; lowered below)."""

    CHILDREN: ClassVar[tuple] = (("operands", "exprs"),)

    ops: list
    operands: list


def pure(e) -> bool:
    """True when evaluating `e` twice, or later, gives the same value and does nothing else."""
    return not any(isinstance(n, (ir.Call, ir.Load, ChainCompare)) for n in ir.walk(e))


def _has_chain(e) -> bool:
    return any(isinstance(n, ChainCompare) for n in ir.walk(e))


def _bool(e):
    c = ir.Cast(e, span=e.span)
    c.type = T.boolean
    return c


class Lowerer:
    def __init__(self, new_temp):
        self.new_temp = new_temp  # () -> a fresh temporary's name

    # ------------------------------------------------------------ statements
    def block(self, stmts: list) -> list:
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s) -> list:
        if isinstance(s, ir.If):
            pre, s.cond = self.lin(s.cond)
            s.body, s.orelse = self.block(s.body), self.block(s.orelse)
            return [*pre, s]
        if isinstance(s, ir.While):
            pre, cond = self.lin(s.cond)
            body = self.block(s.body)
            if not pre:
                s.cond, s.body = cond, body
                return [s]
            stop = ir.If(ir.UnaryOp("not", cond, span=cond.span), [ir.Break(span=s.span)], [], span=s.span)
            s.cond, s.body = ir.Const(True, span=s.span), [*pre, stop, *body]
            return [s]
        if isinstance(s, ir.For):
            pre, (s.start, s.stop, s.step) = self.seq([s.start, s.stop, s.step])
            s.body = self.block(s.body)
            return [*pre, s]
        if isinstance(s, ir.Store):
            # Python evaluates the value first, then the array and its indices
            pre, parts = self.seq([s.value, s.array, *s.indices])
            s.value, s.array, s.indices = parts[0], parts[1], parts[2:]
            return [*pre, s]
        if isinstance(s, (ir.Assign, ir.ExprStmt, ir.Return, ir.Unpack)) and s.value is not None:
            pre, s.value = self.lin(s.value)
            return [*pre, s]
        return [s]

    # ------------------------------------------------------------ expressions
    def temp(self, value, out: list):
        """Assign `value` to a fresh temporary (appended to `out`); the temporary's name node."""
        name = self.new_temp()
        out.append(ir.Assign(name, value, span=value.span))
        return ir.Name(name, span=value.span)

    def seq(self, exprs):
        """Lower expressions evaluated one after the other; what an earlier one computes is kept
        in a temporary when a later one hoists statements (they must not run before it)."""
        pre, out = [], []
        for x in exprs:
            p, r = self.lin(x)
            if p:
                for j, prev in enumerate(out):
                    if not pure(prev):
                        out[j] = self.temp(prev, pre)
                pre.extend(p)
            out.append(r)
        return pre, out

    def lin(self, e):
        """(statements to run first, what remains of `e`)."""
        if e is None or not _has_chain(e):
            return [], e
        if isinstance(e, ChainCompare):
            return self.chain(e)
        if isinstance(e, ir.BinOp) and e.op in ("and", "or"):
            return self.logic(e)
        if isinstance(e, ir.Select):
            return self.select(e)
        if isinstance(e, (ir.BinOp, ir.Compare)):
            pre, (e.left, e.right) = self.seq([e.left, e.right])
            return pre, e
        if isinstance(e, (ir.UnaryOp, ir.Cast)):
            name = "operand" if isinstance(e, ir.UnaryOp) else "value"
            pre, v = self.lin(getattr(e, name))
            setattr(e, name, v)
            return pre, e
        if isinstance(e, ir.Load):
            pre, parts = self.seq([e.array, *e.indices])
            e.array, e.indices = parts[0], parts[1:]
            return pre, e
        if isinstance(e, ir.Call):
            keys = list(e.kwargs)
            pre, parts = self.seq([*e.args, *e.kwargs.values()])
            n = len(e.args)
            e.args, e.kwargs = parts[:n], dict(zip(keys, parts[n:]))
            return pre, e
        if isinstance(e, ir.TupleExpr):
            pre, e.items = self.seq(e.items)
            return pre, e
        if isinstance(e, ir.Attribute):
            pre, e.value = self.lin(e.value)
            return pre, e
        return [], e

    def logic(self, e: ir.BinOp):
        pre, left = self.lin(e.left)
        rpre, right = self.lin(e.right)
        if not rpre:
            e.left, e.right = left, right
            return pre, e
        # the right side runs only when the left one does not decide: an if, and a bool temporary
        t = self.temp(_bool(left), pre)
        test = ir.Name(t.id, span=t.span)
        if e.op == "or":
            test = ir.UnaryOp("not", test, span=t.span)
        rpre.append(ir.Assign(t.id, _bool(right), span=right.span))
        pre.append(ir.If(test, rpre, [], span=e.span))
        return pre, ir.Name(t.id, span=t.span)

    def select(self, e: ir.Select):
        pre, cond = self.lin(e.cond)
        tpre, then = self.lin(e.then)
        opre, orelse = self.lin(e.orelse)
        if not tpre and not opre:
            e.cond, e.then, e.orelse = cond, then, orelse
            return pre, e
        name = self.new_temp()
        tpre.append(ir.Assign(name, then, span=then.span))
        opre.append(ir.Assign(name, orelse, span=orelse.span))
        pre.append(ir.If(cond, tpre, opre, span=e.span))
        return pre, ir.Name(name, span=e.span)

    def chain(self, e: ChainCompare):
        xs, ops, span = e.operands, e.ops, e.span
        pre, (first, second) = self.seq([xs[0], xs[1]])
        use, prev = self._twice(second, pre)
        result = ir.Compare(ops[0], first, use, span=span)
        rest = [self.lin(x) for x in xs[2:]]
        # later operands run only when the comparisons before them hold: an `and` keeps that
        # as long as none needs statements and every later middle operand is pure
        if all(not p for p, _ in rest) and all(pure(r) for _, r in rest[:-1]):
            for k, (_, r) in enumerate(rest):
                last = k == len(rest) - 1
                right, nxt = (r, None) if last else (r, copy.deepcopy(r))
                result = ir.BinOp("and", result, ir.Compare(ops[k + 1], prev, right, span=span), span=span)
                prev = nxt
            return pre, result
        res = self.temp(result, pre)
        container = pre
        for k, (p, r) in enumerate(rest):
            body = list(p)
            if k == len(rest) - 1:
                right, nxt = r, None
            else:
                right, nxt = self._twice(r, body)
            body.append(ir.Assign(res.id, ir.Compare(ops[k + 1], prev, right, span=span), span=span))
            container.append(ir.If(ir.Name(res.id, span=span), body, [], span=span))
            container, prev = body, nxt
        return pre, ir.Name(res.id, span=span)

    def _twice(self, x, out):
        """Two uses of `x` evaluated once: copies of a pure expression, else a temporary."""
        if pure(x):
            return x, copy.deepcopy(x)
        t = self.temp(x, out)
        return t, ir.Name(t.id, span=t.span)
