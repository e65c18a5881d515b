"""The interface a function kind plugs into name resolution and type inference.

Kinds whose bodies have names of their own (a stencil's fields and neighbours, a ring handler's
context and message) pass a `Hooks` subclass to compile.compile_kernel; resolve.py and infer*.py call
these methods where the plain kernel language has no meaning for a node. Each default below is
"nothing special here": the resolver or inferer then goes on with its own rules.
"""
from __future__ import annotations

from ..errors import CodegenError


class Hooks:
    # ------------------------------------------------------------ resolver (passes/resolve*.py)
    def is_message(self, obj) -> bool:
        """`obj` (a global the body names) is a message type of this kind."""
        return False

    def prepare(self, resolver) -> None:
        """Kind-specific rewrites of the untyped body before names are resolved."""

    def name(self, resolver, e):
        """A bare name: a resolved expression, or None."""
        return None

    def attribute(self, resolver, e):
        """`value.attr`: a resolved expression, or None."""
        return None

    def load(self, resolver, e):
        """`array[indices]`: a resolved expression, or None."""
        return None

    def call(self, resolver, e):
        """A call in expression position: a resolved expression, or None."""
        return None

    def expr_stmt(self, resolver, s):
        """A call used as a statement: a resolved statement (e.g. ir.Send), or None."""
        return None

    def construct(self, resolver, cls, e, args):
        """A call of a type `is_message` accepted."""
        raise CodegenError(f"cannot construct {cls.__name__} here", e.span)

    def store(self, resolver, s):
        """A resolved `array[indices] = value`: the statement to keep (possibly rewritten)."""
        return s

    def store_attribute(self, resolver, s):
        """`value.attr = x`: a resolved statement, or an error."""
        raise CodegenError("cannot assign to an attribute in a kernel", s.span,
                           "kernel values have no attributes; store into an array element: x[i] = v")

    # ------------------------------------------------------------ inference (passes/infer*.py)
    def ty(self, inf, e, soft):
        """(type, weak) of an expression node the inferer does not know."""
        raise CodegenError(f"cannot type {type(e).__name__} here", e.span)

    def fix(self, inf, e) -> None:
        """Insert casts inside an expression node the inferer does not know."""

    def fix_call(self, inf, e) -> None:
        """Insert casts in the arguments of a call the inferer does not know."""

    def coerce_stmt(self, inf, s) -> None:
        """Type and cast the statements the inferer leaves to the kind (those with no expression to
        settle, such as allocations, pass, break and continue, need nothing)."""

    def is_return_handled(self, inf, s) -> bool:
        """A `return value` the kind types itself (a ring handler's reply): True when handled."""
        return False
