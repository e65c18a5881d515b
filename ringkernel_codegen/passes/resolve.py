"""Name resolution: Name/Attribute -> Var, Const (folded globals), intrinsics, device functions, casts.

This module drives it (parameters, locals, statements, expressions); calls are resolved in
resolve_calls.py, globals and annotations in resolve_globals.py, array locals in array_locals.py.
"""
from __future__ import annotations

from .. import types as T
from ..errors import CodegenError
from ..intrinsics import Intrinsic
from ..ir import nodes as ir
from .array_locals import ArrayLocals
from .resolve_calls import CallResolution, DeviceRef
from .resolve_globals import GlobalValues, check_rank, eval_annotation, namespace, to_type


def hoist_allocs(body: list) -> list:
    """shared_array/local_array allocations inside if/for/while move to the top of the function:
    an allocation is one array for the whole function (per block, or per thread), as a CUDA
    declaration is visible in the rest of its function only from the top level."""
    nested = []

    def strip(stmts, top):
        out = []
        for s in stmts:
            if isinstance(s, ir.Alloc) and not top:
                nested.append(s)
                continue
            for name in ("body", "orelse"):
                if isinstance(getattr(s, name, None), list):
                    setattr(s, name, strip(getattr(s, name), False))
            out.append(s)
        return out

    body = strip(body, True)
    return nested + body if nested else body


