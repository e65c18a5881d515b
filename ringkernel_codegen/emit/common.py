"""Pieces every emitter shares: source comments, device-function ordering, spelling lookup."""
from __future__ import annotations

import os

from ..errors import CodegenError, Span
from ..intrinsics import COLUMNS, Intrinsic
from ..ir import nodes as ir


def source_comment(span: Span | None) -> str | None:
    """`file.py:LINE: source` for the comment above a generated statement (no trailing backslash)."""
    if span is None or not span.text:
        return None
    text = span.text.strip().rstrip("\\").replace("*/", "* /")
    return f"{os.path.basename(span.file)}:{span.line}: {text}"


def device_functions(f: ir.Function) -> list:
    """Device functions reachable from `f`, callees first, each once."""
    out, seen = [], set()

    def visit(fn):
        for node in ir.walk(fn.body):
            if isinstance(node, ir.Call) and hasattr(node.callee, "ir"):
                dev = node.callee.ir
                if id(dev) not in seen:
                    seen.add(id(dev))
                    visit(dev)
                    out.append(dev)

    visit(f)
    return out


def spelling(intr: Intrinsic, backend: str, call: ir.Call) -> str:
    bound = getattr(call, "bound", None)
    spell = intr.spelling(backend, bound.name if bound is not None else None)
    if spell.startswith("unsupported"):
        reason = spell.partition(":")[2].strip() or "no spelling"
        raise CodegenError(f"{intr.name}() is not available on {COLUMNS[backend]}: {reason}", call.span,
                           "pick another backend with .to(...) or avoid this intrinsic")
    return spell


def uses(f: ir.Function, pred) -> bool:
    fns = [f, *device_functions(f)]
    return any(pred(n) for fn in fns for n in ir.walk(fn.body))
