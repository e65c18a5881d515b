"""Type inference and checking: the tree walk; implicit conversions become explicit Cast nodes.

Phase 1 (`scan`) types every expression, iterating until the locals' types settle: a local's type
is its annotation, else the join of every value assigned to it (strong types win over weak ones;
two strong types promote). Phase 2 (`coerce_block`) settles weak literals and inserts the casts.
The rules themselves live in typerules.py (C/CUDA usual arithmetic conversions, with Python's `/`
and `//` meanings; comparisons and `and`/`or`/`not` give boolean; conditions are converted with
`!= 0`), intrinsic calls are bound to their signatures by binding.py. Expression types are in
infer_exprs.py, phase 2 in infer_casts.py; this module drives them and checks device functions' returns.
"""
from __future__ import annotations

from .. import types as T
from ..errors import CodegenError
from ..ir import nodes as ir
from .infer_casts import Casts
from .infer_exprs import ExpressionTypes
from .typerules import (ARITH, BITS, binop_result, check_index_type, check_literal_fits,  # noqa: F401
                        comparison_operand_type, constant_int, default_of, expect_scalar, is_integral,
                        join, literal_type, settled, unary_result, weak_retyped)


class Inferer(ExpressionTypes, Casts):
    def __init__(self, fn: ir.Function, device_compiler=None, hooks=None):
        self.f = fn
        self.params = {p.name: p.type for p in fn.params if p.type is not None}
        self.locals: dict = {}       # name -> (type, weak)
        self.fixed: dict = {}        # annotated locals
        self.arrays: dict = {}       # alloc'd arrays name -> ArrayType
        self.shapes: dict = {}       # alloc'd arrays name -> static shape
        self.device_compiler = device_compiler
        self.hooks = hooks
        self.returns = []
        self.tuple_returns = []      # device functions returning tuples: [(type, weak), ...] per return
        self.unpacking = None        # the call an Unpack statement is typing (may give a tuple)
        self.final: dict = {}        # settled local types, once phase 1 is done

    # -------------------------------------------------------------- driver
    def run(self) -> ir.Function:
        for node in ir.walk(self.f.body):
            if isinstance(node, ir.Alloc):
                if node.name in self.arrays or node.name in self.params:
                    raise CodegenError(f"array '{node.name}' is allocated twice", node.span)
                self.arrays[node.name] = T.ArrayType(node.dtype, len(node.shape))
                if not node.dynamic:  # a dynamic shared array's extent is set at launch
                    self.shapes[node.name] = node.shape
            elif isinstance(node, ir.Assign) and node.annotation is not None:
                prev = self.fixed.get(node.target)
                if prev is not None and prev != node.annotation:
                    raise CodegenError(f"'{node.target}' is annotated twice with different types "
                                       f"({prev.name}, {node.annotation.name})", node.span)
                self.fixed[node.target] = node.annotation
        for _ in range(20):
            before = dict(self.locals)
            self.returns, self.tuple_returns = [], []
            self.scan(self.f.body)
            if before == self.locals:
                break
        self.final = {name: settled(tw) for name, tw in self.locals.items()}
        self.final.update(self.fixed)
        self.f.locals = dict(self.final)
        self.f.locals.update({k: v for k, v in self.arrays.items()})
        if self.f.kind == "device":
            check_device_returns(self.f)
        if self.f.kind == "device" and self.tuple_returns:
            self.f.return_type = self.tuple_return_type()
        if self.f.kind == "device" and self.f.return_type is None:
            joined = None
            for r in self.returns:
                joined = join(joined, r)
            self.f.return_type = settled(joined) if joined else T.VOID
        self.coerce_block(self.f.body)
        return self.f

    # -------------------------------------------------------------- phase 1: local types
    def local_type(self, name):
        if name in self.fixed:
            return (self.fixed[name], False)
        if name in self.final:
            return (self.final[name], False)
        return self.locals.get(name)

    def assign_local(self, name, tw, span):
        if name in self.arrays:
            raise CodegenError(f"'{name}' is an array and cannot be reassigned", span)
        if tw is None:
            return
        if isinstance(tw[0], (T.ArrayType, T.VoidType)) or not isinstance(tw[0], T.ScalarType):
            what = "nothing (void)" if isinstance(tw[0], T.VoidType) else tw[0]
            raise CodegenError(f"cannot assign {what} to local '{name}'", span,
                               "locals hold scalars; index the array or call a function that returns a value")
        if name in self.fixed:
            return
        self.locals[name] = join(self.locals.get(name), tw)

    def scan(self, stmts):
        for s in stmts:
            if isinstance(s, ir.Assign):
                self.assign_local(s.target, self.ty(s.value, soft=True), s.span)
            elif isinstance(s, ir.For):
                tw = None
                for e in (s.start, s.stop, s.step):
                    tw = join(tw, self.ty(e, soft=True))
                if tw is not None and not tw[0].is_int:
                    raise CodegenError("range() bounds must be integers", s.span,
                                       "convert with int(...) or use a while loop for float steps")
                self.assign_local(s.var, tw, s.span)
                self.scan(s.body)
            elif isinstance(s, ir.If):
                self.ty(s.cond, soft=True)
                self.scan(s.body)
                self.scan(s.orelse)
            elif isinstance(s, ir.While):
                self.ty(s.cond, soft=True)
                self.scan(s.body)
            elif isinstance(s, ir.Unpack):
                tw = self.unpack_type(s, soft=True)
                if tw is not None:
                    for target, t in zip(s.targets, tw[0]):
                        self.assign_local(target, (t, False), s.span)
            elif isinstance(s, ir.Return) and isinstance(s.value, ir.TupleExpr):
                if self.f.kind == "device":
                    self.tuple_returns.append(([self.ty(i, soft=True) for i in s.value.items], s))
            elif isinstance(s, ir.Return) and s.value is not None:
                tw = self.ty(s.value, soft=True)
                if tw is not None:
                    self.returns.append(tw)

    def tuple_return_type(self) -> tuple:
        """The item types of a device function returning tuples: one join per position."""
        if self.returns:
            raise CodegenError(f"'{self.f.name}' returns a tuple in one place and a single value in another",
                               self.tuple_returns[0][1].span, "return the same number of values everywhere")
        n = len(self.tuple_returns[0][0])
        joined = [None] * n
        for items, ret in self.tuple_returns:
            if len(items) != n:
                raise CodegenError(f"'{self.f.name}' returns {n} values elsewhere, {len(items)} here", ret.span,
                                   "return the same number of values everywhere")
            joined = [join(j, tw) for j, tw in zip(joined, items)]
        declared = self.f.return_type
        if isinstance(declared, tuple):
            if len(declared) != n:
                raise CodegenError(f"'{self.f.name}' is annotated to return {len(declared)} values but returns {n}",
                                   self.tuple_returns[0][1].span)
            return declared
        if declared is not None:
            raise CodegenError(f"'{self.f.name}' is annotated to return {declared} but returns a tuple",
                               self.tuple_returns[0][1].span)
        if any(tw is not None and not isinstance(tw[0], T.ScalarType) for tw in joined):
            raise CodegenError("a device function returns numbers (a tuple of numbers)",
                               self.tuple_returns[0][1].span, "index arrays, and return the elements")
        return tuple(settled(tw) if tw is not None else T.i64 for tw in joined)


