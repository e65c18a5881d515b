"""CUDA C++ emitter: typed IR -> one self-contained .cu file per kernel (Jinja skeletons in templates/).

Arrays are passed as `T* __restrict__` plus one `long long <name>_shape<i>` per dimension (C order);
read-only arrays are `const`. Locals are declared at the top of the function, and each statement is
preceded by the Python line it came from. Output is byte-identical for identical input.
"""
from __future__ import annotations

import functools
import math
import os

import jinja2

from .. import types as T
from ..errors import CodegenError
from ..intrinsics import Intrinsic, data_dir
from ..ir import nodes as ir
from ..passes.dynamic_shared import dynamic_array
from .common import constant_arrays, device_functions, outside_terms, source_comment, spelling

C_KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
    "extern", "float", "for", "goto", "if", "int", "long", "register", "return", "short", "signed",
    "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while",
    "bool", "class", "delete", "new", "private", "public", "protected", "template", "this", "throw",
    "true", "false", "namespace", "operator", "virtual", "friend", "inline", "mutable", "using",
    "typename", "explicit", "export", "catch", "try", "asm", "signed", "threadIdx", "blockIdx",
    "blockDim", "gridDim", "warpSize", "main", "min", "max", "abs",
}
OPS = {"and": "&&", "or": "||"}


@functools.lru_cache(maxsize=None)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(data_dir("templates"))),
                              keep_trailing_newline=True, trim_blocks=False, autoescape=False,
                              undefined=jinja2.StrictUndefined)


@functools.lru_cache(maxsize=None)
def _text(name: str) -> str:
    path = data_dir("templates") / name
    return path.read_text() if path.exists() else ""


def cname(name: str) -> str:
    return name + "_" if name in C_KEYWORDS else name


