"""The block and grid programs fission builds: plain data shared by the pass and the CPU emitter that walks them."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import nodes as ir


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
    uniform: bool = True       # the condition is provably the same in every thread of the block
    block_level: bool = True   # holds a block barrier/collective (or a break out of such a loop)


@dataclass
class UFor:
    var: str
    start: ir.Expr
    stop: ir.Expr
    step: ir.Expr
    body: list
    span: object = None
    uniform: bool = True
    block_level: bool = True


@dataclass
class ULoop:
    """`while True` at block level; exits through UBreak."""

    body: list
    span: object = None
    uniform: bool = True
    block_level: bool = True


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


# ---------------------------------------------------------------- grid level
@dataclass
class Part:
    """A block program every block runs before the grid moves on."""

    program: Program


@dataclass
class GSync:
    span: object = None


@dataclass
class GIf:
    cond: ir.Expr
    body: list
    orelse: list
    span: object = None


@dataclass
class GFor:
    var: str
    start: ir.Expr
    stop: ir.Expr
    step: ir.Expr
    body: list
    span: object = None


@dataclass
class GLoop:
    body: list
    span: object = None
