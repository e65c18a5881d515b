"""Name resolution: Name/Attribute -> Var, Const (folded globals), intrinsics, device functions, casts."""
from __future__ import annotations

import builtins
import math
import numbers
import types as pytypes

import numpy as np

from .. import types as T
from ..errors import CodegenError
from ..intrinsics import Intrinsic, alias_map, table
from ..ir import nodes as ir

BUILTIN_CASTS = {"int": T.i64, "float": T.f64, "bool": T.boolean}
# round() rounds half to even, as rint does
PY_INT_ROUNDING = {math.floor: "floor", math.ceil: "ceil", math.trunc: "trunc", round: "rint"}
FORBIDDEN_BUILTINS = {
    "print": ("print() is not supported in kernels", "write values to an output array and print on the host"),
    "range": ("range() is only allowed as the iterable of a for loop", "write `for i in range(n):`"),
    "isinstance": ("isinstance() is not supported in kernels", "types are fixed at compile time"),
    "open": ("open() is not supported in kernels", "kernels cannot do I/O"),
    "sum": ("sum() is not supported in kernels", "accumulate in a for loop"),
}


class DeviceRef:
    """A call target that is a @device (or plain) Python function; compiled on demand."""

    def __init__(self, fn):
        self.fn = fn


def namespace(fn) -> dict:
    """What a name inside `fn` can refer to: builtins < module globals < closure variables."""
    ns = dict(vars(builtins))
    ns.update(getattr(fn, "__globals__", {}))
    code = getattr(fn, "__code__", None)
    closure = getattr(fn, "__closure__", None)
    if code is not None and closure:
        for name, cell in zip(code.co_freevars, closure):
            try:
                ns[name] = cell.cell_contents
            except ValueError:
                pass
    return ns


def to_type(obj, span=None, what="type"):
    """A ScalarType/ArrayType from an annotation object (ours, numpy's or numba's)."""
    if isinstance(obj, (T.ScalarType, T.ArrayType)):
        return obj
    if obj is bool:
        return T.boolean
    if obj is int:
        return T.i64
    if obj is float:
        return T.f64
    name = getattr(obj, "__name__", None) or getattr(obj, "name", None) or str(obj)
    if isinstance(name, str) and name in T.ALIASES:
        return T.ALIASES[name]
    try:
        return T.from_numpy(obj)
    except TypeError:
        pass
    raise CodegenError(f"{obj!r} is not a kernel {what}", span,
                       "use f32, f64, i32, i64, u32, u64, boolean, arrays like f32[:, :] or Field2D[f32]")


def eval_annotation(node_or_obj, ns: dict, span):
    """Evaluate an annotation given as a libcst node (or already an object)."""
    import libcst as cst

    if not isinstance(node_or_obj, cst.CSTNode):
        return node_or_obj
    code = cst.Module(body=[]).code_for_node(node_or_obj)
    try:
        return eval(compile(code, "<annotation>", "eval"), dict(ns))  # noqa: S307 - user's own annotation
    except Exception as exc:  # noqa: BLE001 - any failure is the user's annotation
        raise CodegenError(f"cannot evaluate annotation `{code}`: {exc}", span,
                           "annotations must be ringkernel types such as f32, i32[:] or Field2D[f32]") from None


