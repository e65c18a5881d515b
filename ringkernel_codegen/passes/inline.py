"""Inline @device functions that hold a barrier, a collective or a shared array into the kernel (CPU
emulator only).

Barrier fission (passes/fission.py) splits one function body at its barriers; a barrier inside a
device function would be out of its reach (the CPU spelling of a barrier is `pass`), and the CPU
launcher allocates shared memory per block for the kernel only. So before fission, every call of
a device function that contains a barrier, a collective or a `shared_array`, directly or through
its callees, is replaced by the function's body:

- scalar parameters are passed by value (a temporary, or the argument itself when it is a constant
  or a local of the caller), array parameters by reference (the argument array is substituted);
- the callee's locals are renamed `_rki<N>_<name>` (shared arrays `_rks<M>_<name>`, one per device
  function and block, as CUDA's `__shared__` inside a device function);
- `return v` becomes an assignment to `_rkr<N>` (`return a, b` to `_rkr<N>_0, _rkr<N>_1`, which the
  caller's `x, y = f(...)` then copies); an early return also sets the flag `_rkf<N>` and the
  statements after it run under `if not _rkf<N>` (inside loops: `break`, then a check after the loop);
- a call inside an expression is evaluated first, in order: the operands evaluated before it are
  spilled to temporaries `_rkt<K>` when they read memory or call something, `a and f()`, `a or f()`
  and `x if c else f()` become `if` statements, and a `while` condition holding such a call is
  evaluated at the top of a `while True` loop.

The CUDA and numba emitters keep real device functions; only the CPU emitter runs this pass, and
only for kernels that call such functions (`needed`).
"""
from __future__ import annotations

import copy

from .. import types as T
from ..errors import CodegenError
from ..intrinsics import Intrinsic
from ..ir import nodes as ir
from ..ir.visit import child_slots, map_children, set_child

SYNC_KINDS = ("barrier", "grid_barrier", "warp_collective", "block_collective")


def _device_ir(node):
    if isinstance(node, ir.Call) and not isinstance(node.callee, Intrinsic):
        return getattr(node.callee, "ir", None)
    return None


def _must_inline(n) -> bool:
    return (isinstance(n, ir.Call) and isinstance(n.callee, Intrinsic) and n.callee.kind in SYNC_KINDS) or \
        (isinstance(n, ir.Alloc) and n.space == "shared")


def has_sync(fn: ir.Function, _memo=None) -> bool:
    """Does `fn` (or a device function it calls) contain a barrier, a collective or a shared array
    (what the CPU emulator can only run inlined into the kernel)?"""
    memo = {} if _memo is None else _memo
    key = id(fn)
    if key in memo:
        return memo[key]
    memo[key] = False
    found = False
    for n in ir.walk(fn.body):
        if _must_inline(n):
            found = True
            break
        dev = _device_ir(n)
        if dev is not None and has_sync(dev, memo):
            found = True
            break
    memo[key] = found
    return found


def needed(f: ir.Function) -> bool:
    memo: dict = {}
    return any(_device_ir(n) is not None and has_sync(_device_ir(n), memo) for n in ir.walk(f.body))


def run(f: ir.Function) -> bool:
    """Inline every call of a device function holding a barrier/collective/shared array into `f` (in place)."""
    if not needed(f):
        return False
    Inliner(f).run()
    return True


# ---------------------------------------------------------------- tree helpers
def clone(node):
    """A copy of an IR subtree: new nodes, shared types, spans and callees (so every inlined copy
    of a call still names the same device function)."""
    if isinstance(node, list):
        return [clone(x) for x in node]
    if not isinstance(node, ir.Node):
        return node
    return map_children(copy.copy(node), clone)


# the value a parameter was called with, where the body assigns to the parameter (the front end
# then makes it a local initialised from this node)
_PARAM_REF = getattr(ir, "ParamRef", ())


