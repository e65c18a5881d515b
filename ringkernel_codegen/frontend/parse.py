"""libcst CST -> untyped IR. Every node gets a Span; every unsupported construct a CodegenError."""
from __future__ import annotations

import copy
import inspect
import sys
import textwrap
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ..errors import CodegenError, Span
from ..ir import nodes as ir
from .lower import ChainCompare, Lowerer, pure

BINOPS = {
    cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.Divide: "/", cst.FloorDivide: "//",
    cst.Modulo: "%", cst.Power: "**", cst.BitAnd: "&", cst.BitOr: "|", cst.BitXor: "^",
    cst.LeftShift: "<<", cst.RightShift: ">>",
}
AUGOPS = {
    cst.AddAssign: "+", cst.SubtractAssign: "-", cst.MultiplyAssign: "*", cst.DivideAssign: "/",
    cst.FloorDivideAssign: "//", cst.ModuloAssign: "%", cst.PowerAssign: "**",
    cst.BitAndAssign: "&", cst.BitOrAssign: "|", cst.BitXorAssign: "^",
    cst.LeftShiftAssign: "<<", cst.RightShiftAssign: ">>",
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
# Python allows 100 levels of indentation, and the emulator's generated source adds its own loops
# around the body: if/for/while may nest this deep
MAX_BLOCK_DEPTH = 64

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


@dataclass
class SourceInfo:
    file: str
    first_line: int
    lines: list
    indent: int


def get_source(fn) -> SourceInfo:
    try:
        lines, first = inspect.getsourcelines(fn)
        file = inspect.getsourcefile(fn) or "<unknown>"
    except (OSError, TypeError) as exc:
        raise CodegenError(
            f"cannot read the source of {getattr(fn, '__name__', fn)!r} ({exc})",
            hint="kernels must be defined in a .py file (or a notebook cell), not built with exec()") from None
    indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
    return SourceInfo(file=file, first_line=first, lines=lines, indent=indent)


# libcst's visitors recurse a few frames per nesting level: room for MAX_EXPR_DEPTH and more, so
# that a too-deep kernel reaches the depth check (an error with its position) instead of failing
# inside libcst
PARSE_RECURSION_LIMIT = 20000


def parse_function(fn, kind: str = "kernel", allow_untyped_first: bool = False) -> ir.Function:
    """Parse `fn`'s source into an untyped ir.Function (names unresolved)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, PARSE_RECURSION_LIMIT))
    try:
        return _parse_function(fn, kind, allow_untyped_first)
    finally:
        sys.setrecursionlimit(limit)


def _parse_function(fn, kind: str, allow_untyped_first: bool) -> ir.Function:
    src = get_source(fn)
    text = textwrap.dedent("".join(src.lines))
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise CodegenError(f"cannot parse kernel source: {exc.message}",
                           Span(src.file, src.first_line + exc.raw_line - 1, exc.raw_column + 1)) from None
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    builder = _Builder(src, positions, kind)
    fdef = next((s for s in wrapper.module.body if isinstance(s, cst.FunctionDef)), None)
    if fdef is None:
        raise CodegenError(f"{getattr(fn, '__name__', fn)!r} is not a plain function definition",
                           Span(src.file, src.first_line, 1, src.lines[0] if src.lines else ""))
    return builder.function(fdef, allow_untyped_first)


class _Builder:
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

    # ------------------------------------------------------------------ function
    def function(self, fdef: cst.FunctionDef, allow_untyped_first: bool) -> ir.Function:
        if fdef.asynchronous is not None:
            self.error(fdef, "async functions cannot be kernels", "remove `async`")
        p = fdef.params
        if isinstance(p.star_arg, cst.Param):
            self.error(p.star_arg, "*args parameters are not supported in kernels",
                       "declare each parameter with a type annotation")
        if isinstance(p.star_kwarg, cst.Param):
            self.error(p.star_kwarg, "**kwargs parameters are not supported in kernels",
                       "declare each parameter with a type annotation")
        params = []
        all_params = list(p.posonly_params) + list(p.params) + list(p.kwonly_params)
        for i, param in enumerate(all_params):
            if param.default is not None:
                self.error(param.default, f"parameter '{param.name.value}' has a default value",
                           "kernel parameters cannot have defaults; pass every argument")
            annotation = param.annotation.annotation if param.annotation is not None else None
            if annotation is None and not (allow_untyped_first and i == 0):
                self.error(param, f"parameter '{param.name.value}' has no type annotation",
                           "annotate it, e.g. `x: f32[:]` for an array or `n: i32` for a scalar")
            params.append(ir.Param(param.name.value, annotation, span=self.span(param)))
        body = Lowerer(self.temp).block(self.block(fdef.body))
        returns = fdef.returns.annotation if fdef.returns is not None else None
        fn = ir.Function(fdef.name.value, params, body, kind=self.kind, return_type=returns,
                         span=self.span(fdef.name), file=self.src.file, temps=self.temps)
        return fn

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
