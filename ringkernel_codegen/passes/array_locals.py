"""Locals bound to arrays (`data = buf0 if flag else buf1`): each use a choice between the arrays."""
from __future__ import annotations

import copy

from .. import types as T
from ..errors import CodegenError
from ..ir import nodes as ir
from ..ir.visit import child_slots, set_child


class ArrayLocals:
    """A local bound to an array (`data = buf0`, `data = buf0 if flag else buf1`, `d = data`) on
    the untyped IR, before names are resolved: the local holds the number of the array it names
    (a scalar every backend keeps, the CPU emulator's per-thread locals included), and each use
    of it becomes a choice between the arrays it can name, `data[i]` ->
    `buf0[i] if data == 0 else buf1[i]` (a store, or a call statement, an if), so only the
    chosen array is touched. The arrays must share one type. Only array parameters and
    shared_array/local_array allocations can be named."""

    def __init__(self, resolver):  # a resolve.Resolver
        self.r = resolver
        self.arrays: dict = {}     # array parameters and allocations: name -> ArrayType
        self.locals: dict = {}     # array local -> [names of the arrays it can name]
        self.numbers: dict = {}    # array name -> its number (the local's value)

    def run(self):
        body = self.r.f.body
        for p in self.r.f.params:
            if isinstance(p.type, T.ArrayType):
                self.arrays[p.name] = p.type
        for n in ir.walk(body):
            if isinstance(n, ir.Assign) and isinstance(n.value, ir.Call) and \
                    self.r._alloc_intrinsic(n.value) is not None:
                a = self.r.alloc(copy.deepcopy(n))
                self.arrays.setdefault(n.target, T.ArrayType(a.dtype, len(a.shape)))
        assigns = [n for n in ir.walk(body) if isinstance(n, ir.Assign) and n.target not in self.arrays]
        changed = True
        while changed:
            changed = False
            for s in assigns:
                if s.target not in self.locals and self._array_valued(s.value):
                    self.locals[s.target] = []
                    changed = True
        if not self.locals:
            return
        for s in assigns:
            if s.target in self.locals and not self._array_valued(s.value):
                raise CodegenError(f"'{s.target}' names an array elsewhere and cannot hold a number", s.span,
                                   "use another variable for the number")
        changed = True
        while changed:
            changed = False
            for s in assigns:
                if s.target in self.locals:
                    for name in self._named(s.value):
                        for base in ([name] if name in self.arrays else self.locals[name]):
                            if base not in self.locals[s.target]:
                                self.locals[s.target].append(base)
                                changed = True
        for s in assigns:
            if s.target in self.locals:
                types = {self.arrays[b] for b in self.locals[s.target]}
                if len(types) > 1:
                    names = ", ".join(f"{b}: {self.arrays[b]}" for b in self.locals[s.target])
                    raise CodegenError(f"'{s.target}' names arrays of different types ({names})", s.span,
                                       "an array variable can only name arrays of one element type and rank")
        for name in self.arrays:
            if any(name in c for c in self.locals.values()):
                self.numbers[name] = len(self.numbers)
        self.r.f.body = self.block(body)

    def _array_valued(self, e) -> bool:
        if isinstance(e, ir.Name):
            return e.id in self.arrays or e.id in self.locals
        if isinstance(e, ir.Select):
            return self._array_valued(e.then) and self._array_valued(e.orelse)
        return False

    def _named(self, e) -> list:
        if isinstance(e, ir.Name):
            return [e.id]
        return self._named(e.then) + self._named(e.orelse)

    def number(self, e):
        """The value an array local takes for array expression `e`."""
        if isinstance(e, ir.Name):
            if e.id in self.locals:
                return e
            return ir.Const(self.numbers[e.id], weak=True, span=e.span)
        return ir.Select(e.cond, self.number(e.then), self.number(e.orelse), span=e.span)

    # ------------------------------------------------------------ rewriting uses
    def block(self, stmts) -> list:
        out = []
        for s in stmts:
            out.append(self.stmt(s))
        return out

    def stmt(self, s):
        if isinstance(s, ir.Assign) and s.target in self.locals:
            s.value = self.number(s.value)
            return s
        if isinstance(s, ir.Store) and isinstance(s.array, ir.Name) and s.array.id in self.locals:
            s.indices = [self.expr(i) for i in s.indices]
            s.value = self.expr(s.value)
            return self.choose_stmt(s.array.id, s,
                                    lambda node, base: setattr(node, "array", ir.Name(base, span=node.span)))
        if isinstance(s, ir.ExprStmt) and isinstance(s.value, ir.Call) and self._local_arg(s.value) is not None:
            s.value.args = [self.expr(a) if not self._is_local(a) else a for a in s.value.args]
            return self.call_stmt(s)
        for name in ("value", "cond", "start", "stop", "step", "array"):
            v = getattr(s, name, None)
            if isinstance(v, ir.Expr):
                setattr(s, name, self.expr(v))
        if isinstance(getattr(s, "indices", None), list):
            s.indices = [self.expr(i) for i in s.indices]
        for name in ("body", "orelse"):
            if isinstance(getattr(s, name, None), list):
                setattr(s, name, self.block(getattr(s, name)))
        return s

    def call_stmt(self, s):
        local = self._local_arg(s.value)
        if local is None:
            return s
        return self.choose_stmt(local, s, lambda node, base: self._bind(node.value, local, base),
                                then=self.call_stmt)

    def choose_stmt(self, local, s, bind, then=None):
        """`if local == 0: <s on array 0> elif ...`, the last array in the else branch."""
        cands = self.locals[local]
        branches = []
        for base in cands:
            node = copy.deepcopy(s)
            bind(node, base)
            branches.append(then(node) if then is not None else node)
        out = branches[-1]
        for base, branch in zip(reversed(cands[:-1]), reversed(branches[:-1])):
            test = ir.Compare("==", ir.Name(local, span=s.span),
                              ir.Const(self.numbers[base], weak=True, span=s.span), span=s.span)
            out = ir.If(test, [branch], [out], span=s.span)
        return out

    def _is_local(self, e) -> bool:
        return isinstance(e, ir.Name) and e.id in self.locals

    def _local_arg(self, call: ir.Call):
        return next((a.id for a in call.args if self._is_local(a)), None)

    def _bind(self, call: ir.Call, local: str, base: str):
        call.args = [ir.Name(base, span=a.span) if self._is_local(a) and a.id == local else a for a in call.args]

    def expr(self, e):
        """Rewrite array-local uses inside `e` into choices between the arrays."""
        if e is None:
            return e
        for name, key, v in list(child_slots(e)):
            if key is None:  # an array slot holding an array local is chosen below, as a whole load
                keep = self._is_local(v) and (name == "array" or isinstance(e, ir.Attribute))
            else:            # an array local passed to a call: call_expr chooses
                keep = self._is_local(v)
            if not keep:
                set_child(e, name, key, self.expr(v))
        if isinstance(e, ir.Load):
            target = e.array.value if isinstance(e.array, ir.Attribute) else e.array
            if self._is_local(target):
                return self.choose(target.id, e, lambda node, base: self._rename(node, target.id, base))
        if isinstance(e, ir.Call):
            return self.call_expr(e)
        if self._is_local(e):
            raise CodegenError(f"'{e.id}' names an array: index it ({e.id}[i]) or pass it to a function", e.span,
                               "array variables are used only as arrays")
        return e

    def call_expr(self, e: ir.Call):
        local = self._local_arg(e)
        if local is None:
            return e
        return self.choose(local, e, lambda node, base: self._bind(node, local, base), then=self.call_expr)

    def _rename(self, load: ir.Load, local: str, base: str):
        if isinstance(load.array, ir.Attribute):
            load.array.value = ir.Name(base, span=load.array.value.span)
        else:
            load.array = ir.Name(base, span=load.array.span)

    def choose(self, local, e, bind, then=None):
        """`<e on array 0> if local == 0 else ...`, the last array in the final else."""
        cands = self.locals[local]
        branches = []
        for base in cands:
            node = copy.deepcopy(e)
            bind(node, base)
            branches.append(then(node) if then is not None else node)
        out = branches[-1]
        for base, branch in zip(reversed(cands[:-1]), reversed(branches[:-1])):
            test = ir.Compare("==", ir.Name(local, span=e.span),
                              ir.Const(self.numbers[base], weak=True, span=e.span), span=e.span)
            out = ir.Select(test, branch, out, span=e.span)
        return out
