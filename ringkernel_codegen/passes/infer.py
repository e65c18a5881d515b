"""Type inference and checking: the tree walk; implicit conversions become explicit Cast nodes.

Phase 1 (`scan`) types every expression, iterating until the locals' types settle: a local's type
is its annotation, else the join of every value assigned to it (strong types win over weak ones;
two strong types promote). Phase 2 (`coerce_block`) settles weak literals and inserts the casts.
The rules themselves live in typerules.py (C/CUDA usual arithmetic conversions, with Python's `/`
and `//` meanings; comparisons and `and`/`or`/`not` give boolean; conditions are converted with
`!= 0`), intrinsic calls are bound to their signatures by binding.py.
"""
from __future__ import annotations

from .. import types as T
from ..errors import CodegenError
from ..intrinsics import Intrinsic
from ..ir import nodes as ir
from . import binding
from .typerules import (ARITH, BITS, binop_result, check_index_type, check_literal_fits,  # noqa: F401
                        comparison_operand_type, constant_int, default_of, expect_scalar, is_integral,
                        join, literal_type, settled, unary_result, weak_retyped)


class Inferer:
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

    # -------------------------------------------------------------- expression types
    def ty(self, e: ir.Expr, soft: bool = False):
        """(type, weak) of `e`, setting e.type; soft=True tolerates not-yet-known locals."""
        tw = self._ty(e, soft)
        if tw is not None:
            e.type, e.weak = tw
        return tw

    def _ty(self, e, soft):
        if isinstance(e, ir.Const):
            return literal_type(e)
        if isinstance(e, ir.Var):
            if e.name in self.params:
                return (self.params[e.name], False)
            if e.name in self.arrays:
                return (self.arrays[e.name], False)
            tw = self.local_type(e.name)
            if tw is None and not soft:
                raise CodegenError(f"'{e.name}' is used before it is assigned", e.span)
            return tw
        if isinstance(e, ir.ParamRef):
            return (self.params[e.name], False)
        if isinstance(e, ir.Shape):
            at = self.ty(e.array, soft)
            if at is not None and not isinstance(at[0], T.ArrayType):
                raise CodegenError("len()/.shape need an array", e.span)
            if at is not None and not 0 <= e.axis < at[0].ndim:
                raise CodegenError(f"shape index {e.axis} is out of range for a {at[0].ndim}D array", e.span)
            return (T.i64, False)
        if isinstance(e, ir.Load):
            at = self.ty(e.array, soft)
            for i in e.indices:
                check_index_type(self.ty(i, soft), i)
            if at is None:
                return None
            if not isinstance(at[0], T.ArrayType):
                raise CodegenError(f"cannot index a {at[0]} value", e.span, "only arrays can be indexed")
            if len(e.indices) != at[0].ndim:
                raise CodegenError(f"a {at[0].ndim}D array needs {at[0].ndim} indices, got {len(e.indices)}",
                                   e.span, "index every dimension: a[i, j]")
            self.check_constant_indices(e.array, e.indices)
            return (at[0].dtype, False)
        if isinstance(e, ir.BinOp):
            return self.binop(e, soft)
        if isinstance(e, ir.Compare):
            a, b = self.ty(e.left, soft), self.ty(e.right, soft)
            for side in (a, b):
                if side is not None and not isinstance(side[0], T.ScalarType):
                    raise CodegenError("only numbers can be compared", e.span)
            return (T.boolean, False)
        if isinstance(e, ir.UnaryOp):
            t = self.ty(e.operand, soft)
            if e.op == "not":
                return (T.boolean, False)
            if t is None:
                return None
            self.scalar(t, e)
            return unary_result(e, t)
        if isinstance(e, ir.Select):
            self.ty(e.cond, soft)
            return join(self.ty(e.then, soft), self.ty(e.orelse, soft))
        if isinstance(e, ir.Cast):
            self.ty(e.value, soft)
            return (e.type, False)
        if isinstance(e, ir.Call):
            return self.call(e, soft)
        if isinstance(e, ir.TupleExpr):
            raise CodegenError("tuples are not kernel values", e.span,
                               "tuples are only allowed as shapes of shared_array/local_array and as the "
                               "index of an atomic on a multi-dimensional array")
        if self.hooks is not None:
            return self.hooks.ty(self, e, soft)
        raise CodegenError(f"cannot type {type(e).__name__} here", e.span)

    def scalar(self, tw, e):
        expect_scalar(tw, e)

    def binop(self, e: ir.BinOp, soft):
        a, b = self.ty(e.left, soft), self.ty(e.right, soft)
        if e.op in ("and", "or"):
            return (T.boolean, False)
        if a is None or b is None:
            return None
        self.scalar(a, e.left)
        self.scalar(b, e.right)
        return binop_result(e, a, b)

    def call(self, e: ir.Call, soft):
        if isinstance(e.callee, Intrinsic):
            return self.intrinsic(e, soft)
        from .resolve import DeviceRef

        if isinstance(e.callee, DeviceRef):
            arg_types = [self.ty(a, soft) for a in e.args]
            if self.device_compiler is None:
                raise CodegenError("device functions are not available here", e.span)
            dev = self.device_compiler(e.callee.fn, e.span)
            e.callee.ir = dev
            if len(e.args) != len(dev.params):
                raise CodegenError(f"{dev.name}() takes {len(dev.params)} arguments, got {len(e.args)}", e.span,
                                   f"call it as {dev.name}({', '.join(p.name for p in dev.params)})")
            for p, a, at in zip(dev.params, e.args, arg_types):
                if at is not None and isinstance(p.type, T.ArrayType) != isinstance(at[0], T.ArrayType):
                    raise CodegenError(f"argument '{p.name}' of {dev.name}() expects {p.type}, got {at[0]}", a.span)
            if isinstance(dev.return_type, T.VoidType):
                return (T.VOID, False)
            if isinstance(dev.return_type, tuple) and e is not self.unpacking:
                n = len(dev.return_type)
                raise CodegenError(f"{dev.name}() returns {n} values: unpack them into {n} variables", e.span,
                                   f"write `{', '.join(f'v{i}' for i in range(n))} = {dev.name}(...)`")
            return (dev.return_type, False)
        if self.hooks is not None:
            return self.hooks.ty(self, e, soft)
        raise CodegenError("unsupported call", e.span)

    def unpack_type(self, s: ir.Unpack, soft: bool):
        """(tuple of types, False) of an Unpack's call, checked against its number of targets."""
        self.unpacking = s.value
        try:
            tw = self.ty(s.value, soft)
        finally:
            self.unpacking = None
        if tw is None:
            return None
        if not isinstance(tw[0], tuple):
            raise CodegenError(f"{getattr(s.value.callee, 'fn', None).__name__}() returns one value, not a tuple",
                               s.value.span, "assign it to one variable")
        if len(tw[0]) != len(s.targets):
            raise CodegenError(f"cannot unpack {len(tw[0])} values into {len(s.targets)} targets", s.span,
                               "give one target per returned value")
        return tw

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

    def intrinsic(self, e: ir.Call, soft):
        return binding.bind_call(e, lambda a: self.ty(a, soft), self.check_constant_indices)

    def extents(self, array: ir.Expr):
        """The static extent of each axis of `array` where known (allocations, message and state
        array fields), else None."""
        if isinstance(array, ir.Var) and array.name in self.shapes:
            return self.shapes[array.name]
        extent = getattr(array, "extent", None)
        if isinstance(extent, int):
            return (extent,)
        return None

    def check_constant_indices(self, array: ir.Expr, indices) -> None:
        """A constant index must be inside the array: never negative (Python would count from the
        end, CUDA reads before the buffer: no backend-independent meaning), and below a static
        extent where the array has one."""
        extents = self.extents(array)
        for axis, i in enumerate(indices):
            v = constant_int(i)
            if v is None:
                continue
            if v < 0:
                raise CodegenError(f"negative array index {v}: kernels do not count from the end", i.span,
                                   "index from the start: a[a.shape[0] - 1] for the last element")
            if extents is not None and axis < len(extents) and v >= extents[axis]:
                raise CodegenError(f"index {v} is out of range for an axis of extent {extents[axis]}", i.span,
                                   f"valid indices are 0 to {extents[axis] - 1}")

    # -------------------------------------------------------------- phase 2: explicit casts
    def coerce(self, e: ir.Expr, target) -> ir.Expr:
        """Return `e` converted to `target` (retyping weak literals, else wrapping in a Cast)."""
        if target is None or isinstance(target, (T.ArrayType, T.VoidType)) or e.type == target and not \
                getattr(e, "weak", False):
            return e
        if isinstance(e, ir.Const) and getattr(e, "weak", False):
            check_literal_fits(e, target)
            e.value = float(e.value) if target.is_float else (bool(e.value) if target.is_bool else int(e.value))
            e.type, e.weak = target, False
            return e
        if e.type == target:
            e.weak = False
            return e
        if not isinstance(e.type, T.ScalarType):
            raise CodegenError(f"expected a {target}, got {e.type}", e.span)
        c = ir.Cast(e, span=e.span)
        c.type, c.weak = target, False
        return c

    def coerce_block(self, stmts):
        for s in stmts:
            self.coerce_stmt(s)

    def coerce_stmt(self, s):
        if isinstance(s, ir.Assign):
            self.ty(s.value)
            self.fix(s.value)
            s.value = self.coerce(s.value, self.final.get(s.target))
        elif isinstance(s, ir.Store):
            at = self.ty(s.array)[0]
            if not isinstance(at, T.ArrayType):
                raise CodegenError(f"cannot index-assign into a {at} value", s.span)
            if len(s.indices) != at.ndim:
                raise CodegenError(f"a {at.ndim}D array needs {at.ndim} indices, got {len(s.indices)}", s.span,
                                   "index every dimension: a[i, j]")
            for i in s.indices:
                check_index_type(self.ty(i), i)
                self.fix(i)
            self.check_constant_indices(s.array, s.indices)
            s.indices = [self.coerce(i, i.type if not getattr(i, "weak", False) else T.i64) for i in s.indices]
            self.ty(s.value)
            self.fix(s.value)
            self.scalar((s.value.type, False), s.value)
            s.value = self.coerce(s.value, at.dtype)
        elif isinstance(s, ir.ExprStmt):
            self.ty(s.value)
            self.fix(s.value)
        elif isinstance(s, ir.If):
            s.cond = self.cond(s.cond)
            self.coerce_block(s.body)
            self.coerce_block(s.orelse)
        elif isinstance(s, ir.While):
            s.cond = self.cond(s.cond)
            self.coerce_block(s.body)
        elif isinstance(s, ir.For):
            vt = self.final[s.var]
            for name in ("start", "stop", "step"):
                e = getattr(s, name)
                self.ty(e)
                self.fix(e)
                setattr(s, name, self.coerce(e, vt))
            self.coerce_block(s.body)
        elif isinstance(s, ir.Unpack):
            self.unpack_type(s, soft=False)
            self.fix(s.value)
            s.types = [self.final.get(t) for t in s.targets]
        elif isinstance(s, ir.Return) and isinstance(s.value, ir.TupleExpr):
            if self.f.kind != "device" or not isinstance(self.f.return_type, tuple):
                raise CodegenError("only a @device function can return a tuple", s.span,
                                   "write results into an output array")
            for i in s.value.items:
                self.ty(i)
                self.fix(i)
            s.value.items = [self.coerce(i, t) for i, t in zip(s.value.items, self.f.return_type)]
            s.value.type = self.f.return_type
        elif isinstance(s, ir.Return):
            if s.value is not None:
                self.ty(s.value)
                self.fix(s.value)
                if self.f.kind in ("kernel", "stencil"):
                    raise CodegenError("kernels cannot return a value", s.span,
                                       "write results into an output array")
                if self.hooks is not None and self.hooks.is_return_handled(self, s):
                    return
                s.value = self.coerce(s.value, self.f.return_type)
        elif self.hooks is not None:
            self.hooks.coerce_stmt(self, s)

    def cond(self, e):
        self.ty(e)
        self.fix(e)
        return self.truth(e)

    def truth(self, e):
        if e.type == T.boolean:
            return e
        if not isinstance(e.type, T.ScalarType):
            raise CodegenError(f"a condition must be a number or boolean, got {e.type}", e.span)
        return self.coerce(e, T.boolean)

    def fix(self, e: ir.Expr):
        """Resolve weak types bottom-up and insert casts inside `e` (its own type already set)."""
        if getattr(e, "weak", False) and isinstance(e.type, T.ScalarType) and not isinstance(e, ir.Const):
            self.retype_weak(e, default_of(e.type))
            return
        if isinstance(e, ir.BinOp):
            self.fix(e.left)
            self.fix(e.right)
            if e.op in ("and", "or"):
                e.left, e.right = self.truth(e.left), self.truth(e.right)
            elif e.op in ("<<", ">>"):
                e.left = self.coerce(e.left, e.type)
                e.right = self.coerce(e.right, e.right.type if not e.right.weak else e.type)
            elif e.op == "**" and e.type.is_int:
                e.left = self.coerce(e.left, e.type)
            else:
                e.left, e.right = self.coerce(e.left, e.type), self.coerce(e.right, e.type)
        elif isinstance(e, ir.Compare):
            self.fix(e.left)
            self.fix(e.right)
            ot = comparison_operand_type(e.left, e.right)
            e.left, e.right = self.coerce(e.left, ot), self.coerce(e.right, ot)
        elif isinstance(e, ir.UnaryOp):
            self.fix(e.operand)
            if e.op == "not":
                e.operand = self.truth(e.operand)
            else:
                e.operand = self.coerce(e.operand, e.type)
        elif isinstance(e, ir.Select):
            self.fix(e.cond)
            self.fix(e.then)
            self.fix(e.orelse)
            e.cond = self.truth(e.cond)
            e.then, e.orelse = self.coerce(e.then, e.type), self.coerce(e.orelse, e.type)
        elif isinstance(e, ir.Cast):
            self.fix(e.value)
            if getattr(e.value, "weak", False):
                e.value = self.coerce(e.value, default_of(e.value.type))
        elif isinstance(e, ir.Load):
            for i in e.indices:
                self.fix(i)
            e.indices = [self.coerce(i, T.i64) if getattr(i, "weak", False) else i for i in e.indices]
        elif isinstance(e, ir.Call):
            for a in e.args:
                self.fix(a)
            if isinstance(e.callee, Intrinsic):
                self.coerce_intrinsic_args(e)
            elif hasattr(e.callee, "ir"):
                e.args = [self.coerce(a, p.type) for a, p in zip(e.args, e.callee.ir.params)]
            elif self.hooks is not None:
                self.hooks.fix_call(self, e)
        elif isinstance(e, ir.TupleExpr):
            for i in e.items:
                self.fix(i)
            e.items = [self.coerce(i, T.i64) if getattr(i, "weak", False) else i for i in e.items]
        elif isinstance(e, ir.Shape):
            self.fix(e.array)
        elif self.hooks is not None and not isinstance(e, (ir.Var, ir.Const)):
            self.hooks.fix(self, e)

    def retype_weak(self, e, target):
        """A weak compound expression takes `target` as its type all the way down."""
        e.weak = False
        e.type = weak_retyped(e, target)
        self.fix(e)

    def coerce_intrinsic_args(self, e: ir.Call):
        targets = binding.argument_targets(e)
        e.args = [a if t is None else self.coerce(a, t) for a, t in zip(e.args, targets)]


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
