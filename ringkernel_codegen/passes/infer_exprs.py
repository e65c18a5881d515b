"""Type inference, phase 1 for expressions: (type, weak) of each; calls, indices and unpacking checked."""
from __future__ import annotations

from .. import types as T
from ..errors import CodegenError
from ..intrinsics import Intrinsic
from ..ir import nodes as ir
from . import binding
from .typerules import (binop_result, check_index_type, constant_int, expect_scalar, join, literal_type,
                        unary_result)


class ExpressionTypes:
    """The Inferer's expression types (phase 1), also used by phase 2 to retype what it rewrites."""

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
        if isinstance(e, ir.ConstArray):
            return (e.type, False)
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
        from .resolve_calls import DeviceRef

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

    def intrinsic(self, e: ir.Call, soft):
        return binding.bind_call(e, lambda a: self.ty(a, soft), self.check_constant_indices)

    def extents(self, array: ir.Expr):
        """The static extent of each axis of `array` where known (allocations, message and state
        array fields), else None."""
        if isinstance(array, ir.Var) and array.name in self.shapes:
            return self.shapes[array.name]
        if isinstance(array, ir.ConstArray):
            return array.value.shape
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