def _substitute(node, subst: dict, rename: dict):
    """Rename locals in place and replace parameters (Vars of a parameter that is not also a local,
    and ParamRefs) named in `subst` by copies of their argument expressions."""
    if isinstance(node, list):
        return [_substitute(x, subst, rename) for x in node]
    if not isinstance(node, ir.Node):
        return node
    if isinstance(node, _PARAM_REF) and node.name in subst:
        return clone(subst[node.name])
    if isinstance(node, ir.Var):
        if node.name in subst and node.name not in rename:
            return clone(subst[node.name])
        node.name = rename.get(node.name, node.name)
        return node
    if isinstance(node, ir.Assign):
        node.target = rename.get(node.target, node.target)
    elif isinstance(node, ir.For):
        node.var = rename.get(node.var, node.var)
    elif isinstance(node, ir.Alloc):
        node.name = rename.get(node.name, node.name)
    return map_children(node, lambda x: _substitute(x, subst, rename))


def _var(name, t, span):
    v = ir.Var(name, span=span)
    v.type = t
    return v


def _not(e, span):
    n = ir.UnaryOp("not", e, span=span)
    n.type = T.boolean
    return n


def _truth(e):
    if e.type == T.boolean:
        return e
    zero = ir.Const(0, span=e.span)
    zero.type = e.type
    c = ir.Compare("!=", e, zero, span=e.span)
    c.type = T.boolean
    return c


def _pure(e) -> bool:
    """True when evaluating `e` later gives the same value: no memory reads, no calls."""
    return not any(isinstance(n, (ir.Load, ir.Call)) for n in ir.walk(e))


def _returns(stmts) -> list:
    return [n for n in ir.walk(stmts) if isinstance(n, ir.Return)]


