"""Expressions: libcst expressions -> untyped IR, within the nesting limit; the builder's shared helpers."""
from __future__ import annotations

import copy

import libcst as cst

from ..errors import CodegenError, Span
from ..ir import nodes as ir
from .lower import ChainCompare, pure
from .source import SourceInfo

BINOPS = {
    cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.Divide: "/", cst.FloorDivide: "//",
    cst.Modulo: "%", cst.Power: "**", cst.BitAnd: "&", cst.BitOr: "|", cst.BitXor: "^",
    cst.LeftShift: "<<", cst.RightShift: ">>",
}
CMPOPS = {
    cst.LessThan: "<", cst.LessThanEqual: "<=", cst.GreaterThan: ">", cst.GreaterThanEqual: ">=",
    cst.Equal: "==", cst.NotEqual: "!=",
}
UNOPS = {cst.Minus: "-", cst.Plus: "+", cst.BitInvert: "~", cst.Not: "not"}

# How deeply expressions may nest: each operator, index or conversion is one level, a call three
# (an intrinsic's spelling may nest its arguments three parentheses deep), a run of unary signs
# one. The numba and CPU backends' source must stay under Python's limit of 200 nested
# parentheses, and every pass walks expressions recursively: a deeper expression is refused
# here, with its position.
MAX_EXPR_DEPTH = 150
CALL_DEPTH = 3

UNSUPPORTED_EXPR = {
    cst.Lambda: ("lambda expressions are not supported in kernels", "define a @device function instead"),
    cst.ListComp: ("list comprehensions are not supported in kernels", "write an explicit for loop over range()"),
    cst.SetComp: ("set comprehensions are not supported in kernels", "write an explicit for loop"),
    cst.DictComp: ("dict comprehensions are not supported in kernels", "write an explicit for loop"),
    cst.GeneratorExp: ("generator expressions are not supported in kernels", "write an explicit for loop"),
    cst.Yield: ("generators (yield) are not supported in kernels", "write results into an output array"),
    cst.Await: ("await is not supported in kernels", "kernels are synchronous device code"),
    cst.List: ("list literals are not supported in kernels", "use local_array(shape, dtype) or a tuple for shapes"),
    cst.Dict: ("dict literals are not supported in kernels", "kernels only handle scalars and arrays"),
    cst.Set: ("set literals are not supported in kernels", "kernels only handle scalars and arrays"),
    cst.FormattedString: ("f-strings are not supported in kernels", "kernels cannot build strings"),
    cst.ConcatenatedString: ("strings are not supported in kernels", "kernels cannot build strings"),
    cst.NamedExpr: ("assignment expressions (:=) are not supported in kernels", "assign on its own line"),
    cst.Ellipsis: ("... is not supported in kernels", "remove it"),
    cst.StarredElement: ("*args unpacking is not supported in kernels", "pass arguments one by one"),
}


