"""Shared Python-syntax expression/statement emission for the numba.cuda and CPU emitters."""
from __future__ import annotations

import math

from .. import types as T
from ..intrinsics import Intrinsic
from ..ir import nodes as ir
from .common import source_comment, spelling

PY_OPS = {"and": "and", "or": "or"}
# Operators Python groups left to right at one precedence level: a long left-nested chain of one
# group (`a + b - c + ...`) is written without its inner parentheses, which Python's parser limits
# to 200 levels. Shorter chains keep the parentheses (output unchanged).
FLAT_GROUPS = ({"+", "-"}, {"*", "/", "//", "%"}, {"&"}, {"|"}, {"^"}, {"and"}, {"or"})
FLAT_MIN = 8
# integer operators for which wrapping once at the end equals wrapping every step (arithmetic
# modulo 2**bits; numba computes in 64 bits, which wraps modulo 2**64)
WRAP_ONCE = {"+", "-", "*"}
# below this expression depth a narrowing conversion is written np.int32((a + b)) as it always
# was; deeper, np.int32(a + b): one level of parentheses per IR level, so that every expression
# the front end accepts (frontend/parse_exprs.py MAX_EXPR_DEPTH) stays under Python's limit of 200
COMPACT_DEPTH = 16


class PyEmitter:
    backend = "cpu"
    type_prefix = "np"

    def __init__(self, f: ir.Function):
        self.f = f
        self.lines: list[str] = []

    # ------------------------------------------------------------ names and types
    def tname(self, t: T.ScalarType) -> str:
        if t.is_bool:
            return f"{self.type_prefix}.bool_" if self.type_prefix == "np" else "numba.boolean"
        return f"{self.type_prefix}.{t.numba_name}"

    def var(self, name: str) -> str:
        return name

    def cast(self, t: T.ScalarType, s: str) -> str:
        if t.is_bool:
            return f"({s} != 0)"
        return f"{self.tname(t)}({s})"

    in_index = False
    depth = 0  # how deep expr() is in the expression being written

    def narrow(self, t, s: str) -> str:
        """numba computes small ints in 64 bits; wrap results so they keep CUDA's width.
        Index arithmetic is left in 64 bits (an index that overflows 32 bits is a bug either way).
        `s` is one parenthesised group; deep in an expression the conversion's own parentheses
        replace it (COMPACT_DEPTH)."""
        if isinstance(t, T.ScalarType) and t.is_int and t.bits < 64 and not self.in_index:
            if self.depth > COMPACT_DEPTH and s.startswith("(") and s.endswith(")"):
                s = s[1:-1]
            return self.cast(t, s)
        return s

    # ------------------------------------------------------------ expressions
    def expr(self, e) -> str:
        m = getattr(self, "e_" + type(e).__name__, None)
        if m is None:
            raise NotImplementedError(f"{type(self).__name__} cannot emit {type(e).__name__}")
        self.depth += 1
        try:
            return m(e)
        finally:
            self.depth -= 1

    def e_Const(self, e):
        t, v = e.type, e.value
        if isinstance(v, bool) or (t is not None and t.is_bool):
            return "True" if v else "False"
        if t is not None and t.is_float:
            v = float(v)
            if math.isnan(v):
                s = "math.nan"
            elif math.isinf(v):
                s = "math.inf" if v > 0 else "(-math.inf)"
            else:
                s = repr(v)
            return s if t == T.f64 else self.cast(t, s)
        s = repr(int(v))
        if t is None or t == T.i64:
            return s if int(v) >= 0 else f"({s})"
        return self.cast(t, s)

    def e_Var(self, e):
        return self.var(e.name)

    def e_ConstArray(self, e):
        return e.name  # a module-level array (py_constant_lines)

    def e_ParamRef(self, e):
        return e.name  # the parameter itself, also where locals live in per-thread arrays

    def e_Load(self, e):
        return f"{self.expr(e.array)}[{self.indices(e.indices)}]"

    def indices(self, indices) -> str:
        saved, self.in_index = self.in_index, True
        try:
            return ", ".join(self.expr(i) for i in indices)
        finally:
            self.in_index = saved

    def e_Shape(self, e):
        return f"{self.expr(e.array)}.shape[{e.axis}]"

    def e_BinOp(self, e):
        op = PY_OPS.get(e.op, e.op)
        chain = self.left_chain(e)
        if chain is not None:
            first, rest = chain
            text = " ".join([self.expr(first), *(f"{PY_OPS.get(o, o)} {self.expr(r)}" for o, r in rest)])
            return self.narrow(e.type, f"({text})")
        return self.narrow(e.type, f"({self.expr(e.left)} {op} {self.expr(e.right)})")

    def left_chain(self, e):
        """(first operand, [(op, operand), ...]) of a long left-nested chain of one operator group
        and one type that can be written flat, else None. Narrow integers are wrapped once, at
        the end, which is exact for + - * only."""
        group = next((g for g in FLAT_GROUPS if e.op in g), None)
        if group is None:
            return None
        wraps = self.narrow(e.type, "x") != "x"
        rest, node = [], e
        while isinstance(node, ir.BinOp) and node.op in group and node.type == e.type and \
                (not wraps or node.op in WRAP_ONCE):
            rest.append((node.op, node.right))
            node = node.left
        if len(rest) < FLAT_MIN:
            return None
        return node, rest[::-1]

    def e_Compare(self, e):
        return f"({self.expr(e.left)} {e.op} {self.expr(e.right)})"

    def e_UnaryOp(self, e):
        if e.op == "not":
            return f"(not {self.expr(e.operand)})"
        return self.narrow(e.type, f"({e.op}{self.expr(e.operand)})")

    def e_Select(self, e):
        return f"({self.expr(e.then)} if {self.expr(e.cond)} else {self.expr(e.orelse)})"

    def e_Cast(self, e):
        return self.cast(e.type, self.expr(e.value))

    def e_TupleExpr(self, e):
        return "(" + "".join(self.expr(i) + ", " for i in e.items).rstrip(" ") + ")"

    def e_Call(self, e):
        if isinstance(e.callee, Intrinsic):
            return self.intrinsic(e)
        return f"{e.callee.ir.name}({', '.join(self.expr(a) for a in e.args)})"

    def intrinsic(self, e):
        return self.format_spelling(e, [self.expr(a) for a in e.args])

    def format_spelling(self, e, args) -> str:
        """The backend's spelling of intrinsic call `e` with `args` already emitted."""
        bound = getattr(e, "bound", None)
        elem = getattr(e, "elem", None)
        return spelling(e.callee, self.backend, e).format(
            *args, T=self.tname(bound) if bound else "", E=self.tname(elem) if elem else "", t="_t", nt="_nt")

    # ------------------------------------------------------------ statements
    def declare_locals(self, depth: int, skip=()):
        """Give every scalar local a typed zero up front, as the CUDA emitter does: numba refuses
        a name that is only possibly defined (loop-carried locals) and keeps the types stable."""
        params = {p.name for p in self.f.params}
        for name, t in sorted(self.f.locals.items()):
            if isinstance(t, T.ScalarType) and name not in params and name not in skip:
                zero = "False" if t.is_bool else (self.cast(t, "0") if t not in (T.i64, T.f64) else
                                                  ("0.0" if t.is_float else "0"))
                self.emit(f"{self.var(name)} = {zero}", depth)

    def emit(self, line: str, depth: int):
        self.lines.append("    " * depth + line)

    def comment(self, s, depth):
        text = source_comment(s.span)
        if text:
            self.emit(f"# {text}", depth)

    def block(self, stmts, depth):
        start = len(self.lines)
        for s in stmts:
            self.stmt(s, depth)
        if all(line.lstrip().startswith("#") for line in self.lines[start:]):
            # empty, or only statements that emit nothing here (a shared_array the CPU launcher
            # allocates): Python needs a statement in the block
            self.emit("pass", depth)

    def stmt(self, s, depth):
        self.comment(s, depth)
        m = getattr(self, "s_" + type(s).__name__)
        m(s, depth)

    def s_Assign(self, s, depth):
        self.emit(f"{self.var(s.target)} = {self.expr(s.value)}", depth)

    def s_Unpack(self, s, depth):
        """`a, b = helper(...)`: the tuple into a temporary, then each item converted to its local."""
        self.emit(f"{s.temp} = {self.expr(s.value)}", depth)
        for j, (target, t, item_t) in enumerate(zip(s.targets, s.types, s.value.type)):
            item = f"{s.temp}[{j}]"
            if t != item_t or t not in (T.i64, T.f64, T.boolean):
                item = self.cast(t, item)
            self.emit(f"{self.var(target)} = {item}", depth)

    def s_Store(self, s, depth):
        self.emit(f"{self.expr(s.array)}[{self.indices(s.indices)}] = {self.expr(s.value)}", depth)

    def s_ExprStmt(self, s, depth):
        code = self.expr(s.value)
        self.emit(code, depth)

    def s_If(self, s, depth, kw="if"):
        self.emit(f"{kw} {self.expr(s.cond)}:", depth)
        self.block(s.body, depth + 1)
        if len(s.orelse) == 1 and isinstance(s.orelse[0], ir.If):
            inner = s.orelse[0]
            self.comment(inner, depth)
            self.s_If(inner, depth, "elif")
        elif s.orelse:
            self.emit("else:", depth)
            self.block(s.orelse, depth + 1)

    def s_For(self, s, depth):
        args = [self.expr(s.start), self.expr(s.stop), self.expr(s.step)]
        self.emit(f"for {self.var(s.var)} in range({', '.join(args)}):", depth)
        self.block(s.body, depth + 1)

    def s_While(self, s, depth):
        self.emit(f"while {self.expr(s.cond)}:", depth)
        self.block(s.body, depth + 1)

    def s_Break(self, s, depth):
        self.emit("break", depth)

    def s_Continue(self, s, depth):
        self.emit("continue", depth)

    def s_Return(self, s, depth):
        self.emit("return" + (f" {self.expr(s.value)}" if s.value is not None else ""), depth)

    def s_Pass(self, s, depth):
        self.emit("pass", depth)