class Resolver:
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
            self.params[p.name] = p
        self._collect_locals(self.f.body)
        self.f.body = self.block(self.f.body)
        if self.f.return_type is not None:
            obj = eval_annotation(self.f.return_type, self.ns, self.f.span)
            self.f.return_type = obj if self.hooks and self.hooks.is_message(obj) else to_type(obj, self.f.span)
        return self.f

    def _collect_locals(self, body):
        for node in ir.walk(body):
            if isinstance(node, ir.Assign):
                self.locals.add(node.target)
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
            if s.target in self.params:
                raise CodegenError(f"cannot assign to parameter '{s.target}': parameters are read-only", s.span,
                                   f"copy it into a local first: `{s.target}_local = {s.target}`")
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
        if isinstance(s, ir.ExprStmt):
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

    def _alloc_intrinsic(self, call: ir.Call):
        try:
            callee = self.callee(call.callee)
        except CodegenError:
            return None
        if isinstance(callee, Intrinsic) and callee.kind == "alloc":
            return callee
        return None

    def alloc(self, s: ir.Assign) -> ir.Alloc:
        call = s.value
        intr = self._alloc_intrinsic(call)
        args = list(call.args)
        for key in ("shape", "dtype"):
            if key in call.kwargs:
                args.append(call.kwargs[key])
        if len(args) != 2:
            raise CodegenError(f"{intr.name}(shape, dtype) takes a shape and a dtype", call.span,
                               f"write `{s.target} = {intr.name}((16, 16), f32)`")
        shape = self.const_value(args[0])
        if isinstance(shape, numbers.Integral):
            shape = (int(shape),)
        if not (isinstance(shape, tuple) and shape and all(isinstance(d, numbers.Integral) and d > 0 for d in shape)):
            raise CodegenError(f"{intr.name}() needs a compile-time shape of positive integers", args[0].span,
                               "use literals or module-level constants, e.g. (TILE, TILE)")
        dtype = to_type(self.static_object(args[1]), args[1].span, "dtype")
        space = "shared" if intr.name == "shared_array" else "local"
        return ir.Alloc(s.target, space, tuple(int(d) for d in shape), dtype, span=s.span)

    # -------------------------------------------------------------- expressions
    def const_value(self, e: ir.Expr):
        """Fold an expression to a Python value (constants, globals, tuples, simple arithmetic)."""
        e = self.expr(e)
        if isinstance(e, ir.Const):
            return e.value
        if isinstance(e, ir.TupleExpr):
            return tuple(self.const_value(i) for i in e.items)
        if isinstance(e, ir.UnaryOp) and e.op in ("-", "+"):
            v = self.const_value(e.operand)  # negative literals (u[-1, 0]) parse as unary minus
            if isinstance(v, numbers.Real) and not isinstance(v, bool):
                return -v if e.op == "-" else v
        if isinstance(e, ir.BinOp) and e.op in ("+", "-", "*", "//"):
            a, b = self.const_value(e.left), self.const_value(e.right)
            if isinstance(a, numbers.Integral) and isinstance(b, numbers.Integral):
                return {"+": a + b, "-": a - b, "*": a * b, "//": a // b if b else None}[e.op]
        raise CodegenError("expected a compile-time constant", e.span,
                           "use a literal or a module-level constant")

    def static_object(self, e: ir.Expr):
        """The Python object a Name/Attribute chain refers to (for dtypes and callees)."""
        if isinstance(e, ir.Name):
            if e.id in self.params or e.id in self.locals:
                raise CodegenError(f"'{e.id}' is a variable here, not a compile-time object", e.span)
            if e.id not in self.ns:
                raise self.unknown(e)
            return self.ns[e.id]
        if isinstance(e, ir.Attribute):
            base = self.static_object(e.value)
            try:
                return getattr(base, e.attr)
            except AttributeError:
                raise CodegenError(f"{getattr(base, '__name__', base)!r} has no attribute '{e.attr}'", e.span) from None
        if isinstance(e, ir.Const):
            return e.value
        raise CodegenError("expected a name such as f32 or math.sqrt here", e.span)

    def unknown(self, e: ir.Name) -> CodegenError:
        close = [n for n in list(self.params) + sorted(self.locals) if n.lower() == e.id.lower()]
        hint = f"did you mean '{close[0]}'?" if close else \
            "define it before use, pass it as a parameter, or import it (intrinsics live in ringkernel_codegen.dsl)"
        return CodegenError(f"unknown name '{e.id}'", e.span, hint)

    def fold(self, obj, e: ir.Expr):
        """A global Python object used as a value."""
        if isinstance(obj, (bool, np.bool_)):
            return ir.Const(bool(obj), span=e.span)
        if isinstance(obj, np.generic) and np.issubdtype(type(obj), np.number):
            c = ir.Const(obj.item(), span=e.span)
            c.type = T.from_numpy(type(obj))
            return c
        if isinstance(obj, numbers.Integral):
            return ir.Const(int(obj), weak=True, span=e.span)
        if isinstance(obj, numbers.Real):
            return ir.Const(float(obj), weak=True, span=e.span)
        if isinstance(obj, tuple):
            return ir.TupleExpr([self.fold(o, e) for o in obj], span=e.span)
        if isinstance(obj, str):
            return ir.Const(obj, span=e.span)
        if isinstance(obj, np.ndarray):
            raise CodegenError(f"global array '{getattr(e, 'id', '?')}' cannot be captured by a kernel", e.span,
                               "pass the array as a parameter")
        raise CodegenError(f"{getattr(e, 'id', getattr(e, 'attr', '?'))!r} ({type(obj).__name__}) "
                           "cannot be used as a value in a kernel", e.span,
                           "kernels use numbers, arrays, intrinsics and @device functions")

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
        return e

    def callee(self, func: ir.Expr):
        obj = self.static_object(func)
        if isinstance(obj, Intrinsic):
            return obj
        mapped = alias_map().get(id(obj))
        if mapped is not None:
            return mapped
        return obj

    def call(self, e: ir.Call) -> ir.Expr:
        if self.hooks is not None:
            hooked = self.hooks.call(self, e)
            if hooked is not None:
                return hooked
        if isinstance(e.callee, ir.Name) and (e.callee.id in self.params or e.callee.id in self.locals):
            raise CodegenError(f"'{e.callee.id}' is a variable, not a function", e.span,
                               "call an intrinsic or a @device function; rename the variable if it shadows one")
        if isinstance(e.callee, ir.Attribute):
            root = e.callee
            while isinstance(root, ir.Attribute):
                root = root.value
            if isinstance(root, ir.Name) and (root.id in self.params or root.id in self.locals):
                raise CodegenError(f"method calls on kernel values are not supported (.{e.callee.attr}())", e.span,
                                   "use intrinsics from ringkernel_codegen.dsl")
        obj = self.callee(e.callee)
        name = getattr(e.callee, "id", getattr(e.callee, "attr", "?"))
        args = [self.expr(a) for a in e.args]
        if isinstance(obj, Intrinsic):
            if obj.kind == "alloc":
                raise CodegenError(f"{obj.name}() must be assigned directly to a variable", e.span,
                                   f"write `buf = {obj.name}(shape, dtype)` on its own line")
            if e.kwargs:
                raise CodegenError(f"intrinsic {obj.name}() takes positional arguments only", e.span,
                                   f"pass them by position: {obj.name}{obj.signature()}")
            return ir.Call(obj, args, span=e.span)
        if e.kwargs and not (self.hooks and self.hooks.is_message(obj)):
            raise CodegenError(f"keyword arguments are not supported when calling {name}()", e.span,
                               "pass arguments by position")
        if isinstance(obj, (T.ScalarType,)) or obj in (np.float32, np.float64, np.int32, np.int64, np.uint32,
                                                       np.uint64, np.int8, np.int16, np.uint8, np.uint16,
                                                       np.bool_):
            if len(args) != 1:
                raise CodegenError(f"type conversion {name}() takes one argument", e.span)
            c = ir.Cast(args[0], span=e.span)
            c.type = to_type(obj, e.span)
            return c
        if obj in PY_INT_ROUNDING:
            # Python's math.floor/ceil/trunc and round(x) return ints: the float intrinsic, then a cast
            if len(args) != 1:
                raise CodegenError(f"{name}() takes one argument in kernels", e.span,
                                   "round(x, ndigits) is not supported; scale and round instead")
            c = ir.Cast(ir.Call(table()[PY_INT_ROUNDING[obj]], args, span=e.span), span=e.span)
            c.type = T.i64
            return c
        if obj is len:
            if len(args) != 1:
                raise CodegenError("len() takes one array", e.span, "write len(arr) for the size of its first axis")
            return ir.Shape(args[0], 0, span=e.span)
        if obj in (int, float, bool):
            if len(args) != 1:
                raise CodegenError(f"{obj.__name__}() takes one argument in kernels", e.span)
            c = ir.Cast(args[0], span=e.span)
            c.type = BUILTIN_CASTS[obj.__name__]
            return c
        forbidden = next((n for n in FORBIDDEN_BUILTINS if getattr(builtins, n) is obj), None)
        if forbidden is not None:
            msg, hint = FORBIDDEN_BUILTINS[forbidden]
            raise CodegenError(msg, e.span, hint)
        if self.hooks is not None and self.hooks.is_message(obj):
            return self.hooks.construct(self, obj, e, args)
        from ..kernel import DeviceFunction, KernelBase  # local import: kernel imports passes

        if isinstance(obj, KernelBase):
            raise CodegenError(f"kernel '{name}' cannot be called from inside a kernel", e.span,
                               "decorate helpers with @device instead of @kernel")
        if isinstance(obj, DeviceFunction):
            return ir.Call(DeviceRef(obj.fn), args, span=e.span)
        if isinstance(obj, pytypes.FunctionType):
            return ir.Call(DeviceRef(obj), args, span=e.span)
        if isinstance(obj, (pytypes.BuiltinFunctionType, pytypes.BuiltinMethodType)) or callable(obj):
            mod = getattr(obj, "__module__", None) or ""
            extra = " (math functions without an intrinsic are unsupported)" if obj is not None and \
                (mod == "math" or getattr(math, getattr(obj, "__name__", ""), None) is obj) else ""
            raise CodegenError(f"{name}() is not supported in kernels{extra}", e.span,
                               "see `ringkernel-codegen intrinsics` for what kernels can call")
        raise CodegenError(f"'{name}' is not callable", e.span)
