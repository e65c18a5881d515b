"""Stencil lowering: relative field accesses (u[dy, dx], u.north) -> absolute loads with boundary
rules, and the stencil's iteration space as IR (`f.space`: per axis the cell coordinate `_x/_y/_z`,
the extent `_nx/_ny/_nz` from the first written field, and the range of cells computed: all of
them, or those at least `halo` away from every edge for boundary "skip"). Offsets are in array
order: u[dy, dx], u[dz, dy, dx]. Emitters only map `f.space` onto loops (cpu) or a grid (CUDA, numba).
"""
from __future__ import annotations

import numbers

from .. import types as T
from ..errors import CodegenError
from ..ir import nodes as ir
from ..ir.visit import Rewriter
from .hooks import Hooks

BOUNDARIES = ("skip", "clamp", "periodic", "zero")
AXES = {1: ("x",), 2: ("y", "x"), 3: ("z", "y", "x")}
NEIGHBOURS = {
    2: {"north": (-1, 0), "south": (1, 0), "west": (0, -1), "east": (0, 1)},
    3: {"up": (-1, 0, 0), "down": (1, 0, 0), "north": (0, -1, 0), "south": (0, 1, 0),
        "west": (0, 0, -1), "east": (0, 0, 1)},
    1: {"west": (-1,), "east": (1,)},
}
IMPLICIT = {f"_{a}": T.i32 for a in "xyz"} | {f"_n{a}": T.i32 for a in "xyz"}


class StencilHooks(Hooks):
    """Resolver hooks that turn field accesses into FieldRef nodes."""

    def __init__(self, ndim: int, halo: int):
        self.ndim, self.halo = ndim, halo
        self.fields: dict[str, T.ArrayType] = {}

    def prepare(self, resolver):
        """Loops over compile-time ranges whose variable is a field offset (`for dy in range(-1, 2):
        ... u[dy, 0]`) are unrolled: offsets must be constants (the loads become fixed neighbours)."""
        fields = {p.name for p in resolver.f.params if isinstance(p.type, T.ArrayType) and p.type.field}
        resolver.f.body = _unroll_block(resolver, resolver.f.body, fields, resolver.f.body)

    def _field(self, resolver, e):
        if isinstance(e, ir.Name) and e.id in resolver.params:
            t = resolver.params[e.id].type
            if isinstance(t, T.ArrayType) and t.field:
                if t.ndim != self.ndim:
                    raise CodegenError(f"field '{e.id}' is {t.ndim}D but the stencil is {self.ndim}D", e.span,
                                       "use one field dimensionality per stencil (tile=... sets it)")
                self.fields[e.id] = t
                return e.id
        if isinstance(e, ir.Var) and e.name in resolver.params:
            t = resolver.params[e.name].type
            if isinstance(t, T.ArrayType) and t.field:
                self.fields[e.name] = t
                return e.name
        return None

    def attribute(self, resolver, e):
        name = self._field(resolver, e.value)
        if name is None:
            return None
        table = NEIGHBOURS[self.ndim]
        if e.attr not in table:
            raise CodegenError(f"'{e.attr}' is not a neighbour of a {self.ndim}D field", e.span,
                               f"use {', '.join(table)} or relative offsets like {name}[{', '.join(['0'] * self.ndim)}]")
        return self._ref(name, table[e.attr], e.span)

    def _ref(self, name, offsets, span):
        for d in offsets:
            if abs(d) > self.halo:
                raise CodegenError(f"offset {d} reaches beyond halo={self.halo}", span,
                                   f"raise the stencil's halo to {abs(d)} or use a smaller offset")
        ref = ir.FieldRef(name, tuple(offsets), span=span)
        return ref

    def offsets(self, resolver, indices, span):
        out = []
        for i in indices:
            try:
                v = resolver.const_value(i)
            except CodegenError:
                raise CodegenError("stencil field offsets must be compile-time integers", i.span,
                                   "write relative offsets such as u[0, 1]; use cell_x()/cell_y() for absolute "
                                   "positions") from None
            if not isinstance(v, numbers.Integral):
                raise CodegenError("stencil field offsets must be integers", i.span)
            out.append(int(v))
        if len(out) != self.ndim:
            raise CodegenError(f"a {self.ndim}D field takes {self.ndim} offsets, got {len(out)}", span,
                               f"write one relative offset per axis, e.g. u[{', '.join(['0'] * self.ndim)}]")
        return out

    def load(self, resolver, e: ir.Load):
        name = self._field(resolver, e.array)
        if name is None:
            return None
        return self._ref(name, self.offsets(resolver, e.indices, e.span), e.span)

    def store(self, resolver, s: ir.Store):
        name = self._field(resolver, s.array)
        if name is None:
            return s
        offs = self.offsets(resolver, s.indices, s.span)
        if any(offs):
            raise CodegenError(f"a stencil writes only its own cell: {name}[{', '.join(['0'] * self.ndim)}]",
                               s.span, "compute neighbours by reading them, never by writing them")
        s.field_store = name
        return s

    def store_attribute(self, resolver, s):
        raise CodegenError("cannot assign to an attribute in a stencil", s.span)