class ExprBuilder:
    """The builder's state (source, positions, temporaries, nesting depths), spans, errors; expressions."""

    def __init__(self, src: SourceInfo, positions, kind: str):
        self.src = src
        self.positions = positions
        self.kind = kind
        self.temps: set = set()
        self.source_text = "".join(src.lines)
        self.depth = 0    # expression nesting (MAX_EXPR_DEPTH)
        self.blocks = 0   # statement nesting (MAX_BLOCK_DEPTH)

    def temp(self) -> str:
        """A fresh temporary local: a reserved _rk name (refused in user code by validate.py) that
        does not occur in the source, so a user's own _rk name is still reported."""
        n = len(self.temps)
        while f"{ir.TEMP_PREFIX}{n}" in self.source_text or f"{ir.TEMP_PREFIX}{n}" in self.temps:
            n += 1
        name = f"{ir.TEMP_PREFIX}{n}"
        self.temps.add(name)
        return name

    # ------------------------------------------------------------------ helpers
    def span(self, node) -> Span:
        pos = self.positions.get(node)
        if pos is None:
            return Span(self.src.file, self.src.first_line, 1, "")
        line = self.src.first_line + pos.start.line - 1
        idx = pos.start.line - 1
        text = self.src.lines[idx] if 0 <= idx < len(self.src.lines) else ""
        return Span(self.src.file, line, pos.start.column + 1 + self.src.indent, text)

    def error(self, node, message: str, hint: str | None = None):
        raise CodegenError(message, self.span(node), hint)

    def code(self, node) -> str:
        return cst.Module(body=[]).code_for_node(node)

    # ------------------------------------------------------------------ expressions
    def indices(self, node: cst.Subscript) -> list:
        out = []
        for element in node.slice:
            if not isinstance(element.slice, cst.Index):
                self.error(element, "slices are not supported in kernels",
                           "index one element at a time: a[i], a[i, j]")
            if element.slice.star is not None:
                self.error(element, "starred indices are not supported in kernels")
            out.append(self.expr(element.slice.value))
        return out

    def arg_value(self, arg: cst.Arg):
        if arg.star:
            self.error(arg, "*args / **kwargs in calls are not supported in kernels", "pass arguments one by one")
        return self.expr(arg.value)

    def expr(self, node) -> ir.Expr:
        weight = CALL_DEPTH if isinstance(node, cst.Call) else 1
        self.depth += weight
        try:
            if self.depth > MAX_EXPR_DEPTH:
                self.error(node, f"expression nested too deeply (more than {MAX_EXPR_DEPTH} levels)",
                           "split it into several statements with intermediate variables")
            return self._expr(node)
        finally:
            self.depth -= weight

    def _expr(self, node) -> ir.Expr:
        span = self.span(node)
        for cls, (msg, hint) in UNSUPPORTED_EXPR.items():
            if isinstance(node, cls):
                self.error(node, msg, hint)
        if isinstance(node, cst.Name):
            if node.value in ("True", "False"):
                return ir.Const(node.value == "True", span=span)
            if node.value == "None":
                self.error(node, "None is not a kernel value", "kernels work with numbers and arrays")
            return ir.Name(node.value, span=span)
        if isinstance(node, cst.Integer):
            return ir.Const(int(node.evaluated_value), weak=True, span=span)
        if isinstance(node, cst.Float):
            return ir.Const(float(node.evaluated_value), weak=True, span=span)
        if isinstance(node, cst.Imaginary):
            self.error(node, "complex numbers are not supported in kernels",
                       "keep real and imaginary parts in two float variables or arrays")
        if isinstance(node, cst.SimpleString):
            return ir.Const(node.evaluated_value, span=span)
        if isinstance(node, cst.BinaryOperation):
            op = BINOPS.get(type(node.operator))
            if op is None:
                self.error(node, f"operator {self.code(node.operator).strip()} is not supported in kernels",
                           "use + - * / // % ** and the bitwise operators on numbers")
            return ir.BinOp(op, self.expr(node.left), self.expr(node.right), span=span)
        if isinstance(node, cst.UnaryOperation):
            return self.unary(node)
        if isinstance(node, cst.BooleanOperation):
            op = "and" if isinstance(node.operator, cst.And) else "or"
            return ir.BinOp(op, self.expr(node.left), self.expr(node.right), span=span)
        if isinstance(node, cst.Comparison):
            return self.compare(node, span)
        if isinstance(node, cst.IfExp):
            return ir.Select(self.expr(node.test), self.expr(node.body), self.expr(node.orelse), span=span)
        if isinstance(node, cst.Call):
            args, kwargs = [], {}
            for a in node.args:
                if a.keyword is not None:
                    if a.star:
                        self.error(a, "**kwargs in calls are not supported in kernels")
                    kwargs[a.keyword.value] = self.expr(a.value)
                else:
                    args.append(self.arg_value(a))
            return ir.Call(self.expr(node.func), args, kwargs, span=span)
        if isinstance(node, cst.Subscript):
            return ir.Load(self.expr(node.value), self.indices(node), span=span)
        if isinstance(node, cst.Attribute):
            return ir.Attribute(self.expr(node.value), node.attr.value, span=span)
        if isinstance(node, cst.Tuple):
            return ir.TupleExpr([self.expr(e.value) for e in node.elements], span=span)
        self.error(node, f"{type(node).__name__} expressions are not supported in kernels")

    def unary(self, node: cst.UnaryOperation) -> ir.Expr:
        """A run of unary operators, folded without changing the value or its type: a run of
        signs is one sign (`--x` is `+x`: bool becomes int as with `--`, and -(-x) == x wraps
        the same for every integer); `not`/`~` runs keep their parity (`not not x` stays: bool)."""
        chain = []
        while isinstance(node, cst.UnaryOperation):
            chain.append((UNOPS[type(node.operator)], node))
            node = node.expression
        ops = []  # (operator, the CST node its span comes from), outermost first
        i = 0
        while i < len(chain):
            op, outer = chain[i]
            sign = op in "+-"
            j = i
            while j < len(chain) and ((chain[j][0] in "+-") if sign else chain[j][0] == op):
                j += 1
            run = [o for o, _ in chain[i:j]]
            if sign:
                ops.append((("-" if run.count("-") % 2 else "+") if len(run) > 1 else op, outer))
            else:
                ops.extend([(op, outer)] * (1 if len(run) % 2 else 2))
            i = j
        self.depth += len(ops) - 1
        try:
            if self.depth > MAX_EXPR_DEPTH:
                self.error(chain[0][1], f"expression nested too deeply (more than {MAX_EXPR_DEPTH} levels)",
                           "split it into several statements with intermediate variables")
            out = self.expr(node)
        finally:
            self.depth -= len(ops) - 1
        for op, n in reversed(ops):
            out = ir.UnaryOp(op, out, span=self.span(n))
        return out

    def compare(self, node: cst.Comparison, span: Span) -> ir.Expr:
        """`a < b < c` is `a < b and b < c` with b evaluated once and c only when a < b: pure
        middle operands are copied; otherwise a ChainCompare for lower.py."""
        operands, ops = [self.expr(node.left)], []
        for target in node.comparisons:
            op = CMPOPS.get(type(target.operator))
            if op is None:
                self.error(target, f"comparison '{self.code(target.operator).strip()}' is not supported in kernels",
                           "compare numbers with < <= > >= == !=")
            ops.append(op)
            operands.append(self.expr(target.comparator))
        if not all(pure(x) for x in operands[1:-1]):
            return ChainCompare(ops, operands, span=span)
        result = None
        for k, op in enumerate(ops):
            left = operands[k] if k == 0 else copy.deepcopy(operands[k])
            cmp = ir.Compare(op, left, operands[k + 1], span=span)
            result = cmp if result is None else ir.BinOp("and", result, cmp, span=span)
        return result
