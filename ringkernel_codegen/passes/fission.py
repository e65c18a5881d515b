"""Barrier fission for the CPU emulator.

A kernel body is split into a *block program*: thread segments (run for every live thread of the
block, one after another) separated by barriers, and block-level control flow (UIf/UFor/UWhile)
wherever a barrier or a collective sits inside control flow. Block-level conditions must be
block-uniform; the emitter checks that at run time and raises a clear error when they diverge.
Collective intrinsics (warp/block) are hoisted into their own items: every thread's arguments
are gathered into arrays first, then each thread's result is computed from all of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import types as T
from ..errors import CodegenError
from ..intrinsics import Intrinsic
from ..ir import nodes as ir

COLLECTIVE = ("warp_collective", "block_collective")


@dataclass
class Seg:
    stmts: list


@dataclass
class Coll:
    target: str
    call: ir.Call
    span: object = None


@dataclass
class UIf:
    cond: ir.Expr
    body: list
    orelse: list
    span: object = None


@dataclass
class UFor:
    var: str
    start: ir.Expr
    stop: ir.Expr
    step: ir.Expr
    body: list
    span: object = None


@dataclass
class ULoop:
    """`while True` at block level; exits through UBreak."""

    body: list
    span: object = None


@dataclass
class UBreak:
    span: object = None


@dataclass
class UContinue:
    span: object = None


@dataclass
class Program:
    items: list
    temps: dict = field(default_factory=dict)  # hoisted collective results: name -> type


def is_sync(n) -> bool:
    return isinstance(n, ir.Call) and isinstance(n.callee, Intrinsic) and \
        n.callee.kind in ("barrier", *COLLECTIVE)


def is_grid_sync(n) -> bool:
    return isinstance(n, ir.Call) and isinstance(n.callee, Intrinsic) and n.callee.kind == "grid_barrier"


def needs_fission(f: ir.Function) -> bool:
    return any(is_sync(n) or is_grid_sync(n) for n in ir.walk(f.body))


def grid_parts(f: ir.Function) -> list:
    """The kernel body split at top-level grid barriers (each part runs for every block before the
    next starts). A grid barrier anywhere else cannot be emulated block by block: error."""
    parts, current = [], []
    for s in f.body:
        if isinstance(s, ir.ExprStmt) and is_grid_sync(s.value):
            parts.append(current)
            current = []
            continue
        nested = next((n for n in ir.walk(s) if is_grid_sync(n)), None)
        if nested is not None:
            raise CodegenError(f"{nested.callee.name}() inside control flow cannot run on the CPU emulator",
                               nested.span, "make the grid barrier a top-level statement of the kernel")
        current.append(s)
    parts.append(current)
    return parts


class Fission:
    def __init__(self, f: ir.Function):
        self.f = f
        self.temps: dict = {}
        self.count = 0

    def run(self, body=None) -> Program:
        body = self.f.body if body is None else body
        for dev_node in ir.walk(body):
            if isinstance(dev_node, ir.Call) and hasattr(dev_node.callee, "ir"):
                if any(is_sync(n) for n in ir.walk(dev_node.callee.ir.body)):
                    raise CodegenError("barriers and collectives inside @device functions are not supported by "
                                       "the CPU emulator", dev_node.span, "move the barrier into the kernel body")
        return Program(self.block(body, in_lifted_loop=False), self.temps)

    # ------------------------------------------------------------------
    def contains_sync(self, s) -> bool:
        return any(is_sync(n) for n in ir.walk(s))

    def has_loop_ctl(self, stmts) -> bool:
        for s in stmts:
            if isinstance(s, (ir.Break, ir.Continue)):
                return True
            if isinstance(s, ir.If) and (self.has_loop_ctl(s.body) or self.has_loop_ctl(s.orelse)):
                return True
        return False

    def lifted(self, s, in_lifted_loop) -> bool:
        if self.contains_sync(s):
            return True
        if in_lifted_loop and isinstance(s, ir.If):
            return self.has_loop_ctl(s.body) or self.has_loop_ctl(s.orelse)
        return False

    def block(self, stmts, in_lifted_loop) -> list:
        items: list = []
        seg: list = []

        def flush():
            if seg:
                items.append(Seg(list(seg)))
                seg.clear()

        for s in stmts:
            if in_lifted_loop and isinstance(s, (ir.Break, ir.Continue)):
                flush()
                items.append(UBreak(s.span) if isinstance(s, ir.Break) else UContinue(s.span))
                continue
            if not self.lifted(s, in_lifted_loop):
                seg.append(s)
                continue
            flush()
            items.extend(self.lift(s, in_lifted_loop))
        flush()
        return items

    def hoist(self, e: ir.Expr, out: list) -> ir.Expr:
        """Replace collective calls inside `e` by temporaries computed by Coll items appended to out."""
        if is_sync(e):
            if e.callee.kind == "barrier":
                raise CodegenError(f"{e.callee.name}() must be a statement of its own", e.span)
            e.args = [self.hoist(a, out) for a in e.args]
            name = f"_rkc{self.count}"
            self.count += 1
            self.temps[name] = e.type
            out.append(Coll(name, e, e.span))
            v = ir.Var(name, span=e.span)
            v.type = e.type
            return v
        for fname in getattr(e, "__dataclass_fields__", {}):
            if fname in ("span", "type", "callee"):
                continue
            v = getattr(e, fname)
            if isinstance(v, ir.Expr):
                setattr(e, fname, self.hoist(v, out))
            elif isinstance(v, list):
                setattr(e, fname, [self.hoist(x, out) if isinstance(x, ir.Expr) else x for x in v])
        return e

    def lift(self, s, in_lifted_loop) -> list:
        pre: list = []
        if isinstance(s, ir.ExprStmt) and is_sync(s.value) and s.value.callee.kind == "barrier":
            for a in s.value.args:
                if self.contains_sync(a):
                    raise CodegenError("collectives cannot be arguments of a barrier", s.span)
            return []  # a barrier is the boundary between two segments
        if isinstance(s, (ir.Assign, ir.Store, ir.ExprStmt, ir.Return)):
            if isinstance(s, ir.ExprStmt) and is_sync(s.value):
                # a collective whose value is unused: run it, drop the result
                self.hoist(s.value, pre)
                return pre
            for fname in ("value", "indices"):
                v = getattr(s, fname, None)
                if isinstance(v, ir.Expr):
                    setattr(s, fname, self.hoist(v, pre))
                elif isinstance(v, list):
                    setattr(s, fname, [self.hoist(x, pre) for x in v])
            return [*pre, Seg([s])]
        if isinstance(s, ir.If):
            cond = self.hoist(s.cond, pre)
            return [*pre, UIf(cond, self.block(s.body, in_lifted_loop), self.block(s.orelse, in_lifted_loop),
                              s.span)]
        if isinstance(s, ir.For):
            for e in (s.start, s.stop, s.step):
                if self.contains_sync(e):
                    raise CodegenError("collectives cannot be range() bounds", s.span)
            return [UFor(s.var, s.start, s.stop, s.step, self.block(s.body, True), s.span)]
        if isinstance(s, ir.While):
            neg = ir.UnaryOp("not", s.cond, span=s.cond.span)
            neg.type = T.boolean
            guard = ir.If(neg, [ir.Break(span=s.span)], [], span=s.span)
            return [ULoop(self.block([guard, *s.body], True), s.span)]
        raise CodegenError(f"{type(s).__name__} around a barrier is not supported by the CPU emulator", s.span)
