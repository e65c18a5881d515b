"""Statements: libcst statements -> untyped IR (assignments, unpacking, if/for/while), within the nesting limit."""
from __future__ import annotations

import copy

import libcst as cst

from ..errors import Span
from ..ir import nodes as ir
from .lower import pure
from .parse_exprs import ExprBuilder

AUGOPS = {
    cst.AddAssign: "+", cst.SubtractAssign: "-", cst.MultiplyAssign: "*", cst.DivideAssign: "/",
    cst.FloorDivideAssign: "//", cst.ModuloAssign: "%", cst.PowerAssign: "**",
    cst.BitAndAssign: "&", cst.BitOrAssign: "|", cst.BitXorAssign: "^",
    cst.LeftShiftAssign: "<<", cst.RightShiftAssign: ">>",
}
# Python allows 100 levels of indentation, and the emulator's generated source adds its own loops
# around the body: if/for/while may nest this deep
MAX_BLOCK_DEPTH = 64

UNSUPPORTED_STMT = {
    cst.Try: ("try/except is not supported in kernels", "kernels cannot raise; check conditions explicitly"),
    cst.With: ("with blocks are not supported in kernels", "remove the with block"),
    cst.ClassDef: ("classes cannot be defined inside kernels", "define @message classes at module level"),
    cst.FunctionDef: ("nested functions are not supported in kernels", "define a @device function at module level"),
    cst.Raise: ("raise is not supported in kernels", "kernels cannot raise; write an error flag to an array"),
    cst.Assert: ("assert is not supported in kernels", "check the condition and write an error flag"),
    cst.Del: ("del is not supported in kernels", "remove it"),
    cst.Global: ("global is not supported in kernels", "pass the value as a parameter"),
    cst.Nonlocal: ("nonlocal is not supported in kernels", "pass the value as a parameter"),
    cst.Import: ("import is not supported inside kernels", "import at module level"),
    cst.ImportFrom: ("import is not supported inside kernels", "import at module level"),
    cst.Match: ("match statements are not supported in kernels", "use if/elif/else"),
}


