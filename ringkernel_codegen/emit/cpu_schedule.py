"""How the CPU emulator schedules a block's threads (emit/cpu_segments.py asks): which locals need no
per-thread storage, whether a thread can end early, and which loops run interchanged with the
thread loop. Only the order of independent work changes; every thread still computes what CUDA
says it computes.

- *Recomputed* locals (`remat`): a local assigned once, by a top-level statement of the kernel, from
  thread/block indices, parameters and constants (`t = thread_idx_x()`, `row = block_idx_y() * 16 +
  ty`). Every thread loop that reads one recomputes it from `_tx`, `_bx`, ... instead of loading and
  storing a per-thread array: no memory traffic, and the loop over threads sees an affine index it
  can vectorise.
- *Block scalars*: a local that is the same in every thread of the block and is only assigned where
  the whole block is (outside any per-thread control flow), from other block scalars, parameters,
  constants and block indices (`s = 128`, `s //= 2`, the counter of a loop holding a barrier). It is
  one plain variable per block, assigned once per block, and conditions made of such values are
  evaluated once, with no per-thread evaluation and no agreement check (they cannot disagree).
- *Interchanged loops*: a `for` loop of a segment (no barrier inside) runs as `for k: for thread:`
  instead of `for thread: for k:`. Threads between barriers may run in any order in CUDA, so any
  interleaving of their iterations is one CUDA allows; a GPU runs a warp's iterations in lockstep,
  and kernels are written so that the threads of one iteration touch neighbouring memory (a
  grid-stride loop, a tile's inner product): interchanged, the innermost loop walks that memory
  contiguously and vectorises. Loops whose bounds the body may change, or that `return` or
  `break`, keep the thread-by-thread order.
"""
from __future__ import annotations

from .. import types as T
from ..intrinsics import Intrinsic
from ..ir import nodes as ir
from ..passes import fission as F
from ..passes.uniform import Uniformity, intrinsic_varying

# Intrinsic categories whose calls read no memory and have no effect: safe to evaluate again
PURE_CATEGORIES = frozenset({"arith", "bits", "classify", "convert", "fastmath", "indexing", "math"})
_PURE_NODES = (ir.Const, ir.BinOp, ir.UnaryOp, ir.Compare, ir.Select, ir.Cast, ir.ParamRef)


def pure_call(n: ir.Call) -> bool:
    return isinstance(n.callee, Intrinsic) and n.callee.kind == "expr" and n.callee.category in PURE_CATEGORIES \
        and not n.kwargs