MAX_UNROLL = 64


def _offset_var(s: ir.For, fields: set) -> bool:
    """The loop variable appears in an index of a field access in the loop body."""
    for n in ir.walk(s.body):
        if isinstance(n, (ir.Load, ir.Store)) and isinstance(n.array, ir.Name) and n.array.id in fields:
            if any(isinstance(m, ir.Name) and m.id == s.var for i in n.indices for m in ir.walk(i)):
                return True
    return False


def _loop_level(stmts):
    for s in stmts:
        yield s
        if isinstance(s, ir.If):
            yield from _loop_level(s.body)
            yield from _loop_level(s.orelse)


class _Substitute(Rewriter):
    """An unrolled iteration's body: the loop variable's name replaced by its value."""

    def __init__(self, var: str, value: int):
        self.var, self.value = var, value

    def visit_Name(self, e):
        return ir.Const(self.value, weak=True, span=e.span) if e.id == self.var else e


def _unroll_block(resolver, stmts: list, fields: set, whole: list) -> list:
    import copy

    out = []
    for s in stmts:
        if isinstance(s, ir.For) and _offset_var(s, fields):
            bounds = []
            for part in (s.start, s.stop, s.step):
                try:
                    bounds.append(resolver.const_value(copy.deepcopy(part)))
                except CodegenError:
                    raise CodegenError(f"'{s.var}' is used as a field offset, so its range needs compile-time "
                                       "bounds (the loop is unrolled)", part.span,
                                       "write literal bounds or module-level constants: range(-1, 2)") from None
            if not all(isinstance(b, numbers.Integral) for b in bounds) or bounds[2] == 0:
                raise CodegenError("range() over field offsets takes integer bounds and a non-zero step", s.span)
            values = list(range(*bounds))
            if len(values) > MAX_UNROLL:
                raise CodegenError(f"a loop over field offsets is unrolled: {len(values)} iterations is more than "
                                   f"{MAX_UNROLL}", s.span, "use a smaller range (offsets are within the halo)")
            bad = next((n for n in _loop_level(s.body) if isinstance(n, (ir.Break, ir.Continue))), None)
            if bad is not None:
                raise CodegenError(f"'{type(bad).__name__.lower()}' in a loop over field offsets (it is unrolled)",
                                   bad.span, "use an if around the rest of the body instead")
            assigned = next((n for n in ir.walk(s.body) if isinstance(n, ir.Assign) and n.target == s.var), None)
            if assigned is not None:
                raise CodegenError(f"loop variable '{s.var}' is assigned inside its loop", assigned.span,
                                   "use another variable; the loop variable follows range() only")
            for v in values:
                body = _Substitute(s.var, v).visit_block(copy.deepcopy(s.body))
                out.extend(_unroll_block(resolver, body, fields, whole))
            inside = sum(1 for n in ir.walk(s.body) if isinstance(n, ir.Name) and n.id == s.var)
            everywhere = sum(1 for n in ir.walk(whole) if isinstance(n, ir.Name) and n.id == s.var)
            if values and everywhere > inside:  # read after the loop: Python leaves it at the last value
                out.append(ir.Assign(s.var, ir.Const(values[-1], weak=True, span=s.span), span=s.span))
            continue
        for name in ("body", "orelse"):
            if isinstance(getattr(s, name, None), list):
                setattr(s, name, _unroll_block(resolver, getattr(s, name), fields, whole))
        out.append(s)
    return out