class Resolver(CallResolution, GlobalValues):
    """Turns the front end's Name/Attribute/Call nodes into resolved IR for one function."""

    def __init__(self, fn_ir: ir.Function, py_fn, hooks=None):
        self.f = fn_ir
        self.ns = namespace(py_fn)
        self.params = {}
        self.locals: set[str] = set()
        self.hooks = hooks  # ring-kernel context/message resolution (passes/ring.py)

    def run(self) -> ir.Function:
        for p in self.f.params:
            if p.type is not None:
                obj = eval_annotation(p.type, self.ns, p.span)
                if self.hooks is not None and self.hooks.is_message(obj):
                    p.type = obj  # a ring kernel's message parameter
                else:
                    p.type = to_type(obj, p.span, "parameter type")
                    check_rank(p.type, p.span, f"parameter '{p.name}'")
            self.params[p.name] = p
        if self.hooks is not None:
            self.hooks.prepare(self)  # kind-specific rewrites of the untyped body (stencils: offset loops)
        self._collect_locals(self.f.body)
        ArrayLocals(self).run()
        copies = self._assigned_params()
        self.f.body = copies + self.block(self.f.body)
        self.f.body = hoist_allocs(self.f.body)
        if self.f.return_type is not None:
            obj = eval_annotation(self.f.return_type, self.ns, self.f.span)
            if self.hooks and self.hooks.is_message(obj):
                self.f.return_type = obj
            elif isinstance(obj, tuple) or getattr(obj, "__origin__", None) is tuple:
                items = obj if isinstance(obj, tuple) else obj.__args__  # (i32, f32) or tuple[i32, f32]
                self.f.return_type = tuple(to_type(t, self.f.span, "return type") for t in items)
                if not all(isinstance(t, T.ScalarType) for t in self.f.return_type):
                    raise CodegenError("a function returns numbers (or a tuple of numbers)", self.f.span)
            else:
                self.f.return_type = to_type(obj, self.f.span)
        return self.f

    def _assigned_params(self) -> list:
        """A scalar parameter the body assigns to (`n = n - 1`, `x += 1.0`) becomes a local of the
        same name and type, initialised from the argument: `n: i32 = <argument n>`."""
        assigned = {n.target for n in ir.walk(self.f.body) if isinstance(n, ir.Assign)} | \
            {t for n in ir.walk(self.f.body) if isinstance(n, ir.Unpack) for t in n.targets}
        out = []
        for p in self.f.params:
            if p.name not in assigned:
                continue
            if not isinstance(p.type, T.ScalarType):
                what = "an array" if isinstance(p.type, T.ArrayType) else "this"
                raise CodegenError(f"cannot assign to parameter '{p.name}': {what} parameter cannot be rebound",
                                   next(n.span for n in ir.walk(self.f.body)
                                        if isinstance(n, ir.Assign) and n.target == p.name
                                        or isinstance(n, ir.Unpack) and p.name in n.targets),
                                   "store into its elements (x[i] = v), or bind another name to it")
            ref = ir.ParamRef(p.name, span=p.span)
            out.append(ir.Assign(p.name, ref, p.type, span=p.span))
            self.locals.add(p.name)
        return out

    def _collect_locals(self, body):
        for node in ir.walk(body):
            if isinstance(node, ir.Assign):
                self.locals.add(node.target)
            elif isinstance(node, ir.Unpack):
                self.locals.update(node.targets)
            elif isinstance(node, ir.For):
                self.locals.add(node.var)

    # -------------------------------------------------------------- statements
    def block(self, stmts: list) -> list:
        out = []
        for s in stmts:
            r = self.stmt(s)
            if r is not None:
                out.append(r)
        return out

    def stmt(self, s):
        if isinstance(s, ir.Assign):
            if isinstance(s.value, ir.ParamRef):
                return s  # the copy of an assigned parameter (see _assigned_params)
            if isinstance(s.value, ir.Call) and self._alloc_intrinsic(s.value) is not None:
                return self.alloc(s)
            if s.annotation is not None:
                ann = eval_annotation(s.annotation, self.ns, s.span)
                s.annotation = to_type(ann, s.span, "local type")
                if not isinstance(s.annotation, T.ScalarType):
                    raise CodegenError("local variables are scalars; arrays come from shared_array/local_array",
                                       s.span, "annotate scalar locals only (`v: f32 = 0.0`); use array "
                                       "parameters directly")
            s.value = self.expr(s.value)
            return s
        if isinstance(s, ir.Store):
            if not s.indices and isinstance(s.array, ir.Attribute):
                if self.hooks is not None:
                    return self.hooks.store_attribute(self, s)
                raise CodegenError("cannot assign to an attribute in a kernel", s.span,
                                   "kernel values have no attributes; store into an array element: x[i] = v")
            s.array = self.expr(s.array)
            s.indices = [self.expr(i) for i in s.indices]
            s.value = self.expr(s.value)
            if self.hooks is not None:
                return self.hooks.store(self, s)
            return s
        if isinstance(s, ir.Unpack):
            s.value = self.expr(s.value)
            if not (isinstance(s.value, ir.Call) and isinstance(s.value.callee, DeviceRef)):
                raise CodegenError("only the values of a @device function call can be unpacked", s.value.span,
                                   "write `a, b = helper(...)` with a @device function that returns a tuple")
            return s
        if isinstance(s, ir.ExprStmt):
            if self.hooks is not None:
                hooked = self.hooks.expr_stmt(self, s)
                if hooked is not None:
                    return hooked
            s.value = self.expr(s.value)
            if isinstance(s.value, ir.Call) and isinstance(s.value.callee, Intrinsic) \
                    and s.value.callee.kind == "alloc":
                raise CodegenError(f"{s.value.callee.name}() must be assigned to a variable", s.span)
            return s
        if isinstance(s, ir.If):
            s.cond = self.expr(s.cond)
            s.body, s.orelse = self.block(s.body), self.block(s.orelse)
            return s
        if isinstance(s, ir.For):
            if s.var in self.params:
                raise CodegenError(f"loop variable '{s.var}' shadows a parameter", s.span, "rename the loop variable")
            s.start, s.stop, s.step = self.expr(s.start), self.expr(s.stop), self.expr(s.step)
            s.body = self.block(s.body)
            return s
        if isinstance(s, ir.While):
            s.cond = self.expr(s.cond)
            s.body = self.block(s.body)
            return s
        if isinstance(s, ir.Return):
            if s.value is not None:
                s.value = self.expr(s.value)
            return s
        return s

    # -------------------------------------------------------------- expressions
    def expr(self, e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.Name):
            if e.id in self.params or e.id in self.locals:
                if self.hooks is not None:
                    hooked = self.hooks.name(self, e)
                    if hooked is not None:
                        return hooked
                return ir.Var(e.id, span=e.span)
            if e.id not in self.ns:
                raise self.unknown(e)
            return self.fold(self.ns[e.id], e)
        if isinstance(e, ir.Attribute):
            if self.hooks is not None:
                hooked = self.hooks.attribute(self, e)
                if hooked is not None:
                    return hooked
            root = e
            while isinstance(root, ir.Attribute):
                root = root.value
            if isinstance(root, ir.Name) and (root.id in self.params or root.id in self.locals):
                if e.attr == "shape":
                    return ir.Attribute(self.expr(e.value), "shape", span=e.span)
                raise CodegenError(f"attribute '.{e.attr}' is not supported on kernel values", e.span,
                                   "arrays support .shape[i] and len(); scalars have no attributes")
            return self.fold(self.static_object(e), e)
        if isinstance(e, ir.Load):
            base = self.expr(e.array)
            idx = [self.expr(i) for i in e.indices]
            if isinstance(base, ir.Attribute) and base.attr == "shape":
                if len(idx) != 1 or not isinstance(idx[0], ir.Const) or not isinstance(idx[0].value, int):
                    raise CodegenError("arr.shape takes one constant index", e.span, "write arr.shape[0]")
                return ir.Shape(base.value, idx[0].value, span=e.span)
            if isinstance(base, ir.TupleExpr) and len(idx) == 1 and isinstance(idx[0], ir.Const) and \
                    isinstance(idx[0].value, int) and 0 <= idx[0].value < len(base.items):
                return base.items[idx[0].value]  # a global tuple's item: GLOBAL_ARRAY.shape[1], SIZES[0]
            e.array, e.indices = base, idx
            if self.hooks is not None:
                hooked = self.hooks.load(self, e)
                if hooked is not None:
                    return hooked
            return e
        if isinstance(e, ir.Call):
            return self.call(e)
        if isinstance(e, (ir.BinOp, ir.Compare)):
            e.left, e.right = self.expr(e.left), self.expr(e.right)
            return e
        if isinstance(e, ir.UnaryOp):
            e.operand = self.expr(e.operand)
            return e
        if isinstance(e, ir.Select):
            e.cond, e.then, e.orelse = self.expr(e.cond), self.expr(e.then), self.expr(e.orelse)
            return e
        if isinstance(e, ir.TupleExpr):
            e.items = [self.expr(i) for i in e.items]
            return e
        if isinstance(e, ir.Cast):  # made by the front end (lower.py), its type already set
            e.value = self.expr(e.value)
            return e
        return e
