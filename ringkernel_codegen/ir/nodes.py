"""The typed IR: a small tree of statements and expressions (not SSA). Every node has a span.

Expressions carry `type` (None before inference). Names are resolved by passes/resolve.py into
Var (locals and params), Const (folded globals) or callee references.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Optional

from .. import types as T
from ..errors import Span
from ..intrinsics import Intrinsic

# front-end temporaries (chained comparisons, `a[f()] += v`, tuple assignment) are named
# TEMP_PREFIX + a number and listed in Function.temps; user names starting with _rk are refused
TEMP_PREFIX = "_rk_t"


@dataclass(eq=False)
class Node:
    span: Optional[Span] = field(default=None, kw_only=True, repr=False, compare=False)

    def __deepcopy__(self, memo):
        """Copy the tree with one Python frame per level (copy.deepcopy's generic path takes four,
        which made deep but legal expressions hit the recursion limit in the emitters' copies).
        Spans, types and intrinsics are immutable and shared; everything else is copied as before,
        attributes set by passes (bound, elem, extent, ...) included."""
        new = object.__new__(type(self))
        memo[id(self)] = new
        d = new.__dict__
        for k, v in self.__dict__.items():
            d[k] = _copy(v, memo)
        return new


# ---------------------------------------------------------------- expressions
@dataclass(eq=False)
class Expr(Node):
    type: Any = field(default=None, kw_only=True)
    weak = False  # class default; inference sets it per instance for bare-literal expressions


@dataclass(eq=False)
class Const(Expr):
    value: Any
    weak: bool = False  # a bare Python literal: adopts the type of the other operand


@dataclass(eq=False)
class Name(Expr):
    """An unresolved name (front end output only)."""

    id: str


@dataclass(eq=False)
class Attribute(Expr):
    """An unresolved attribute chain such as math.sqrt or u.north (front end output only)."""

    value: Expr
    attr: str


@dataclass(eq=False)
class Var(Expr):
    """A local variable or a kernel parameter."""

    name: str


@dataclass(eq=False)
class ParamRef(Expr):
    """The value a scalar parameter was called with. A parameter the body assigns to becomes a
    local of the same name initialised from its ParamRef (so every backend, the CPU emulator's
    per-thread locals included, sees an ordinary local)."""

    name: str


@dataclass(eq=False)
class Load(Expr):
    array: Expr
    indices: list


@dataclass(eq=False)
class Shape(Expr):
    """arr.shape[axis] / len(arr)."""

    array: Expr
    axis: int


@dataclass(eq=False)
class BinOp(Expr):
    op: str  # + - * / // % ** & | ^ << >> and or
    left: Expr
    right: Expr


@dataclass(eq=False)
class UnaryOp(Expr):
    op: str  # - + ~ not
    operand: Expr


@dataclass(eq=False)
class Compare(Expr):
    op: str  # < <= > >= == !=
    left: Expr
    right: Expr


@dataclass(eq=False)
class Select(Expr):
    cond: Expr
    then: Expr
    orelse: Expr


@dataclass(eq=False)
class Cast(Expr):
    value: Expr  # target type is .type


@dataclass(eq=False)
class Call(Expr):
    """A call; after resolution `callee` is an Intrinsic, a DeviceFunction, a type (cast) or a str."""

    callee: Any
    args: list
    kwargs: dict = field(default_factory=dict)


@dataclass(eq=False)
class TupleExpr(Expr):
    items: list


@dataclass(eq=False)
class FieldRef(Expr):
    """A stencil field access relative to the current cell, offsets in array order."""

    field_name: str
    offsets: tuple


@dataclass(eq=False)
class StateRef(Expr):
    """ctx.state.<field> in a ring kernel."""

    field_name: str


@dataclass(eq=False)
class MsgRef(Expr):
    """A field of the incoming message in a ring kernel handler (msg.<field>)."""

    var: str
    field_name: str
    index: Optional[Expr] = None


# ---------------------------------------------------------------- statements
@dataclass(eq=False)
class Stmt(Node):
    pass


@dataclass(eq=False)
class Assign(Stmt):
    target: str
    value: Expr
    annotation: Any = None  # a ScalarType given by `v: i64 = ...`


@dataclass(eq=False)
class Unpack(Stmt):
    """`a, b = f(...)`: the values of a @device function that returns a tuple, into locals.
    `temp` names the tuple where an emitter needs a variable for it."""

    targets: list
    value: Expr
    temp: str = ""


@dataclass(eq=False)
class Store(Stmt):
    array: Expr
    indices: list
    value: Expr


@dataclass(eq=False)
class StateStore(Stmt):
    field_name: str
    value: Expr
    index: Optional[Expr] = None


@dataclass(eq=False)
class ExprStmt(Stmt):
    value: Expr


@dataclass(eq=False)
class Send(Stmt):
    """ctx.send("peer", Msg(...)) in a ring handler: `value` is the message constructor (a Call of
    the message type with keyword fields), `peer` the peer's index in sorted(peers). A failed send
    marks the context and ends the handler (abi.actor: FAILED)."""

    peer: int
    peer_name: str
    msg_type: Any
    value: Expr


@dataclass(eq=False)
class Fail(Stmt):
    """ctx.fail(code) in a ring handler: record `value` (i64) as the failure code and end the handler."""

    value: Expr


@dataclass(eq=False)
class If(Stmt):
    cond: Expr
    body: list
    orelse: list


@dataclass(eq=False)
class For(Stmt):
    var: str
    start: Expr
    stop: Expr
    step: Expr
    body: list


@dataclass(eq=False)
class While(Stmt):
    cond: Expr
    body: list


@dataclass(eq=False)
class Break(Stmt):
    pass


@dataclass(eq=False)
class Continue(Stmt):
    pass


@dataclass(eq=False)
class Return(Stmt):
    value: Optional[Expr] = None


@dataclass(eq=False)
class Alloc(Stmt):
    """shared_array / local_array: `space` is 'shared' or 'local'."""

    name: str
    space: str
    shape: tuple
    dtype: Any


@dataclass(eq=False)
class Pass(Stmt):
    pass


# ---------------------------------------------------------------- top level
@dataclass(eq=False)
class Param(Node):
    name: str
    type: Any
    readonly: bool = False


@dataclass(eq=False)
class Function(Node):
    """A kernel or device function. `kind` is kernel | stencil | device | ring."""

    name: str
    params: list
    body: list
    kind: str = "kernel"
    return_type: Any = None
    locals: dict = field(default_factory=dict)  # name -> type, filled by inference
    options: dict = field(default_factory=dict)
    file: str = ""
    temps: set = field(default_factory=set)  # names of the front end's temporaries (TEMP_PREFIX)


def walk(node):
    """Yield every node below (and including) `node`, depth first, statements before their parts."""
    yield node
    for value in _children(node):
        yield from walk(value)


def _children(node):
    if isinstance(node, list):
        return node
    if not isinstance(node, Node):
        return []
    out = []
    for name in getattr(node, "__dataclass_fields__", {}):
        if name in ("span", "type", "annotation", "dtype"):
            continue
        value = getattr(node, name)
        if isinstance(value, Node):
            out.append(value)
        elif isinstance(value, (list, tuple)):
            out.extend(v for v in value if isinstance(v, Node))
        elif isinstance(value, dict):
            out.extend(v for v in value.values() if isinstance(v, Node))
    return out


_SHARED = (str, int, float, bool, type(None), Span, T.ScalarType, T.ArrayType, T.VoidType, Intrinsic, type)


def _copy(v, memo):
    if isinstance(v, Node):
        done = memo.get(id(v))
        return done if done is not None else v.__deepcopy__(memo)
    if isinstance(v, list):
        done = memo.get(id(v))
        if done is None:
            done = memo[id(v)] = []
            for x in v:
                done.append(_copy(x, memo))
        return done
    if isinstance(v, _SHARED):
        return v
    return copy.deepcopy(v, memo)