# ---------------------------------------------------------------- device function returns
def check_device_returns(f: ir.Function) -> None:
    """A device function returns a value on every path or on none: a bare `return` (or the end of
    the body) next to `return value` would be None in Python and garbage in CUDA."""
    returns = [n for n in ir.walk(f.body) if isinstance(n, ir.Return)]
    valued = [r for r in returns if r.value is not None]
    if not valued:
        return
    bare = next((r for r in returns if r.value is None), None)
    if bare is not None:
        raise CodegenError(f"bare `return` in '{f.name}', which returns a value elsewhere (line "
                           f"{valued[0].span.line if valued[0].span else '?'})", bare.span,
                           "return a value here too, e.g. `return 0`")
    if not _always_returns(f.body):
        raise CodegenError(f"device function '{f.name}' can reach the end of its body without returning a value",
                           f.span, "end the function with a return statement")


def _always_returns(stmts) -> bool:
    for s in stmts:
        if isinstance(s, ir.Return):
            return True
        if isinstance(s, ir.If) and _always_returns(s.body) and _always_returns(s.orelse):
            return True
        if isinstance(s, ir.While) and isinstance(s.cond, ir.Const) and s.cond.value and \
                not any(isinstance(n, ir.Break) for n in _loop_level(s.body)):
            return True  # `while True` without a break leaves only through a return
    return False


def _loop_level(stmts):
    """Statements of a loop body outside nested loops (where a break would leave this loop)."""
    for s in stmts:
        yield s
        if isinstance(s, ir.If):
            yield from _loop_level(s.body)
            yield from _loop_level(s.orelse)
