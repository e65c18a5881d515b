"""verify(f, phase): the IR is what the passes promise, or an AssertionError naming the node.

Phases, each including the ones before it:
- "parsed":   every field a node class declares in CHILDREN holds what its shape says (an
              expression, a list of statements, ...); operators, kinds and memory spaces are the
              enums of nodes.py; no node object sits in two places of the tree (a pass that
              rewrote one would silently rewrite the other).
- "resolved": no front-end-only node is left (Name, Attribute, chained comparisons) and every
              callee is resolved (an intrinsic, a device function, a type or a message type).
- "typed":    every expression has a type, comparisons and `not`/`and`/`or` are boolean, every
              local the body assigns has a type in `f.locals`, and an intrinsic call's binding
              (`bound`/`elem`) is among the types its table entry allows.

compile.py runs it after each pass when RINGKERNEL_VERIFY_IR=1 (the test suite sets it), so a pass
that breaks the IR fails at the pass, not in an emitter or in numba.
"""
from __future__ import annotations

import os

from .. import types as T
from ..intrinsics import Intrinsic
from . import nodes as ir

PHASES = ("parsed", "resolved", "typed")
_BOOLEAN_OPS = (ir.BinaryOperator.AND, ir.BinaryOperator.OR)
_ENUMS = {ir.BinOp: ("op", ir.BinaryOperator), ir.UnaryOp: ("op", ir.UnaryOperator),
          ir.Compare: ("op", ir.CompareOperator), ir.Alloc: ("space", ir.MemorySpace)}


def enabled() -> bool:
    return os.environ.get("RINGKERNEL_VERIFY_IR", "") not in ("", "0")


def verify(f: ir.Function, phase: str = "typed") -> None:
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, not {phase!r}")
    level = PHASES.index(phase)
    _check(isinstance(f, ir.Function), f, "the root is not a Function")
    _check(isinstance(f.kind, ir.FunctionKind), f, f"kind {f.kind!r} is not a FunctionKind")
    seen: dict[int, ir.Node] = {}
    for node in ir.walk(f):
        _check(id(node) not in seen, node, "the same node object appears twice in the tree")
        seen[id(node)] = node
        _structure(node)
        if level >= 1:
            _resolved(node)
        if level >= 2:
            _typed(f, node)
    if level >= 2:
        for name in _assigned(f.body):
            _check(name in f.locals, f, f"local '{name}' is assigned but has no type in f.locals")


def _check(ok: bool, node, what: str) -> None:
    if not ok:
        where = f" at {node.span.file}:{node.span.line}" if getattr(node, "span", None) is not None else ""
        raise AssertionError(f"IR verify: {type(node).__name__}{where}: {what}")


def _structure(node) -> None:
    _check(isinstance(node, ir.Node), node, "not an IR node")
    for name, shape in type(node).CHILDREN:
        value = getattr(node, name)
        if shape == "expr":
            _check(isinstance(value, ir.Expr), node, f"field '{name}' holds {type(value).__name__}, not an expression")
        elif shape == "expr?":
            _check(value is None or isinstance(value, ir.Expr), node, f"field '{name}' is not an expression or None")
        elif shape == "exprs":
            _check(isinstance(value, list) and all(isinstance(v, ir.Expr) for v in value), node,
                   f"field '{name}' is not a list of expressions")
        elif shape == "kwexprs":
            _check(isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, ir.Expr)
                                                   for k, v in value.items()), node,
                   f"field '{name}' is not a dict of name -> expression")
        elif shape == "stmts":
            _check(isinstance(value, list) and all(isinstance(v, ir.Stmt) for v in value), node,
                   f"field '{name}' is not a list of statements")
        elif shape == "space?":
            _check(value is None or isinstance(value, ir.IterationSpace), node, f"field '{name}' is not an "
                   "IterationSpace or None")
        elif shape == "axes":
            _check(isinstance(value, list) and all(isinstance(v, ir.Axis) for v in value), node,
                   f"field '{name}' is not a list of axes")
        elif shape == "params":
            _check(isinstance(value, list) and all(isinstance(v, ir.Param) for v in value), node,
                   f"field '{name}' is not a list of parameters")
        else:
            _check(shape == "callee", node, f"field '{name}' has an unknown shape {shape!r}")
    attr, enum = _ENUMS.get(type(node), (None, None))
    if attr is not None:
        _check(isinstance(getattr(node, attr), enum), node, f"{attr} {getattr(node, attr)!r} is not a {enum.__name__}")


def _resolved(node) -> None:
    _check(not isinstance(node, (ir.Name, ir.Attribute)) and type(node).__module__ == ir.__name__, node,
           "a front-end node is left after name resolution")
    if isinstance(node, ir.Call):
        _check(not isinstance(node.callee, ir.Node), node, "the callee is not resolved")


def _typed(f, node) -> None:
    if isinstance(node, ir.Expr):
        _check(node.type is not None, node, "expression has no type")
    if isinstance(node, ir.Compare) or (isinstance(node, ir.UnaryOp) and node.op == ir.UnaryOperator.NOT) or \
            (isinstance(node, ir.BinOp) and node.op in _BOOLEAN_OPS):
        _check(node.type == T.boolean, node, f"a condition typed {node.type}")
    if isinstance(node, ir.Call) and isinstance(node.callee, Intrinsic):
        intr = node.callee
        allowed = {*intr.T, *intr.E}
        for name in ("bound", "elem"):
            value = getattr(node, name)
            if value is not None and allowed:
                _check(getattr(value, "name", value) in allowed, node,
                       f"{intr.name}() bound {name}={value}, allowed: {', '.join(sorted(allowed))}")


def _assigned(stmts) -> set:
    out = set()
    for n in ir.walk(stmts):
        if isinstance(n, ir.Assign):
            out.add(n.target)
        elif isinstance(n, ir.Unpack):
            out.update(n.targets)
    return out