class CudaEmitter:
    def __init__(self, f: ir.Function):
        self.f = f
        self.lines: list[str] = []
        self.allocs = {n.name: n for n in ir.walk(f.body) if isinstance(n, ir.Alloc)}
        # module-level arrays: __constant__ C arrays at file scope, indexed like allocations
        self.allocs.update((n.name, n) for n in ir.walk(f.body) if isinstance(n, ir.ConstArray))
        self.params = {p.name: p for p in f.params}
        # scalar parameters the body assigns to: a local of that name holds the value, the
        # parameter itself is renamed (its ParamRef reads it once, at the top of the body)
        self.assigned = {p.name for p in f.params if p.name in f.locals and isinstance(p.type, T.ScalarType)}
        self.requires: set[str] = set()

    # -------------------------------------------------------------- types and names
    def ctype(self, t) -> str:
        if isinstance(t, T.VoidType) or t is None:
            return "void"
        return t.c_name

    def var(self, name: str) -> str:
        return cname(name)

    # -------------------------------------------------------------- expressions
    def expr(self, e) -> str:
        return getattr(self, "e_" + type(e).__name__)(e)

    def e_Const(self, e):
        t, v = e.type, e.value
        if t.is_bool:
            return "true" if v else "false"
        if t.is_float:
            v = float(v)
            if math.isnan(v):
                return "__int_as_float(0x7fc00000)" if t == T.f32 else "__longlong_as_double(0x7ff8000000000000LL)"
            if math.isinf(v):
                inf = "__int_as_float(0x7f800000)" if t == T.f32 else "__longlong_as_double(0x7ff0000000000000LL)"
                return inf if v > 0 else f"(-{inf})"
            s = repr(v)
            if "e" not in s and "." not in s:
                s += ".0"
            return s + "f" if t == T.f32 else s
        v = int(v)
        suffix = {"i64": "LL", "u32": "u", "u64": "ULL"}.get(t.name, "")
        if t.name in ("i32", "i64") and v == -(2 ** (t.bits - 1)):
            return f"({v + 1}{suffix} - 1{suffix})"
        s = f"{v}{suffix}"
        if t.bits < 32:
            return f"(({t.c_name}){v})"
        return s if v >= 0 else f"({s})"

    def e_Var(self, e):
        return self.var(e.name)

    def e_ParamRef(self, e):
        return self.param_name(e.name)

    def e_ConstArray(self, e):
        return self.var(e.name)

    def constant_decl(self, c: ir.ConstArray) -> str:
        """`__constant__ float _rk_const_X[4][3] = {...};` (values exact: finite, checked by resolve)."""
        dtype = c.type.dtype
        values = []
        for v in c.value.ravel().tolist():
            k = ir.Const(v)
            k.type = dtype
            values.append(self.e_Const(k))
        dims = "".join(f"[{d}]" for d in c.value.shape)
        return f"__constant__ {dtype.c_name} {self.var(c.name)}{dims} = {{{', '.join(values)}}};"

    def param_name(self, name: str) -> str:
        return f"_rk_arg_{name}" if name in self.assigned else self.var(name)

    def array_ptr(self, a: ir.Expr) -> str:
        """Pointer to element 0 (multi-dimensional local/shared arrays decay to their first element)."""
        name = self.expr(a)
        alloc = self.allocs.get(getattr(a, "name", None))
        if alloc is not None and len(alloc.shape) > 1:
            return f"(&{name}{'[0]' * len(alloc.shape)})"
        return name

    def flat_index(self, a: ir.Expr, indices) -> str:
        name = getattr(a, "name", None)
        idx = [self.expr(i) for i in indices]
        if name in self.allocs:
            shape = self.allocs[name].shape
            flat = idx[0]
            for i in range(1, len(idx)):
                flat = f"({flat}) * {shape[i]} + ({idx[i]})"
            return flat
        flat = idx[0]
        for i in range(1, len(idx)):
            flat = f"({flat}) * {self.var(name)}_shape{i} + ({idx[i]})"
        return flat

    def subscript(self, a: ir.Expr, indices) -> str:
        name = getattr(a, "name", None)
        if name in self.allocs:
            return self.expr(a) + "".join(f"[{self.expr(i)}]" for i in indices)
        return f"{self.expr(a)}[{self.flat_index(a, indices)}]"

    def e_Load(self, e):
        return self.subscript(e.array, e.indices)

    def dynamic_len(self, a) -> str:
        return f"((long long)(rk_dynamic_smem_size() / sizeof({a.dtype.c_name})))"

    def e_Shape(self, e):
        name = getattr(e.array, "name", None)
        if getattr(self.allocs.get(name), "dynamic", False):
            return self.dynamic_len(self.allocs[name])
        if name in self.allocs:
            return f"{self.allocs[name].shape[e.axis]}LL"
        return f"{self.var(name)}_shape{e.axis}"

    def e_BinOp(self, e):
        l, r = self.expr(e.left), self.expr(e.right)
        t = e.type
        if e.op == "//":
            if t.is_float:
                return f"{'floorf' if t == T.f32 else 'floor'}({l} / {r})"
            return f"({l} / {r})" if t.kind == "u" else f"rk_floordiv<{t.c_name}>({l}, {r})"
        if e.op == "%":
            if t.is_float:
                return f"rk_fmod({l}, {r})"
            return f"({l} % {r})" if t.kind == "u" else f"rk_mod<{t.c_name}>({l}, {r})"
        if e.op == "**":
            if t.is_float:
                return f"{'powf' if t == T.f32 else 'pow'}({l}, {r})"
            return f"rk_ipow<{t.c_name}>({l}, {int(e.right.value)})"
        return f"({l} {OPS.get(e.op, e.op)} {r})"

    def e_Compare(self, e):
        return f"({self.expr(e.left)} {e.op} {self.expr(e.right)})"

    def e_UnaryOp(self, e):
        op = "!" if e.op == "not" else e.op
        return f"({op}{self.expr(e.operand)})"

    def e_Select(self, e):
        return f"({self.expr(e.cond)} ? {self.expr(e.then)} : {self.expr(e.orelse)})"

    def e_Cast(self, e):
        if e.type.is_bool:
            return f"({self.expr(e.value)} != 0)"
        return f"(({e.type.c_name})({self.expr(e.value)}))"

    def e_TupleExpr(self, e):
        raise NotImplementedError("tuples are only used as array indices")

    def shape_exprs(self, a: ir.Expr) -> list:
        """One `long long` extent per dimension of an array expression (what array params carry)."""
        name = getattr(a, "name", None)
        if getattr(self.allocs.get(name), "dynamic", False):
            return [self.dynamic_len(self.allocs[name])]
        if name in self.allocs:
            return [f"{d}LL" for d in self.allocs[name].shape]
        if name in self.params:
            return [f"{self.var(name)}_shape{i}" for i in range(self.params[name].type.ndim)]
        if getattr(a, "extent", None) is not None:  # a fixed-size array field of a message or state
            return [f"{a.extent}LL"]
        raise CodegenError("this array cannot be passed to a device function", a.span,
                           "pass a kernel parameter or a shared_array/local_array")

    def e_Call(self, e):
        if not isinstance(e.callee, Intrinsic):
            args = []
            for p, a in zip(e.callee.ir.params, e.args):
                if isinstance(p.type, T.ArrayType):
                    args.append(self.array_ptr(a))
                    args.extend(self.shape_exprs(a))
                else:
                    args.append(self.expr(a))
            return f"{cname(e.callee.ir.name)}({', '.join(args)})"
        intr = e.callee
        self.requires.update(intr.cuda_requires)
        args = []
        array_arg = None
        for spec, a in zip(intr.params, e.args):
            if spec == "array":
                array_arg = a
                args.append(self.array_ptr(a))
            elif spec == "index" and array_arg is not None:
                items = a.items if isinstance(a, ir.TupleExpr) else [a]
                args.append(self.flat_index(array_arg, items) if len(items) > 1 else self.expr(items[0]))
            else:
                args.append(self.expr(a))
        bound, elem = getattr(e, "bound", None), getattr(e, "elem", None)
        return spelling(intr, "cuda", e).format(*args, T=self.ctype(bound) if bound else "",
                                                E=self.ctype(elem) if elem else "", t="", nt="")

    # -------------------------------------------------------------- statements
    def emit(self, line: str, depth: int):
        self.lines.append("    " * depth + line)

    def comment(self, s, depth):
        text = source_comment(s.span)
        if text:
            self.emit(f"// {text}", depth)

    def block(self, stmts, depth):
        for s in stmts:
            self.comment(s, depth)
            getattr(self, "s_" + type(s).__name__)(s, depth)

    def s_Assign(self, s, depth):
        self.emit(f"{self.var(s.target)} = {self.expr(s.value)};", depth)

    def s_Unpack(self, s, depth):
        """`a, b = helper(...)`: the returned struct in a scoped temporary, then each field."""
        self.emit("{", depth)
        self.emit(f"const auto {s.temp} = {self.expr(s.value)};", depth + 1)
        for j, (target, t, item_t) in enumerate(zip(s.targets, s.types, s.value.type)):
            item = f"{s.temp}.v{j}"
            if t != item_t:
                item = f"(({t.c_name})({item}))" if not t.is_bool else f"({item} != 0)"
            self.emit(f"{self.var(target)} = {item};", depth + 1)
        self.emit("}", depth)

    ret_struct = None  # the struct a device function returning a tuple returns (emit_device)

    def s_Store(self, s, depth):
        self.emit(f"{self.subscript(s.array, s.indices)} = {self.expr(s.value)};", depth)

    def s_ExprStmt(self, s, depth):
        self.emit(f"{self.expr(s.value)};", depth)

    def s_If(self, s, depth, prefix="if"):
        self.emit(f"{prefix} ({self.expr(s.cond)}) {{", depth)
        self.block(s.body, depth + 1)
        if len(s.orelse) == 1 and isinstance(s.orelse[0], ir.If):
            inner = s.orelse[0]
            self.emit("} else {", depth)
            self.comment(inner, depth + 1)
            self.s_If(inner, depth + 1)
            self.emit("}", depth)
            return
        if s.orelse:
            self.emit("} else {", depth)
            self.block(s.orelse, depth + 1)
        self.emit("}", depth)

    def s_For(self, s, depth):
        v = self.var(s.var)
        t = self.f.locals[s.var].c_name
        stop, step = f"_rk_stop_{s.var}", f"_rk_step_{s.var}"
        self.emit("{", depth)
        self.emit(f"const {t} {stop} = {self.expr(s.stop)};", depth + 1)
        self.emit(f"const {t} {step} = {self.expr(s.step)};", depth + 1)
        cond = f"{v} < {stop}"
        if not (isinstance(s.step, ir.Const) and s.step.value > 0):
            cond = f"({step} > 0 ? {v} < {stop} : {v} > {stop})"
        self.emit(f"for ({v} = {self.expr(s.start)}; {cond}; {v} += {step}) {{", depth + 1)
        self.block(s.body, depth + 2)
        self.emit("}", depth + 1)
        self.emit("}", depth)

    def s_While(self, s, depth):
        self.emit(f"while ({self.expr(s.cond)}) {{", depth)
        self.block(s.body, depth + 1)
        self.emit("}", depth)

    def s_Break(self, s, depth):
        self.emit("break;", depth)

    def s_Continue(self, s, depth):
        self.emit("continue;", depth)

    def s_Return(self, s, depth):
        if isinstance(s.value, ir.TupleExpr):
            items = ", ".join(self.expr(i) for i in s.value.items)
            self.emit(f"return {self.ret_struct}{{{items}}};", depth)
            return
        self.emit("return;" if s.value is None else f"return {self.expr(s.value)};", depth)

    def s_Pass(self, s, depth):
        pass

    def s_Alloc(self, s, depth):
        if s.dynamic:  # sized at launch (sharedMemBytes); the kernel's only dynamic array
            self.emit(f"extern __shared__ {s.dtype.c_name} {self.var(s.name)}[];", depth)
            return
        dims = "".join(f"[{d}]" for d in s.shape)
        prefix = "__shared__ " if s.space == "shared" else ""
        self.emit(f"{prefix}{s.dtype.c_name} {self.var(s.name)}{dims};", depth)

    # -------------------------------------------------------------- function pieces
    def param_list(self) -> str:
        out = []
        for p in self.f.params:
            if isinstance(p.type, T.ArrayType):
                const = "const " if p.readonly else ""
                out.append(f"{const}{p.type.dtype.c_name}* __restrict__ {self.var(p.name)}")
                out.extend(f"const long long {self.var(p.name)}_shape{i}" for i in range(p.type.ndim))
            else:
                out.append(f"const {p.type.c_name} {self.param_name(p.name)}")
        return ", ".join(out)

    def body(self, depth=1) -> str:
        for name, t in sorted(self.f.locals.items()):
            if isinstance(t, T.ScalarType) and name not in self.allocs and \
                    (name not in self.params or name in self.assigned):
                self.emit(f"{t.c_name} {self.var(name)} = {self.zero(t)};", depth)
        self.block(self.f.body, depth)
        return "\n".join(self.lines)

    def zero(self, t) -> str:
        return "false" if t.is_bool else ("0.0f" if t == T.f32 else ("0.0" if t.is_float else "0"))