class Schedule:
    def __init__(self, f: ir.Function, per_grid: bool = False):
        self.f = f
        self.params = {p.name: p for p in f.params}
        self.has_return = any(isinstance(n, ir.Return) for n in ir.walk(f.body))
        sites: dict = {}     # local -> [(statement, ancestors)]
        self._sites(f.body, (), sites)
        self.assigned = set(sites)
        self.remat: dict = self._remat(sites)
        self.block_scalars: set = set() if per_grid else self._block_scalars(sites)
        for n in self.block_scalars:
            self.remat.pop(n, None)

    # ------------------------------------------------------------ where locals are assigned
    def _sites(self, stmts, ancestors, out):
        for s in stmts:
            if isinstance(s, ir.Assign):
                out.setdefault(s.target, []).append((s, ancestors))
            elif isinstance(s, ir.Unpack):
                for t in s.targets:
                    out.setdefault(t, []).append((s, ancestors))
            elif isinstance(s, ir.For):
                out.setdefault(s.var, []).append((s, ancestors))
            for name, shape in s.CHILDREN:
                if shape == "stmts":
                    self._sites(getattr(s, name), (*ancestors, s), out)

    def scalar_local(self, name) -> bool:
        return isinstance(self.f.locals.get(name), T.ScalarType) and name not in self.params

    def _is_param(self, name) -> bool:
        return name in self.params and name not in self.assigned

    def _pure(self, e, ok_var, ok_call) -> bool:
        for n in ir.walk(e):
            if isinstance(n, ir.Var):
                if not (ok_var(n.name) or (self._is_param(n.name) and not hasattr(n.type, "ndim"))):
                    return False
            elif isinstance(n, ir.Call):
                if not (pure_call(n) and ok_call(n.callee)):
                    return False
            elif isinstance(n, ir.Shape):
                if not (isinstance(n.array, ir.Var) and self._is_param(n.array.name)):
                    return False
            elif not isinstance(n, _PURE_NODES) and not isinstance(n, ir.Var):
                return False
        return True

    def thread_pure(self, e, ok_var=lambda name: False) -> bool:
        """Reads no memory, calls nothing with an effect: the same value whenever a thread evaluates
        it, as long as the locals it reads (those ok_var accepts) keep theirs."""
        return self._pure(e, lambda name: name in self.remat or name in self.block_scalars or ok_var(name),
                          lambda c: True)

    def block_pure(self, e) -> bool:
        """Made of block scalars, parameters, constants and values the same in every thread of the
        block: evaluated once per block."""
        return self._pure(e, lambda name: name in self.block_scalars,
                          lambda c: not intrinsic_varying(c, "block"))

    # ------------------------------------------------------------ recomputed locals
    def _remat(self, sites) -> dict:
        out: dict = {}
        for i, s in enumerate(self.f.body):
            if not isinstance(s, ir.Assign) or not self.scalar_local(s.target) or len(sites[s.target]) != 1:
                continue
            if not self._pure(s.value, lambda name: name in out, lambda c: True):
                continue
            # read before its assignment (a zero there): not recomputable
            if any(isinstance(n, ir.Var) and n.name == s.target for earlier in self.f.body[:i]
                   for n in ir.walk(earlier)):
                continue
            out[s.target] = s
        return out

    # ------------------------------------------------------------ block scalars
    def _block_scalars(self, sites) -> set:
        uni = Uniformity(self.f, "block")
        cands = set()
        for name, where in sites.items():
            if not self.scalar_local(name) or name in uni.names:
                continue
            if all(self._block_site(s, anc) for s, anc in where):
                cands.add(name)
        while True:  # drop those computed from a non-candidate, until none is
            keep = {n for n in cands if all(self._block_value(s, cands) for s, _ in sites[n])}
            if keep == cands:
                return cands
            cands = keep

    def _block_site(self, s, ancestors) -> bool:
        """Does the whole block execute this assignment together (only barrier-holding statements
        around it, so fission writes it at block level)?"""
        if isinstance(s, ir.Unpack):
            return False
        if not all(_holds_block_sync(a) for a in ancestors):
            return False
        if isinstance(s, ir.For):
            return _holds_block_sync(s)
        return True

    def _block_value(self, s, cands) -> bool:
        ok = lambda name: name in cands  # noqa: E731
        block = lambda c: not intrinsic_varying(c, "block")  # noqa: E731
        if isinstance(s, ir.For):
            return all(self._pure(e, ok, block) for e in (s.start, s.stop, s.step))
        return self._pure(s.value, ok, block)

    # ------------------------------------------------------------ interchanged loops
    def interchangeable(self, s) -> bool:
        """May this `for` (a statement of a segment) run as `for k: for thread:`?"""
        if not isinstance(s, ir.For) or s.var in self.remat or s.var in self.block_scalars:
            return False
        if any(isinstance(n, ir.Return) for n in ir.walk(s.body)) or _own_exit(s.body):
            return False
        changed = {n for n in self._assigned_in(s.body)} | {s.var}
        if not all(self.thread_pure(e, lambda name: name not in changed and self.scalar_local(name))
                   for e in (s.start, s.stop, s.step)):
            return False
        # the loop variable is read nowhere else (after the loop it would need its last value)
        return not any(isinstance(n, ir.Var) and n.name == s.var and not _inside(n, s.body)
                       for n in ir.walk(self.f.body))

    def _assigned_in(self, stmts):
        for n in ir.walk(stmts):
            if isinstance(n, ir.Assign):
                yield n.target
            elif isinstance(n, ir.For):
                yield n.var
            elif isinstance(n, ir.Unpack):
                yield from n.targets

    def is_thread_x(self, e) -> bool:
        """Is `e` the value of thread_idx_x() (or of a recomputed local holding just that)? Only
        through conversions that keep every thread index (0..1023): an 8-bit one wraps them."""
        while isinstance(e, ir.Cast) or isinstance(e, ir.Var) and e.name in self.remat:
            if not _keeps_thread_index(e.type):
                return False
            e = e.value if isinstance(e, ir.Cast) else self.remat[e.name].value
        return isinstance(e, ir.Call) and isinstance(e.callee, Intrinsic) and e.callee.name == "thread_idx_x"

    def raw_index(self, name):
        """The emulator's own variable (`_tx`, `_ty`, `_bx`, ...) when recomputed local `name` holds
        just that thread or block index in a signed type of 16 bits or more (the same value, and
        the same arithmetic on it in an index, which the CPU computes in 64 bits), else None. Read
        in an index, it spares numba the conversions that keep a tile loop from vectorising."""
        s = self.remat.get(name)
        t = self.f.locals.get(name)
        if s is None or not (_keeps_thread_index(t) and t.kind == "i"):
            return None
        e = s.value
        while isinstance(e, ir.Cast):
            if not (_keeps_thread_index(e.type) and e.type.kind == "i"):
                return None
            e = e.value
        if not (isinstance(e, ir.Call) and isinstance(e.callee, Intrinsic) and not e.args):
            return None
        spelled = str(e.callee.spellings.get("cpu", ""))
        return spelled if spelled in ("_tx", "_ty", "_tz", "_bx", "_by", "_bz") else None

    def x_guard(self, stmts):
        """(op, bound) when `stmts` are one `if thread_idx_x() <op> bound:` with no else and a bound
        of block scalars (the tree reduction's `if t < s`): the thread loop can skip the threads
        the condition leaves out (the condition is still tested)."""
        if len(stmts) != 1 or not isinstance(stmts[0], ir.If) or stmts[0].orelse:
            return None
        c = stmts[0].cond
        if not isinstance(c, ir.Compare) or c.op not in _MIRROR:
            return None
        for x, bound, op in ((c.left, c.right, c.op), (c.right, c.left, _MIRROR[c.op])):
            t = getattr(_peel(bound), "type", None)
            if self.is_thread_x(x) and self.block_pure(bound) and getattr(t, "is_int", False) \
                    and op in ("<", "<=", "=="):
                return op, bound
        return None

    def grid_stride(self, s) -> bool:
        """An interchangeable loop whose start differs between threads and whose step does not
        (`for i in range(global_id(), n, stride)`): the one a plain kernel is re-routed for."""
        return self.interchangeable(s) and not self.block_pure(s.start) and self.block_pure(s.step)


_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}


def _keeps_thread_index(t) -> bool:
    return isinstance(t, T.ScalarType) and t.is_int and t.bits >= 16


def _peel(e):
    while isinstance(e, ir.Cast):
        e = e.value
    return e


def _holds_block_sync(s) -> bool:
    return any(F.is_block_sync(n) for n in ir.walk(s))


def _own_exit(stmts) -> bool:
    """A break/continue of this loop (not of a loop nested in it)?"""
    for s in stmts:
        if isinstance(s, (ir.Break, ir.Continue)):
            return True
        if isinstance(s, ir.If) and (_own_exit(s.body) or _own_exit(s.orelse)):
            return True
    return False


def _inside(node, stmts) -> bool:
    return any(n is node for n in ir.walk(stmts))


def wants_interchange(f: ir.Function) -> bool:
    """A plain kernel (no barrier) with a grid-stride loop among its top-level statements: run it
    through the segment writer so the loop is interchanged with the thread loop."""
    sched = Schedule(f)
    return any(sched.grid_stride(s) for s in f.body)