def lower(f: ir.Function, hooks: StencilHooks, boundary: str) -> str:
    """Rewrite FieldRefs to Loads and set `f.space`; returns the name of the field that sets the
    domain extents."""
    written = [s.field_store for s in ir.walk(f.body) if isinstance(s, ir.Store) and s.field_store]
    if not written:
        raise CodegenError(f"stencil '{f.name}' writes no field", f.span,
                           "assign the result to the output field, e.g. out[0, 0] = ...")
    read_at_offset = {n.field_name for n in ir.walk(f.body) if isinstance(n, ir.FieldRef) and any(n.offsets)}
    for name in written:
        if name in read_at_offset:
            raise CodegenError(f"field '{name}' is both written and read at an offset (a race between cells)",
                               f.span, "read from one field and write to another (swap them between steps)")
    axes = AXES[hooks.ndim]
    f.body = _FieldLoads(axes, boundary).visit_block(f.body)
    f.space = iteration_space(written[0], hooks.fields[written[0]], axes, hooks.halo if boundary == "skip" else 0,
                              f.span)
    return written[0]


def iteration_space(field: str, field_type, axes, skip: int, span) -> ir.IterationSpace:
    """Cells [skip, n - skip) along each of `axes` (array order) of a field of type `field_type`."""
    def typed(node, t):
        node.type = t
        return node

    out = []
    for i, a in enumerate(axes):
        extent = typed(ir.Cast(typed(ir.Shape(typed(ir.Var(field, span=span), field_type), i, span=span), T.i64),
                               span=span), T.i32)
        n = typed(ir.Var(f"_n{a}", span=span), T.i32)
        start = typed(ir.Const(skip, span=span), T.i32)
        stop = typed(ir.BinOp("-", n, typed(ir.Const(skip, span=span), T.i32), span=span), T.i32) if skip else n
        out.append(ir.Axis(f"_{a}", f"_n{a}", extent, start, stop, span=span))
    absent = tuple((f"_{a}", f"_n{a}") for a in "zyx" if a not in axes)
    return ir.IterationSpace(out, absent, span=span)


class _FieldLoads(Rewriter):
    """FieldRefs -> loads with the boundary rule; a stencil's own-cell store -> a store at the cell."""

    def __init__(self, axes, boundary):
        self.axes, self.boundary = axes, boundary

    def visit_FieldRef(self, e):
        return _field_load(e, self.axes, self.boundary)

    def visit_Store(self, s):
        if s.field_store:
            s.value = self.visit(s.value)
            s.array = ir.Var(s.field_store, span=s.span)
            s.indices = [ir.Var(f"_{a}", span=s.span) for a in self.axes]
            return s
        return self.generic_visit(s)


def _shift(v, d, span):
    return ir.BinOp("+" if d > 0 else "-", v, _c(abs(d), span), span=span)


def _c(v, span):
    return ir.Const(v, weak=True, span=span)


def _field_load(ref: ir.FieldRef, axes, boundary):
    span = ref.span
    indices, inside = [], None
    for axis, d in zip(axes, ref.offsets):
        v, n = ir.Var(f"_{axis}", span=span), ir.Var(f"_n{axis}", span=span)
        if d == 0:
            indices.append(v)
            continue
        pos = _shift(v, d, span)
        if boundary == "skip":
            indices.append(pos)
            continue
        below = ir.Compare("<", ir.BinOp("+", ir.Var(f"_{axis}", span=span), _c(d, span), span=span),
                           _c(0, span), span=span)
        above = ir.Compare(">=", ir.BinOp("+", ir.Var(f"_{axis}", span=span), _c(d, span), span=span),
                           ir.Var(f"_n{axis}", span=span), span=span)
        if boundary == "periodic":
            wrapped_lo = ir.BinOp("+", ir.BinOp("+", ir.Var(f"_{axis}", span=span), _c(d, span), span=span),
                                  ir.Var(f"_n{axis}", span=span), span=span)
            wrapped_hi = ir.BinOp("-", ir.BinOp("+", ir.Var(f"_{axis}", span=span), _c(d, span), span=span),
                                  ir.Var(f"_n{axis}", span=span), span=span)
            indices.append(ir.Select(below, wrapped_lo, ir.Select(above, wrapped_hi, pos, span=span), span=span))
        else:  # clamp, and zero (which reads a clamped cell and then discards it)
            last = ir.BinOp("-", n, _c(1, span), span=span)
            indices.append(ir.Select(below, _c(0, span), ir.Select(above, last, pos, span=span), span=span))
            if boundary == "zero":
                ok = ir.UnaryOp("not", ir.BinOp("or", _copy(below), _copy(above), span=span), span=span)
                inside = ok if inside is None else ir.BinOp("and", inside, ok, span=span)
    load = ir.Load(ir.Var(ref.field_name, span=span), indices, span=span)
    if inside is not None:
        return ir.Select(inside, load, _c(0, span), span=span)
    return load


def _copy(e):
    import copy

    return copy.deepcopy(e)