DYNAMIC_SMEM_SIZE = """__device__ __forceinline__ unsigned int rk_dynamic_smem_size()
{
    unsigned int n;
    asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(n));
    return n;
}"""


def emit_device(dev: ir.Function) -> tuple:
    em = CudaEmitter(dev)
    struct = ""
    if isinstance(dev.return_type, tuple):  # a tuple of values: a struct with fields v0, v1, ...
        em.ret_struct = f"_rk_ret_{dev.name}"
        fields = " ".join(f"{t.c_name} v{i};" for i, t in enumerate(dev.return_type))
        struct = f"struct {em.ret_struct} {{ {fields} }};\n"
    body = em.body(1)
    ret = em.ret_struct or em.ctype(dev.return_type)
    head = f"__device__ __forceinline__ {ret} {cname(dev.name)}({em.param_list()})"
    return f"{struct}{head}\n{{\n{body}\n}}", em.requires


def _common(f: ir.Function, em: CudaEmitter) -> dict:
    devices, requires = [], set(em.requires)
    if dynamic_array(f) is not None:  # its extent: the launch's dynamic shared memory size
        devices.append(DYNAMIC_SMEM_SIZE)
    constants = [em.constant_decl(c) for c in constant_arrays(f)]
    if constants:  # module-level arrays read by the kernel or its device functions
        devices.append("\n".join(constants))
    for dev in device_functions(f):
        text, req = emit_device(dev)
        devices.append(text)
        requires |= req
    includes = []  # NVRTC has no C standard headers: emitted code uses built-in types only
    if "cooperative_groups" in requires:
        includes.append("cooperative_groups.h")
    includes += sorted(r for r in requires if r not in ("cooperative_groups",))
    from .. import __version__

    src = os.path.basename(f.file) + (f":{f.span.line}" if f.span else "")
    return dict(version=__version__, source=src, name=f.name, devices=devices, includes=includes,
                prelude=_text("cuda_prelude.cuh").replace("#pragma once\n", ""), ops=_text("cuda_ops.cuh"), params=em.param_list())