class StmtBuilder(ExprBuilder):
    """The builder's statements; expressions come from ExprBuilder."""

    # ------------------------------------------------------------------ statements
    def block(self, node) -> list:
        self.blocks += 1
        try:
            if self.blocks > MAX_BLOCK_DEPTH + 1:  # the function's own body is the first block
                first = node.body[0] if getattr(node, "body", None) else node
                self.error(first, f"blocks nested too deeply (more than {MAX_BLOCK_DEPTH} levels of if/for/while)",
                           "move the inner part into a @device function")
            if isinstance(node, cst.SimpleStatementSuite):
                out = []
                for small in node.body:
                    out.extend(self.small(small))
                return out
            out = []
            for stmt in node.body:
                out.extend(self.stmt(stmt))
            return out
        finally:
            self.blocks -= 1

    def stmt(self, node) -> list:
        if isinstance(node, cst.SimpleStatementLine):
            out = []
            for small in node.body:
                out.extend(self.small(small))
            return out
        for cls, (msg, hint) in UNSUPPORTED_STMT.items():
            if isinstance(node, cls):
                self.error(node, msg, hint)
        if isinstance(node, cst.If):
            return [self.if_(node)]
        if isinstance(node, cst.For):
            return [self.for_(node)]
        if isinstance(node, cst.While):
            if node.orelse is not None:
                self.error(node.orelse, "while/else is not supported in kernels", "use a flag variable")
            return [ir.While(self.expr(node.test), self.block(node.body), span=self.span(node))]
        self.error(node, f"{type(node).__name__} statements are not supported in kernels")

    def if_(self, node: cst.If) -> ir.If:
        orelse: list = []
        if isinstance(node.orelse, cst.If):
            orelse = [self.if_(node.orelse)]
        elif isinstance(node.orelse, cst.Else):
            orelse = self.block(node.orelse.body)
        return ir.If(self.expr(node.test), self.block(node.body), orelse, span=self.span(node))

    def for_(self, node: cst.For) -> ir.For:
        if node.asynchronous is not None:
            self.error(node, "async for is not supported in kernels")
        if node.orelse is not None:
            self.error(node.orelse, "for/else is not supported in kernels", "use a flag variable")
        if not isinstance(node.target, cst.Name):
            self.error(node.target, "a kernel for loop needs a single loop variable",
                       "write `for i in range(n):`")
        it = node.iter
        if not (isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value == "range"):
            self.error(it, "kernel for loops iterate over range() only",
                       "write `for i in range(start, stop, step):` and index arrays explicitly")
        args = [self.arg_value(a) for a in it.args]
        if not 1 <= len(args) <= 3:
            self.error(it, "range() takes 1 to 3 arguments")
        one = ir.Const(1, weak=True, span=self.span(it))
        zero = ir.Const(0, weak=True, span=self.span(it))
        if len(args) == 1:
            start, stop, step = zero, args[0], one
        elif len(args) == 2:
            start, stop, step = args[0], args[1], one
        else:
            start, stop, step = args
        return ir.For(node.target.value, start, stop, step, self.block(node.body), span=self.span(node))

    def small(self, node) -> list:
        span = self.span(node)
        for cls, (msg, hint) in UNSUPPORTED_STMT.items():
            if isinstance(node, cls):
                self.error(node, msg, hint)
        if isinstance(node, cst.Pass):
            return [ir.Pass(span=span)]
        if isinstance(node, cst.Break):
            return [ir.Break(span=span)]
        if isinstance(node, cst.Continue):
            return [ir.Continue(span=span)]
        if isinstance(node, cst.Return):
            value = self.expr(node.value) if node.value is not None else None
            return [ir.Return(value, span=span)]
        if isinstance(node, cst.Expr):
            value = node.value
            if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
                return []  # docstring or bare string: ignored
            return [ir.ExprStmt(self.expr(value), span=span)]
        if isinstance(node, cst.Assign):
            if len(node.targets) != 1:
                self.error(node, "chained assignment (a = b = ...) is not supported in kernels",
                           "assign each variable on its own line")
            target = node.targets[0].target
            if isinstance(target, (cst.Tuple, cst.List)):
                return self.unpack(target, node.value, span)
            return self.assign(target, self.expr(node.value), None, span)
        if isinstance(node, cst.AnnAssign):
            if node.value is None:
                self.error(node, "a declaration without a value is not supported in kernels",
                           "give the variable an initial value: `v: f32 = 0.0`")
            if not isinstance(node.target, cst.Name):
                self.error(node.target, "only local variables can be annotated")
            return self.assign(node.target, self.expr(node.value), node.annotation.annotation, span)
        if isinstance(node, cst.AugAssign):
            op = AUGOPS.get(type(node.operator))
            if op is None:
                self.error(node, "this augmented assignment is not supported in kernels")
            target = node.target
            if isinstance(target, cst.Subscript):
                return self.aug_store(target, op, node.value, span)
            current = self.expr(target)
            value = ir.BinOp(op, current, self.expr(node.value), span=span)
            return self.assign(target, value, None, span)
        self.error(node, f"{type(node).__name__} statements are not supported in kernels")

    def aug_store(self, target: cst.Subscript, op: str, value_node, span: Span) -> list:
        """`a[i] += v`: the index is evaluated once (into a temporary unless it is pure)."""
        pre, indices = [], []
        for i in self.indices(target):
            if pure(i):
                indices.append(i)
            else:
                name = self.temp()
                pre.append(ir.Assign(name, i, span=span))
                indices.append(ir.Name(name, span=i.span))
        current = ir.Load(self.expr(target.value), indices, span=self.span(target))
        value = ir.BinOp(op, current, self.expr(value_node), span=span)
        return [*pre, ir.Store(self.expr(target.value), copy.deepcopy(indices), value, span=span)]

    def unpack(self, target, value_node, span: Span) -> list:
        """`a, b = x, y` (a swap too): every value first, then every target, left to right."""
        for el in target.elements:
            if isinstance(el, cst.StarredElement):
                self.error(el, "starred assignment (*rest) is not supported in kernels",
                           "assign each variable on its own line")
            if isinstance(el.value, (cst.Tuple, cst.List)):
                self.error(el, "nested tuple unpacking is not supported in kernels",
                           "unpack one level at a time")
        if isinstance(value_node, cst.Call):
            return self.unpack_call(target, value_node, span)
        if not isinstance(value_node, cst.Tuple):
            self.error(value_node, "tuple assignment needs a tuple of values, or a call of a @device function "
                                   "that returns one, on the right",
                       "write `a, b = x, y` or `a, b = helper(...)`")
        for el in value_node.elements:
            if isinstance(el, cst.StarredElement):
                self.error(el, "*args unpacking is not supported in kernels", "pass values one by one")
        if len(value_node.elements) != len(target.elements):
            self.error(value_node, f"cannot unpack {len(value_node.elements)} values into "
                                   f"{len(target.elements)} targets", "give one value per target")
        values = [self.expr(el.value) for el in value_node.elements]
        names = {el.value.value for el in target.elements if isinstance(el.value, cst.Name)}
        pre, final = [], []
        for v in values:
            reads = {n.id for n in ir.walk(v) if isinstance(n, ir.Name)}
            if pure(v) and not reads & names:
                final.append(v)  # nothing assigned before it can change it: no temporary
            else:
                name = self.temp()
                pre.append(ir.Assign(name, v, span=span))
                final.append(ir.Name(name, span=v.span))
        out = pre
        for el, v in zip(target.elements, final):
            out.extend(self.assign(el.value, v, None, span))
        return out

    def unpack_call(self, target, value_node: cst.Call, span: Span) -> list:
        """`a, b = helper(...)`: an Unpack into locals (targets that are not plain names get
        temporaries, assigned after the call, left to right)."""
        names, after = [], []
        for el in target.elements:
            if isinstance(el.value, cst.Name):
                names.append(el.value.value)
            else:
                name = self.temp()
                names.append(name)
                after.extend(self.assign(el.value, ir.Name(name, span=span), None, span))
        return [ir.Unpack(names, self.expr(value_node), self.temp(), span=span), *after]

    def assign(self, target, value: ir.Expr, annotation, span: Span) -> list:
        if isinstance(target, cst.Name):
            return [ir.Assign(target.value, value, annotation, span=span)]
        if isinstance(target, cst.Subscript):
            base = self.expr(target.value)
            return [ir.Store(base, self.indices(target), value, span=span)]
        if isinstance(target, cst.Attribute):
            # ctx.state.x = v (ring kernels) or an error later in resolve
            return [ir.Store(self.expr(target), [], value, span=span)]
        self.error(target, "cannot assign to this expression in a kernel")
