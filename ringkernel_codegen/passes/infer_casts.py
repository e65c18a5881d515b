"""Type inference, phase 2: weak literals settled, implicit conversions made explicit Cast nodes."""
from __future__ import annotations

from .. import types as T
from ..errors import CodegenError
from ..intrinsics import Intrinsic
from ..ir import nodes as ir
from . import binding
from .typerules import check_index_type, check_literal_fits, comparison_operand_type, default_of, weak_retyped


class Casts:
    """The Inferer's phase 2 (`coerce_block`), run once the locals' types have settled."""

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
            ot = comparison_operand_type(e.left, e.right)
            for side in (e.left, e.right):
                if ot.is_float and getattr(side, "weak", False) and side.type.is_float and \
                        not isinstance(side, ir.Const):
                    # a weak float expression (`-1.0`) takes the comparison's float type, as a bare
                    # literal does: `v < -1.0` with v: f32 compares in f32, not in double
                    self.retype_weak(side, ot)
                else:
                    self.fix(side)
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
