"""Name resolution: Name/Attribute -> Var, Const (folded globals), intrinsics, device functions, casts."""
from __future__ import annotations

import builtins
import copy
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


MAX_RANK = 3


def check_rank(t, span, what: str) -> None:
    """Arrays have 1 to 3 dimensions (what launch shapes, stencil fields and the emitters' index
    arithmetic are written and tested for)."""
    if isinstance(t, T.ArrayType) and t.ndim > MAX_RANK:
        raise CodegenError(f"{what} is a {t.ndim}D array; kernel arrays have 1 to {MAX_RANK} dimensions", span,
                           "flatten the trailing axes into one and compute the index yourself")


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


class ArrayLocals:
    """A local bound to an array (`data = buf0`, `data = buf0 if flag else buf1`, `d = data`) on
    the untyped IR, before names are resolved: the local holds the number of the array it names
    (a scalar every backend keeps, the CPU emulator's per-thread locals included), and each use
    of it becomes a choice between the arrays it can name, `data[i]` ->
    `buf0[i] if data == 0 else buf1[i]` (a store, or a call statement, an if), so only the
    chosen array is touched. The arrays must share one type. Only array parameters and
    shared_array/local_array allocations can be named."""

    def __init__(self, resolver: "Resolver"):
        self.r = resolver
        self.arrays: dict = {}     # array parameters and allocations: name -> ArrayType
        self.locals: dict = {}     # array local -> [names of the arrays it can name]
        self.numbers: dict = {}    # array name -> its number (the local's value)

    def run(self):
        body = self.r.f.body
        for p in self.r.f.params:
            if isinstance(p.type, T.ArrayType):
                self.arrays[p.name] = p.type
        for n in ir.walk(body):
            if isinstance(n, ir.Assign) and isinstance(n.value, ir.Call) and \
                    self.r._alloc_intrinsic(n.value) is not None:
                a = self.r.alloc(copy.deepcopy(n))
                self.arrays.setdefault(n.target, T.ArrayType(a.dtype, len(a.shape)))
        assigns = [n for n in ir.walk(body) if isinstance(n, ir.Assign) and n.target not in self.arrays]
        changed = True
        while changed:
            changed = False
            for s in assigns:
                if s.target not in self.locals and self._array_valued(s.value):
                    self.locals[s.target] = []
                    changed = True
        if not self.locals:
            return
        for s in assigns:
            if s.target in self.locals and not self._array_valued(s.value):
                raise CodegenError(f"'{s.target}' names an array elsewhere and cannot hold a number", s.span,
                                   "use another variable for the number")
        changed = True
        while changed:
            changed = False
            for s in assigns:
                if s.target in self.locals:
                    for name in self._named(s.value):
                        for base in ([name] if name in self.arrays else self.locals[name]):
                            if base not in self.locals[s.target]:
                                self.locals[s.target].append(base)
                                changed = True
        for s in assigns:
            if s.target in self.locals:
                types = {self.arrays[b] for b in self.locals[s.target]}
                if len(types) > 1:
                    names = ", ".join(f"{b}: {self.arrays[b]}" for b in self.locals[s.target])
                    raise CodegenError(f"'{s.target}' names arrays of different types ({names})", s.span,
                                       "an array variable can only name arrays of one element type and rank")
        for name in self.arrays:
            if any(name in c for c in self.locals.values()):
                self.numbers[name] = len(self.numbers)
        self.r.f.body = self.block(body)

    def _array_valued(self, e) -> bool:
        if isinstance(e, ir.Name):
            return e.id in self.arrays or e.id in self.locals
        if isinstance(e, ir.Select):
            return self._array_valued(e.then) and self._array_valued(e.orelse)
        return False

    def _named(self, e) -> list:
        if isinstance(e, ir.Name):
            return [e.id]
        return self._named(e.then) + self._named(e.orelse)

    def number(self, e):
        """The value an array local takes for array expression `e`."""
        if isinstance(e, ir.Name):
            if e.id in self.locals:
                return e
            return ir.Const(self.numbers[e.id], weak=True, span=e.span)
        return ir.Select(e.cond, self.number(e.then), self.number(e.orelse), span=e.span)

    # ------------------------------------------------------------ rewriting uses
    def block(self, stmts) -> list:
        out = []
        for s in stmts:
            out.append(self.stmt(s))
        return out

    def stmt(self, s):
        if isinstance(s, ir.Assign) and s.target in self.locals:
            s.value = self.number(s.value)
            return s
        if isinstance(s, ir.Store) and isinstance(s.array, ir.Name) and s.array.id in self.locals:
            s.indices = [self.expr(i) for i in s.indices]
            s.value = self.expr(s.value)
            return self.choose_stmt(s.array.id, s,
                                    lambda node, base: setattr(node, "array", ir.Name(base, span=node.span)))
        if isinstance(s, ir.ExprStmt) and isinstance(s.value, ir.Call) and self._local_arg(s.value) is not None:
            s.value.args = [self.expr(a) if not self._is_local(a) else a for a in s.value.args]
            return self.call_stmt(s)
        for name in ("value", "cond", "start", "stop", "step", "array"):
            v = getattr(s, name, None)
            if isinstance(v, ir.Expr):
                setattr(s, name, self.expr(v))
        if isinstance(getattr(s, "indices", None), list):
            s.indices = [self.expr(i) for i in s.indices]
        for name in ("body", "orelse"):
            if isinstance(getattr(s, name, None), list):
                setattr(s, name, self.block(getattr(s, name)))
        return s

    def call_stmt(self, s):
        local = self._local_arg(s.value)
        if local is None:
            return s
        return self.choose_stmt(local, s, lambda node, base: self._bind(node.value, local, base),
                                then=self.call_stmt)

    def choose_stmt(self, local, s, bind, then=None):
        """`if local == 0: <s on array 0> elif ...`, the last array in the else branch."""
        cands = self.locals[local]
        branches = []
        for base in cands:
            node = copy.deepcopy(s)
            bind(node, base)
            branches.append(then(node) if then is not None else node)
        out = branches[-1]
        for base, branch in zip(reversed(cands[:-1]), reversed(branches[:-1])):
            test = ir.Compare("==", ir.Name(local, span=s.span),
                              ir.Const(self.numbers[base], weak=True, span=s.span), span=s.span)
            out = ir.If(test, [branch], [out], span=s.span)
        return out

    def _is_local(self, e) -> bool:
        return isinstance(e, ir.Name) and e.id in self.locals

    def _local_arg(self, call: ir.Call):
        return next((a.id for a in call.args if self._is_local(a)), None)

    def _bind(self, call: ir.Call, local: str, base: str):
        call.args = [ir.Name(base, span=a.span) if self._is_local(a) and a.id == local else a for a in call.args]

    def expr(self, e):
        """Rewrite array-local uses inside `e` into choices between the arrays."""
        if e is None:
            return e
        for name in getattr(e, "__dataclass_fields__", {}):
            if name in ("span", "type"):
                continue
            v = getattr(e, name)
            if isinstance(v, ir.Expr) and not (name == "array" and self._is_local(v)) and \
                    not (isinstance(e, ir.Attribute) and name == "value" and self._is_local(v)):
                setattr(e, name, self.expr(v))
            elif isinstance(v, list):
                setattr(e, name, [self.expr(x) if isinstance(x, ir.Expr) and not self._is_local(x) else x for x in v])
        if isinstance(e, ir.Load):
            target = e.array.value if isinstance(e.array, ir.Attribute) else e.array
            if self._is_local(target):
                return self.choose(target.id, e, lambda node, base: self._rename(node, target.id, base))
        if isinstance(e, ir.Call):
            return self.call_expr(e)
        if self._is_local(e):
            raise CodegenError(f"'{e.id}' names an array: index it ({e.id}[i]) or pass it to a function", e.span,
                               "array variables are used only as arrays")
        return e

    def call_expr(self, e: ir.Call):
        local = self._local_arg(e)
        if local is None:
            return e
        return self.choose(local, e, lambda node, base: self._bind(node, local, base), then=self.call_expr)

    def _rename(self, load: ir.Load, local: str, base: str):
        if isinstance(load.array, ir.Attribute):
            load.array.value = ir.Name(base, span=load.array.value.span)
        else:
            load.array = ir.Name(base, span=load.array.span)

    def choose(self, local, e, bind, then=None):
        """`<e on array 0> if local == 0 else ...`, the last array in the final else."""
        cands = self.locals[local]
        branches = []
        for base in cands:
            node = copy.deepcopy(e)
            bind(node, base)
            branches.append(then(node) if then is not None else node)
        out = branches[-1]
        for base, branch in zip(reversed(cands[:-1]), reversed(branches[:-1])):
            test = ir.Compare("==", ir.Name(local, span=e.span),
                              ir.Const(self.numbers[base], weak=True, span=e.span), span=e.span)
            out = ir.Select(test, branch, out, span=e.span)
        return out


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
                    check_rank(p.type, p.span, f"parameter '{p.name}'")
            self.params[p.name] = p
        prepare = getattr(self.hooks, "prepare", None)
        if prepare is not None:
            prepare(self)  # kind-specific rewrites of the untyped body (stencils: offset loops)
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
        if not isinstance(dtype, T.ScalarType):
            raise CodegenError(f"{intr.name}() takes a scalar element type, got {dtype}", args[1].span,
                               "write the element type: f32, i32, ...")
        check_rank(T.ArrayType(dtype, len(shape)), args[0].span, f"{intr.name}()")
        space = "shared" if intr.name == "shared_array" else "local"
        if space == "shared" and self.f.kind == "device":
            raise CodegenError(f"shared_array() inside @device function '{self.f.name}' is not supported", call.span,
                               "allocate it in the kernel and pass it to the device function as an array "
                               "parameter (the CPU emulator allocates shared memory per block, for the kernel)")
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
        if isinstance(e, ir.Cast):  # made by the front end (lower.py), its type already set
            e.value = self.expr(e.value)
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
