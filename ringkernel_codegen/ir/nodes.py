"""The typed IR: a small tree of statements and expressions (not SSA). Every node has a span.

Expressions carry `type` (None before inference). Names are resolved by passes/resolve.py into
Var (locals and params), Const (folded globals) or callee references.

Each node class declares what it holds:
- `CHILDREN`: its fields that hold other nodes, each with its shape (`expr`, `expr?` (or None),
  `exprs` (a list), `kwexprs` (a dict of name -> expr), `stmts` (a list of statements), `params`,
  `callee` (a Name/Attribute before resolution, then an intrinsic, device function or type),
  `axes` (a list of Axis), `space?` (an IterationSpace or None));
  `children()`, `walk()`, ir/visit.py's Visitor and Rewriter and ir/verify.py read them, so no
  pass reflects over dataclass fields;
- every other field is data, including what a pass fills in later (`Call.bound`, `Call.elem`,
  `MsgRef.extent`, `Store.field_store`): declared here with its default, never attached ad hoc.
Operators, function kinds and memory spaces are `StrEnum`s (they compare and format as their
spelling, so emitters index their tables with them unchanged); constructors accept the strings.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Optional

from .. import types as T
from ..errors import Span
from ..intrinsics import Intrinsic

# front-end temporaries (chained comparisons, `a[f()] += v`, tuple assignment) are named
# TEMP_PREFIX + a number and listed in Function.temps; user names starting with _rk are refused
TEMP_PREFIX = "_rk_t"


class BinaryOperator(StrEnum):
    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"
    FLOORDIV = "//"
    MOD = "%"
    POW = "**"
    BITAND = "&"
    BITOR = "|"
    BITXOR = "^"
    LSHIFT = "<<"
    RSHIFT = ">>"
    AND = "and"
    OR = "or"


class UnaryOperator(StrEnum):
    NEG = "-"
    POS = "+"
    INVERT = "~"
    NOT = "not"


class CompareOperator(StrEnum):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "=="
    NE = "!="


class FunctionKind(StrEnum):
    KERNEL = "kernel"
    STENCIL = "stencil"
    DEVICE = "device"
    RING = "ring"


class MemorySpace(StrEnum):
    SHARED = "shared"
    LOCAL = "local"


@dataclass(eq=False)
class Node:
    span: Optional[Span] = field(default=None, kw_only=True, repr=False, compare=False)
    CHILDREN: ClassVar[tuple] = ()  # ((field, shape), ...): see the module doc

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
    # a bare Python literal (or an expression of them): adopts the type of the operand it meets;
    # the front end sets it on literals, inference settles it (passes/typerules.py)
    weak: bool = field(default=False, kw_only=True, repr=False, compare=False)


@dataclass(eq=False)
class Const(Expr):
    value: Any


@dataclass(eq=False)
class Name(Expr):
    """An unresolved name (front end output only)."""

    id: str


@dataclass(eq=False)
class Attribute(Expr):
    """An unresolved attribute chain such as math.sqrt or u.north (front end output only)."""

    CHILDREN: ClassVar[tuple] = (("value", "expr"),)

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
    CHILDREN: ClassVar[tuple] = (("array", "expr"), ("indices", "exprs"))

    array: Expr
    indices: list


@dataclass(eq=False)
class Shape(Expr):
    """arr.shape[axis] / len(arr)."""

    CHILDREN: ClassVar[tuple] = (("array", "expr"),)

    array: Expr
    axis: int


@dataclass(eq=False)
class BinOp(Expr):
    CHILDREN: ClassVar[tuple] = (("left", "expr"), ("right", "expr"))

    op: BinaryOperator
    left: Expr
    right: Expr

    def __post_init__(self):
        self.op = BinaryOperator(self.op)


@dataclass(eq=False)
class UnaryOp(Expr):
    CHILDREN: ClassVar[tuple] = (("operand", "expr"),)

    op: UnaryOperator
    operand: Expr

    def __post_init__(self):
        self.op = UnaryOperator(self.op)


@dataclass(eq=False)
class Compare(Expr):
    CHILDREN: ClassVar[tuple] = (("left", "expr"), ("right", "expr"))

    op: CompareOperator
    left: Expr
    right: Expr

    def __post_init__(self):
        self.op = CompareOperator(self.op)


@dataclass(eq=False)
class Select(Expr):
    CHILDREN: ClassVar[tuple] = (("cond", "expr"), ("then", "expr"), ("orelse", "expr"))

    cond: Expr
    then: Expr
    orelse: Expr


@dataclass(eq=False)
class Cast(Expr):
    CHILDREN: ClassVar[tuple] = (("value", "expr"),)

    value: Expr  # target type is .type


@dataclass(eq=False)
class Call(Expr):
    """A call; after resolution `callee` is an Intrinsic, a DeviceFunction, a type (cast) or a str."""

    CHILDREN: ClassVar[tuple] = (("callee", "callee"), ("args", "exprs"), ("kwargs", "kwexprs"))

    callee: Any
    args: list
    kwargs: dict = field(default_factory=dict)
    # an intrinsic call's bindings, set by passes/binding.py: T (or E when there is no T), and E
    bound: Any = field(default=None, kw_only=True, repr=False, compare=False)
    elem: Any = field(default=None, kw_only=True, repr=False, compare=False)


@dataclass(eq=False)
class TupleExpr(Expr):
    CHILDREN: ClassVar[tuple] = (("items", "exprs"),)

    items: list


@dataclass(eq=False)
class ConstArray(Expr):
    """A module-level NumPy array read by a kernel: a read-only constant, its values captured when
    the kernel is compiled (as numba does). `name` is what every emitter calls it (`_rk_const_<global>`);
    `value` is a read-only copy. CUDA: a `__constant__` array; numba and cpu: a module-level array."""

    name: str
    value: Any

    @property
    def shape(self) -> tuple:
        return self.value.shape


@dataclass(eq=False)
class FieldRef(Expr):
    """A stencil field access relative to the current cell, offsets in array order."""

    field_name: str
    offsets: tuple


@dataclass(eq=False)
class StateRef(Expr):
    """ctx.state.<field> in a ring kernel."""

    field_name: str
    extent: int = field(default=1, kw_only=True)  # element count of the field (1: a scalar)


@dataclass(eq=False)
class MsgRef(Expr):
    """A field of the incoming message in a ring kernel handler (msg.<field>)."""

    CHILDREN: ClassVar[tuple] = (("index", "expr?"),)

    var: str
    field_name: str
    index: Optional[Expr] = None
    extent: int = field(default=1, kw_only=True)  # element count of the field (1: a scalar)


# ---------------------------------------------------------------- statements
@dataclass(eq=False)
class Stmt(Node):
    pass


@dataclass(eq=False)
class Assign(Stmt):
    CHILDREN: ClassVar[tuple] = (("value", "expr"),)

    target: str
    value: Expr
    annotation: Any = None  # a ScalarType given by `v: i64 = ...`


@dataclass(eq=False)
class Unpack(Stmt):
    """`a, b = f(...)`: the values of a @device function that returns a tuple, into locals.
    `temp` names the tuple where an emitter needs a variable for it."""

    CHILDREN: ClassVar[tuple] = (("value", "expr"),)

    targets: list
    value: Expr
    temp: str = ""
    types: list = field(default_factory=list, kw_only=True)  # the targets' types, set by inference


@dataclass(eq=False)
class Store(Stmt):
    CHILDREN: ClassVar[tuple] = (("array", "expr"), ("indices", "exprs"), ("value", "expr"))

    array: Expr
    indices: list
    value: Expr
    field_store: str = field(default="", kw_only=True)  # a stencil's own-cell write: the field's name


@dataclass(eq=False)
class StateStore(Stmt):
    CHILDREN: ClassVar[tuple] = (("value", "expr"), ("index", "expr?"))

    field_name: str
    value: Expr
    index: Optional[Expr] = None


@dataclass(eq=False)
class ExprStmt(Stmt):
    CHILDREN: ClassVar[tuple] = (("value", "expr"),)

    value: Expr


@dataclass(eq=False)
class Send(Stmt):
    """ctx.send("peer", Msg(...)) in a ring handler: `value` is the message constructor (a Call of
    the message type with keyword fields), `peer` the peer's index in sorted(peers). A failed send
    marks the context and ends the handler (abi.actor: FAILED)."""

    CHILDREN: ClassVar[tuple] = (("value", "expr"),)

    peer: int
    peer_name: str
    msg_type: Any
    value: Expr


@dataclass(eq=False)
class Fail(Stmt):
    """ctx.fail(code) in a ring handler: record `value` (i64) as the failure code and end the handler."""

    CHILDREN: ClassVar[tuple] = (("value", "expr"),)

    value: Expr


@dataclass(eq=False)
class If(Stmt):
    CHILDREN: ClassVar[tuple] = (("cond", "expr"), ("body", "stmts"), ("orelse", "stmts"))

    cond: Expr
    body: list
    orelse: list


@dataclass(eq=False)
class For(Stmt):
    CHILDREN: ClassVar[tuple] = (("start", "expr"), ("stop", "expr"), ("step", "expr"), ("body", "stmts"))

    var: str
    start: Expr
    stop: Expr
    step: Expr
    body: list


@dataclass(eq=False)
class While(Stmt):
    CHILDREN: ClassVar[tuple] = (("cond", "expr"), ("body", "stmts"))

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
    CHILDREN: ClassVar[tuple] = (("value", "expr?"),)

    value: Optional[Expr] = None


@dataclass(eq=False)
class Alloc(Stmt):
    """shared_array / local_array: `space` is 'shared' or 'local'."""

    name: str
    space: MemorySpace
    shape: tuple
    dtype: Any

    def __post_init__(self):
        self.space = MemorySpace(self.space)

    @property
    def dynamic(self) -> bool:
        """`shared_array(0, T)`: dynamic shared memory, its size in bytes given at launch."""
        return self.space == "shared" and self.shape == (0,)


@dataclass(eq=False)
class Pass(Stmt):
    pass


# ---------------------------------------------------------------- iteration spaces
@dataclass(eq=False)
class Axis(Node):
    """One axis of a stencil's iteration space: the cell coordinate `var` (an i32 the body reads)
    runs over [start, stop) of an axis whose extent `extent_var` is `extent` (the extent field's
    shape along the axis)."""

    CHILDREN: ClassVar[tuple] = (("extent", "expr"), ("start", "expr"), ("stop", "expr"))

    var: str
    extent_var: str
    extent: Expr
    start: Expr
    stop: Expr


@dataclass(eq=False)
class IterationSpace(Node):
    """The cells a stencil computes, outermost axis first (array order: z, y, x), made by
    passes/stencil.py from the stencil's dimensions, halo and boundary mode. A backend only maps it
    onto its loops or grid; an axis the stencil lacks (`absent`) has coordinate 0 and extent 1."""

    CHILDREN: ClassVar[tuple] = (("axes", "axes"),)

    axes: list
    absent: tuple = ()  # ((var, extent_var), ...) of the missing axes

    @property
    def ndim(self) -> int:
        return len(self.axes)


# ---------------------------------------------------------------- top level
@dataclass(eq=False)
class Param(Node):
    name: str
    type: Any
    readonly: bool = False


@dataclass(eq=False)
class Function(Node):
    """A kernel or device function. `kind` is kernel | stencil | device | ring."""

    CHILDREN: ClassVar[tuple] = (("params", "params"), ("body", "stmts"), ("space", "space?"))

    name: str
    params: list
    body: list
    kind: FunctionKind = FunctionKind.KERNEL
    return_type: Any = None
    locals: dict = field(default_factory=dict)  # name -> type, filled by inference
    options: dict = field(default_factory=dict)
    file: str = ""
    temps: set = field(default_factory=set)  # names of the front end's temporaries (TEMP_PREFIX)
    space: Optional[IterationSpace] = None  # a stencil's cells (passes/stencil.py), else None

    def __post_init__(self):
        self.kind = FunctionKind(self.kind)


def children(node) -> list:
    """The nodes `node` holds, in CHILDREN order (a list: its items)."""
    if isinstance(node, list):
        return node
    out = []
    for name, shape in getattr(node, "CHILDREN", ()):
        value = getattr(node, name)
        if value is None:
            continue
        if shape in ("expr", "expr?", "space?"):
            out.append(value)
        elif shape == "callee":
            if isinstance(value, Node):
                out.append(value)
        elif shape == "kwexprs":
            out.extend(value.values())
        else:
            out.extend(value)
    return out


def walk(node):
    """Yield every node below (and including) `node`, depth first, statements before their parts."""
    yield node
    for value in children(node):
        yield from walk(value)


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