def emit_kernel(f: ir.Function) -> str:
    em = CudaEmitter(f)
    body = em.body()
    ctx = _common(f, em)
    return _env().get_template("kernel.cu.j2").render(kind=f.kind, launch_bounds=f.options.get("launch_bounds"),
                                                      body=body, **ctx)


def grid_mapping(space: ir.IterationSpace, tile, em) -> dict:
    """How a CUDA grid covers `space` (the stencil template's variables): one thread per cell, one
    tile per block, array axis i on grid dimension "xyz"[ndim - 1 - i] (x is the last array axis);
    `outside` is the C condition of a thread with no cell to compute."""
    n = space.ndim
    axes = [dict(var=a.var, extent_var=a.extent_var, extent=em.expr(a.extent), dim="xyz"[n - 1 - i], tile=tile[i])
            for i, a in enumerate(space.axes)]
    return dict(axes=axes, absent=list(space.absent), outside=space_outside(space, em))


def space_outside(space: ir.IterationSpace, em) -> str:
    """The C condition of a cell coordinate (_x, _y, _z over extents _nx, _ny, _nz) outside `space`."""
    return " || ".join(outside_terms(space, em))


def emit_stencil(f: ir.Function) -> str:
    em = CudaEmitter(f)
    body = em.body()
    ctx = _common(f, em)
    tile = tuple(f.options["tile"])
    return _env().get_template("stencil.cu.j2").render(
        body=body, tile=tile, halo=f.options.get("halo"), boundary=f.options.get("boundary"),
        launch_bounds=math.prod(tile), **grid_mapping(f.space, tile, em), **ctx)
