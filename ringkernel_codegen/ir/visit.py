"""One way to go over a node's children, for every pass: by the CHILDREN each node class declares
(ir/nodes.py), never by reflecting over dataclass fields.

    for child in ir.children(node): ...            read (nodes.py; ir.walk for the whole subtree)
    map_children(node, fn)                         replace each child c by fn(c), in place
    for name, key, child in child_slots(node): ... each child with where it sits (set_child puts one back)
    class MyPass(Visitor): def visit_Load(self, e): ...; self.generic_visit(e)
    class MyRewrite(Rewriter): def visit_Name(self, e): return ir.Const(...)

A Rewriter's visit_<Class> returns the node to put in the parent's place; for a statement inside a
statement list it may also return a list (spliced in) or None (dropped).
"""
from __future__ import annotations

from .nodes import Node


def child_slots(node):
    """(field, key, child) for each child of `node` in CHILDREN order; key is None for a single
    child, the index in a list, or the name in a dict of keyword expressions."""
    for name, shape in type(node).CHILDREN:
        value = getattr(node, name)
        if value is None:
            continue
        if shape in ("expr", "expr?", "space?"):
            yield name, None, value
        elif shape == "callee":
            if isinstance(value, Node):
                yield name, None, value
        elif shape == "kwexprs":
            yield from ((name, k, v) for k, v in value.items())
        else:
            yield from ((name, i, v) for i, v in enumerate(value))


def set_child(node, name: str, key, value) -> None:
    """Put `value` where child_slots said a child sits."""
    if key is None:
        setattr(node, name, value)
    else:
        getattr(node, name)[key] = value


def map_children(node, fn):
    """Replace every child c of `node` by fn(c) (lists and dicts rebuilt, so copies made with
    copy.copy stop sharing them); returns `node`."""
    for name, shape in type(node).CHILDREN:
        value = getattr(node, name)
        if value is None:
            continue
        if shape in ("expr", "expr?", "space?"):
            setattr(node, name, fn(value))
        elif shape == "callee":
            if isinstance(value, Node):
                setattr(node, name, fn(value))
        elif shape == "kwexprs":
            setattr(node, name, {k: fn(v) for k, v in value.items()})
        else:
            setattr(node, name, [fn(v) for v in value])
    return node


class Visitor:
    """Calls visit_<ClassName>(node) where defined, else generic_visit (which visits the children)."""

    def visit(self, node):
        method = getattr(self, "visit_" + type(node).__name__, None)
        return method(node) if method is not None else self.generic_visit(node)

    def generic_visit(self, node):
        for name, key, child in child_slots(node):
            self.visit(child)
        return node


class Rewriter(Visitor):
    """Like Visitor, but each child is replaced by what visiting it returns."""

    def generic_visit(self, node):
        for name, shape in type(node).CHILDREN:
            value = getattr(node, name)
            if value is None:
                continue
            if shape in ("expr", "expr?", "space?"):
                setattr(node, name, self.visit(value))
            elif shape == "callee":
                if isinstance(value, Node):
                    setattr(node, name, self.visit(value))
            elif shape == "kwexprs":
                setattr(node, name, {k: self.visit(v) for k, v in value.items()})
            elif shape == "stmts":
                setattr(node, name, self.visit_block(value))
            else:
                setattr(node, name, [self.visit(v) for v in value])
        return node

    def visit_block(self, stmts: list) -> list:
        out = []
        for s in stmts:
            r = self.visit(s)
            if isinstance(r, list):
                out.extend(r)
            elif r is not None:
                out.append(r)
        return out
