"""Kernel-kind rules that are not type rules: reserved names, loop variables, read-only arrays."""
from __future__ import annotations

import keyword

from .. import types as T
from ..errors import CodegenError
from ..intrinsics import Intrinsic
from ..ir import nodes as ir

# names the emitters generate; user code must not shadow them
RESERVED = {"_tx", "_ty", "_tz", "_bx", "_by", "_bz", "_bdx", "_bdy", "_bdz", "_gdx", "_gdy", "_gdz",
            "_t", "_nt", "_rt", "_nrt", "_x", "_y", "_z", "_nx", "_ny", "_nz", "np", "math", "numba", "cuda"}


def check_names(f: ir.Function):
    names = [(p.name, p.span) for p in f.params]
    for node in ir.walk(f.body):
        if isinstance(node, ir.Assign):
            names.append((node.target, node.span))
        elif isinstance(node, ir.Unpack):
            names.extend((t, node.span) for t in node.targets)
        elif isinstance(node, ir.For):
            names.append((node.var, node.span))
        elif isinstance(node, ir.Alloc):
            names.append((node.name, node.span))
    for name, span in names:
        if name in f.temps:
            continue  # the front end's own temporaries
        if name in RESERVED or name.startswith("_rk") or keyword.iskeyword(name):
            raise CodegenError(f"the name '{name}' is reserved by the code generator", span,
                               "rename the variable (names starting with _rk and the emulator's "
                               "_tx/_bx/... are reserved)")


def check_loops(body: list, loop_vars=()):
    for s in body:
        targets = [s.target] if isinstance(s, ir.Assign) else (s.targets if isinstance(s, ir.Unpack) else [])
        hit = next((t for t in targets if t in loop_vars), None)
        if hit is not None:
            raise CodegenError(f"loop variable '{hit}' is assigned inside its loop", s.span,
                               "use another variable; the loop variable follows range() only")
        if isinstance(s, ir.For):
            check_loops(s.body, (*loop_vars, s.var))
        elif isinstance(s, ir.While):
            check_loops(s.body, loop_vars)
        elif isinstance(s, ir.If):
            check_loops(s.body, loop_vars)
            check_loops(s.orelse, loop_vars)


def check_loop_control(body: list, in_loop=False):
    for s in body:
        if isinstance(s, (ir.Break, ir.Continue)) and not in_loop:
            raise CodegenError(f"'{type(s).__name__.lower()}' outside a loop", s.span)
        if isinstance(s, (ir.For, ir.While)):
            check_loop_control(s.body, True)
        elif isinstance(s, ir.If):
            check_loop_control(s.body, in_loop)
            check_loop_control(s.orelse, in_loop)


def written_arrays(f: ir.Function) -> set:
    """Names of array params the function may write (stores, atomics, calls that take the array)."""
    out = set()
    for node in ir.walk(f.body):
        if isinstance(node, ir.Store) and isinstance(node.array, ir.Var):
            out.add(node.array.name)
        elif isinstance(node, ir.Call):
            for i, a in enumerate(node.args):
                if not isinstance(a, ir.Var):
                    continue
                if isinstance(node.callee, Intrinsic):
                    spec = node.callee.params[i] if i < len(node.callee.params) else ""
                    if spec == "array" and not node.callee.name.startswith(("ldg", "load_")):
                        out.add(a.name)  # atomics and other array intrinsics may write
                elif hasattr(node.callee, "ir"):
                    p = node.callee.ir.params[i]
                    if isinstance(p.type, T.ArrayType) and not p.readonly:
                        out.add(a.name)
    return out


def check_constant_writes(f: ir.Function):
    """A module-level array is a constant (ir.ConstArray): no store, atomic or writing device call."""
    def refuse(c, how, span):
        name = c.name[len("_rk_const_"):]
        raise CodegenError(f"module-level array '{name}' is a constant in kernels ({how})", span,
                           f"kernels read module-level arrays as constants captured at compile time; to write "
                           f"it, pass it as a parameter")

    for node in ir.walk(f.body):
        if isinstance(node, ir.Store) and isinstance(node.array, ir.ConstArray):
            refuse(node.array, "this stores into it", node.span)
        elif isinstance(node, ir.Call):
            for i, a in enumerate(node.args):
                if not isinstance(a, ir.ConstArray):
                    continue
                if isinstance(node.callee, Intrinsic):
                    spec = node.callee.params[i] if i < len(node.callee.params) else ""
                    if spec == "array" and not node.callee.name.startswith(("ldg", "load_")):
                        refuse(a, f"{node.callee.name}() may write it", node.span)
                elif hasattr(node.callee, "ir") and not node.callee.ir.params[i].readonly:
                    refuse(a, f"{node.callee.ir.name}() writes its parameter "
                              f"'{node.callee.ir.params[i].name}'", node.span)


def mark_readonly(f: ir.Function):
    check_constant_writes(f)
    written = written_arrays(f)
    for p in f.params:
        p.readonly = isinstance(p.type, T.ArrayType) and p.name not in written


def _reads(e):
    return [n for n in ir.walk(e) if isinstance(n, ir.Var)]


def _assigned_in(body) -> set:
    return {n.target for n in ir.walk(body) if isinstance(n, ir.Assign)} | \
        {n.var for n in ir.walk(body) if isinstance(n, ir.For)} | \
        {t for n in ir.walk(body) if isinstance(n, ir.Unpack) for t in n.targets}


def check_assigned_before_use(f: ir.Function):
    """A local read where no path has assigned it yet is an error (Python would raise
    UnboundLocalError; C would read garbage). Loops count their own later assignments, since a
    later iteration sees them."""
    known = {p.name for p in f.params} | {n.name for n in ir.walk(f.body) if isinstance(n, ir.Alloc)}
    locals_ = _assigned_in(f.body)

    def use(e, maybe):
        if e is None:
            return
        for v in _reads(e):
            if v.name in locals_ and v.name not in maybe and v.name not in known:
                raise CodegenError(f"local '{v.name}' is used before any assignment reaches it", v.span,
                                   f"assign '{v.name}' before this line (e.g. `{v.name} = 0`)")

    def block(stmts, maybe) -> set:
        for s in stmts:
            if isinstance(s, ir.Assign):
                use(s.value, maybe)
                maybe = maybe | {s.target}
            elif isinstance(s, ir.Unpack):
                use(s.value, maybe)
                maybe = maybe | set(s.targets)
            elif isinstance(s, ir.Store):
                for e in (s.array, *s.indices, s.value):
                    use(e, maybe)
            elif isinstance(s, (ir.ExprStmt, ir.Return)):
                use(s.value, maybe)
            elif isinstance(s, ir.If):
                use(s.cond, maybe)
                maybe = block(s.body, maybe) | block(s.orelse, maybe)
            elif isinstance(s, ir.For):
                for e in (s.start, s.stop, s.step):
                    use(e, maybe)
                inner = maybe | {s.var} | _assigned_in(s.body)
                block(s.body, inner)
                maybe = maybe | {s.var} | _assigned_in(s.body)
            elif isinstance(s, ir.While):
                inner = maybe | _assigned_in(s.body)
                use(s.cond, inner)
                block(s.body, inner)
                maybe = inner
            elif hasattr(s, "value") and isinstance(getattr(s, "value"), ir.Expr):
                use(s.value, maybe)
        return maybe

    block(f.body, set())


def run(f: ir.Function):
    check_names(f)
    check_loops(f.body)
    check_loop_control(f.body)
    check_assigned_before_use(f)