# ---------------------------------------------------------------- the pass
class Inliner:
    def __init__(self, f: ir.Function):
        self.f = f
        self.memo: dict = {}
        self.count = 0      # inlined call sites (_rki<N>_, _rkr<N>, _rkf<N>)
        self.temps = 0      # spilled operands (_rkt<K>)
        self.shared: dict = {}  # device function -> its number (_rks<M>_)
        self.params = {p.name for p in f.params}

    def run(self):
        self.f.body = self.block(self.f.body)

    def target(self, e):
        dev = _device_ir(e)
        return dev if dev is not None and has_sync(dev, self.memo) else None

    def contains(self, e) -> bool:
        return any(self.target(n) is not None for n in ir.walk(e))

    def temp(self, t, span, prefix="_rkt") -> str:
        name = f"{prefix}{self.temps}"
        self.temps += 1
        self.f.locals[name] = t
        return name

    # ------------------------------------------------------------ statements
    def block(self, stmts) -> list:
        out: list = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s) -> list:
        pre: list = []
        if isinstance(s, ir.Assign):
            s.value = self.expr(s.value, pre)
            return [*pre, s]
        if isinstance(s, ir.Unpack):
            if self.target(s.value) is not None:
                args = self.operands(s.value.args, pre)
                values = self.inline(s.value, args, pre)
                return [*pre, *(ir.Assign(t, v, span=s.span) for t, v in zip(s.targets, values))]
            s.value = self.expr(s.value, pre)
            return [*pre, s]
        if isinstance(s, ir.ExprStmt):
            if self.target(s.value) is not None:
                args = self.operands(s.value.args, pre)
                self.inline(s.value, args, pre)
                return pre
            s.value = self.expr(s.value, pre)
            return [*pre, s]
        if isinstance(s, ir.Store):
            # Python evaluates the value first, then the indices
            value, *indices = self.operands([s.value, *s.indices], pre)
            s.value, s.indices = value, indices
            return [*pre, s]
        if isinstance(s, ir.Return):
            if s.value is not None:
                s.value = self.expr(s.value, pre)
            return [*pre, s]
        if isinstance(s, ir.If):
            s.cond = self.expr(s.cond, pre)
            s.body, s.orelse = self.block(s.body), self.block(s.orelse)
            return [*pre, s]
        if isinstance(s, ir.For):
            s.start, s.stop, s.step = self.operands([s.start, s.stop, s.step], pre)
            s.body = self.block(s.body)
            return [*pre, s]
        if isinstance(s, ir.While):
            if self.contains(s.cond):
                cond = self.expr(s.cond, pre)
                guard = ir.If(_not(cond, s.span), [ir.Break(span=s.span)], [], span=s.span)
                true = ir.Const(True, span=s.span)
                true.type = T.boolean
                return [ir.While(true, [*pre, guard, *self.block(s.body)], span=s.span)]
            s.body = self.block(s.body)
            return [s]
        for n in ir.walk(s):
            if self.target(n) is not None:
                raise CodegenError(f"a call of {self.target(n).name}() (it holds a barrier or a collective) in a "
                                   f"{type(s).__name__} statement cannot run on the CPU emulator", n.span,
                                   "assign its result to a local first")
        return [s]

    # ------------------------------------------------------------ expressions
    def operands(self, exprs, pre) -> list:
        """Lower `exprs` (evaluated left to right) so that calls to inline come out in order:
        operands before the last such call are spilled when they are not pure."""
        last = max((i for i, x in enumerate(exprs) if x is not None and self.contains(x)), default=-1)
        out = []
        for i, x in enumerate(exprs):
            if i <= last and x is not None:
                x = self.expr(x, pre)
                if i < last and not _pure(x) and isinstance(x.type, T.ScalarType):
                    name = self.temp(x.type, x.span)
                    pre.append(ir.Assign(name, x, span=x.span))
                    x = _var(name, x.type, x.span)
            out.append(x)
        return out

    def expr(self, e, pre):
        if e is None or not self.contains(e):
            return e
        if self.target(e) is not None:
            args = self.operands(e.args, pre)
            return self.inline(e, args, pre)
        if isinstance(e, ir.BinOp) and e.op in ("and", "or"):
            left = self.expr(e.left, pre)
            if not self.contains(e.right):
                e.left = left
                return e
            name = self.temp(T.boolean, e.span)
            pre.append(ir.Assign(name, _truth(left), span=e.span))
            inner: list = []
            right = self.expr(e.right, inner)
            inner.append(ir.Assign(name, _truth(right), span=e.span))
            cond = _var(name, T.boolean, e.span)
            pre.append(ir.If(cond if e.op == "and" else _not(cond, e.span), inner, [], span=e.span))
            return _var(name, T.boolean, e.span)
        if isinstance(e, ir.Select):
            cond = self.expr(e.cond, pre)
            if not (self.contains(e.then) or self.contains(e.orelse)):
                e.cond = cond
                return e
            name = self.temp(e.type, e.span)
            then_pre: list = []
            then = self.expr(e.then, then_pre)
            else_pre: list = []
            orelse = self.expr(e.orelse, else_pre)
            pre.append(ir.If(cond, [*then_pre, ir.Assign(name, then, span=e.span)],
                             [*else_pre, ir.Assign(name, orelse, span=e.span)], span=e.span))
            return _var(name, e.type, e.span)
        slots = list(child_slots(e))  # (field, index or None, expr) in evaluation order
        lowered = self.operands([x for _, _, x in slots], pre)
        for (name, i, _), x in zip(slots, lowered):
            set_child(e, name, i, x)
        return e

    # ------------------------------------------------------------ one call site
    def inline(self, call: ir.Call, args: list, pre: list):
        dev = call.callee.ir
        n = self.count
        self.count += 1
        subst, rename = {}, {}
        for p, a in zip(dev.params, args):
            if isinstance(p.type, T.ArrayType) or isinstance(a, ir.Const) or (
                    isinstance(a, ir.Var) and (a.name in self.f.locals or a.name in self.params)
                    and isinstance(a.type, T.ScalarType)):
                subst[p.name] = a
            else:
                name = f"_rki{n}_{p.name}"
                self.f.locals[name] = p.type
                pre.append(ir.Assign(name, a, span=call.span))
                subst[p.name] = _var(name, p.type, call.span)
        fkey = getattr(call.callee, "fn", None) or id(dev)
        shared = {s.name for s in ir.walk(dev.body) if isinstance(s, ir.Alloc) and s.space == "shared"}
        for name, t in dev.locals.items():  # an assigned parameter is a local too: renamed like one
            if name in shared:
                m = self.shared.setdefault(fkey, len(self.shared))
                rename[name] = f"_rks{m}_{name}"
            else:
                rename[name] = f"_rki{n}_{name}"
            self.f.locals[rename[name]] = t
        body = _substitute(clone(dev.body), subst, rename)
        ret_t = dev.return_type
        ret = None
        if isinstance(ret_t, T.ScalarType):
            ret = f"_rkr{n}"
            self.f.locals[ret] = ret_t
        elif isinstance(ret_t, tuple):  # a tuple return: one local per value
            ret = [f"_rkr{n}_{i}" for i in range(len(ret_t))]
            self.f.locals.update(zip(ret, ret_t))
        body = self.returns(body, n, ret, call.span)
        pre.extend(self.block(body))
        if isinstance(ret, list):
            return [_var(r, t, call.span) for r, t in zip(ret, ret_t)]
        return _var(ret, ret_t, call.span) if ret is not None else None

    @staticmethod
    def _assign_return(ret, value, span) -> list:
        """`ret = value`, or one assignment per item for a tuple return."""
        if ret is None or value is None:
            return []
        if isinstance(ret, list):
            return [ir.Assign(r, v, span=span) for r, v in zip(ret, value.items)]
        return [ir.Assign(ret, value, span=span)]

    def returns(self, body, n, ret, span) -> list:
        """`return v` -> `ret = v`; early returns through a flag (see the module doc)."""
        rets = _returns(body)
        if not rets:
            return body
        if len(rets) == 1 and body and body[-1] is rets[0]:
            last = body[-1]
            return body[:-1] + self._assign_return(ret, last.value, last.span)
        flag = f"_rkf{n}"
        self.f.locals[flag] = T.boolean
        false = ir.Const(False, span=span)
        false.type = T.boolean
        return [ir.Assign(flag, false, span=span), *self._rewrite(body, False, flag, ret)]

    def _rewrite(self, stmts, in_loop, flag, ret) -> list:
        out: list = []
        for i, s in enumerate(stmts):
            if isinstance(s, ir.Return):
                out.extend(self._assign_return(ret, s.value, s.span))
                true = ir.Const(True, span=s.span)
                true.type = T.boolean
                out.append(ir.Assign(flag, true, span=s.span))
                if in_loop:
                    out.append(ir.Break(span=s.span))
                return out  # what follows a return is unreachable
            returns = bool(_returns([s]))
            if isinstance(s, ir.If):
                s.body = self._rewrite(s.body, in_loop, flag, ret)
                s.orelse = self._rewrite(s.orelse, in_loop, flag, ret)
            elif isinstance(s, (ir.For, ir.While)):
                s.body = self._rewrite(s.body, True, flag, ret)
            out.append(s)
            rest = stmts[i + 1:]
            if returns and rest:
                cond = _var(flag, T.boolean, s.span)
                if in_loop:
                    out.append(ir.If(cond, [ir.Break(span=s.span)], [], span=s.span))
                    out.extend(self._rewrite(rest, in_loop, flag, ret))
                else:
                    out.append(ir.If(_not(cond, s.span), self._rewrite(rest, in_loop, flag, ret), [],
                                     span=s.span))
                return out
            if returns and in_loop and isinstance(s, (ir.For, ir.While)):
                out.append(ir.If(_var(flag, T.boolean, s.span), [ir.Break(span=s.span)], [], span=s.span))
        return out
