"""Readable text form of the typed IR (what `k.ir()` prints)."""
from __future__ import annotations

from ..intrinsics import Intrinsic
from . import nodes as ir


def tname(t) -> str:
    if isinstance(t, type):
        return t.__name__
    return getattr(t, "name", None) or ("?" if t is None else str(t))


def expr(e) -> str:
    if isinstance(e, ir.Const):
        return f"{e.value!r}:{tname(e.type)}"
    if isinstance(e, ir.Var):
        return f"%{e.name}"
    if isinstance(e, ir.ConstArray):
        return f"@{e.name}:{tname(e.type)}"
    if isinstance(e, ir.Load):
        return f"load {expr(e.array)}[{', '.join(expr(i) for i in e.indices)}]:{tname(e.type)}"
    if isinstance(e, ir.Shape):
        return f"shape({expr(e.array)}, {e.axis})"
    if isinstance(e, (ir.BinOp, ir.Compare)):
        return f"({expr(e.left)} {e.op} {expr(e.right)}):{tname(e.type)}"
    if isinstance(e, ir.UnaryOp):
        return f"({e.op} {expr(e.operand)}):{tname(e.type)}"
    if isinstance(e, ir.Select):
        return f"select({expr(e.cond)}, {expr(e.then)}, {expr(e.orelse)}):{tname(e.type)}"
    if isinstance(e, ir.Cast):
        return f"cast<{tname(e.type)}>({expr(e.value)})"
    if isinstance(e, ir.Call):
        callee = e.callee.name if isinstance(e.callee, Intrinsic) else \
            getattr(getattr(e.callee, "ir", None), "name", None) or getattr(e.callee, "__name__", str(e.callee))
        if isinstance(callee, type):
            callee = callee.__name__
        args = [expr(a) for a in e.args] + [f"{k}={expr(v)}" for k, v in e.kwargs.items()]
        return f"call {callee}({', '.join(args)}):{tname(e.type)}"
    if isinstance(e, ir.TupleExpr):
        return "(" + ", ".join(expr(i) for i in e.items) + ")"
    if isinstance(e, ir.FieldRef):
        return f"field {e.field_name}{list(e.offsets)}:{tname(e.type)}"
    if isinstance(e, ir.StateRef):
        return f"state.{e.field_name}:{tname(e.type)}"
    if isinstance(e, ir.MsgRef):
        idx = f"[{expr(e.index)}]" if e.index is not None else ""
        return f"{e.var}.{e.field_name}{idx}:{tname(e.type)}"
    return f"<{type(e).__name__}>"


def stmts(body, depth=1) -> list:
    pad = "  " * depth
    out = []
    for s in body:
        if isinstance(s, ir.Assign):
            out.append(f"{pad}%{s.target}:{tname(s.value.type)} = {expr(s.value)}")
        elif isinstance(s, ir.Unpack):
            out.append(f"{pad}{', '.join('%' + t for t in s.targets)} = {expr(s.value)}")
        elif isinstance(s, ir.Store):
            out.append(f"{pad}store {expr(s.array)}[{', '.join(expr(i) for i in s.indices)}] = {expr(s.value)}")
        elif isinstance(s, ir.StateStore):
            out.append(f"{pad}state.{s.field_name} = {expr(s.value)}")
        elif isinstance(s, ir.ExprStmt):
            out.append(f"{pad}{expr(s.value)}")
        elif isinstance(s, ir.Send):
            out.append(f"{pad}send peer {s.peer} ({s.peer_name}) {expr(s.value)}")
        elif isinstance(s, ir.Fail):
            out.append(f"{pad}fail {expr(s.value)}")
        elif isinstance(s, ir.If):
            out.append(f"{pad}if {expr(s.cond)}:")
            out.extend(stmts(s.body, depth + 1))
            if s.orelse:
                out.append(f"{pad}else:")
                out.extend(stmts(s.orelse, depth + 1))
        elif isinstance(s, ir.For):
            out.append(f"{pad}for %{s.var} in range({expr(s.start)}, {expr(s.stop)}, {expr(s.step)}):")
            out.extend(stmts(s.body, depth + 1))
        elif isinstance(s, ir.While):
            out.append(f"{pad}while {expr(s.cond)}:")
            out.extend(stmts(s.body, depth + 1))
        elif isinstance(s, ir.Return):
            out.append(f"{pad}return" + (f" {expr(s.value)}" if s.value is not None else ""))
        elif isinstance(s, ir.Alloc):
            out.append(f"{pad}%{s.name} = alloc {s.space} {tname(s.dtype)}{list(s.shape)}")
        else:
            out.append(f"{pad}{type(s).__name__.lower()}")
    return out


def function(f: ir.Function) -> str:
    params = ", ".join(f"{p.name}: {tname(p.type) if p.type is not None else 'context'}"
                       f"{' const' if p.readonly else ''}" for p in f.params)
    head = f"{f.kind} {f.name}({params})"
    if f.return_type is not None:
        head += f" -> {tname(f.return_type)}"
    lines = [head + ":"]
    if f.locals:
        lines.append("  locals: " + ", ".join(f"{k}: {tname(v)}" for k, v in sorted(f.locals.items())))
    lines.extend(stmts(f.body))
    return "\n".join(lines) + "\n"
