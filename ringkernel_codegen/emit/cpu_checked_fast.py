"""The bounds-checked mode's fast path for plain kernels whose indices and control flow read no array
(saxpy, elementwise, grid-stride loops): a checked access leaves its loop when it fails, so LLVM
cannot vectorise a loop of checked accesses (3.5-4x the unchecked time on saxpy). Such a kernel's
blocks run in two passes instead: a probe (the thread loops with only the index and control
computations, every access's index compared with its extent, nothing read or written) and, when
every index is inside, the unchecked thread loops themselves. A block the probe flags runs through
the checked `_rk_blocks` (emit/cpu.py), which raises at its first bad access as any checked launch.

Why it is exact: indices and conditions here are computed from parameters, thread and block
indices, constants and pure intrinsics only (no load, no call that reads or changes memory), so the
probe takes the same paths and computes the same indices as the real run, whatever the arrays
hold. It may flag more than runs (an access under a Select): that block then merely runs checked."""
from __future__ import annotations

from .. import types as T
from ..intrinsics import Intrinsic
from ..ir import nodes as ir
from .cpu_emitter import JIT, CpuEmitter, indent, inline_body

# intrinsic categories that neither read nor change memory (intrinsics/*.toml)
PURE = {"arith", "bits", "classify", "convert", "fastmath", "indexing", "math"}
SIMPLE = (ir.Assign, ir.Store, ir.ExprStmt, ir.If, ir.For, ir.While, ir.Break, ir.Continue, ir.Return, ir.Pass)


def _reads_memory(e, tainted: set) -> bool:
    for n in ir.walk(e):
        if isinstance(n, ir.Load) or isinstance(n, ir.Var) and n.name in tainted:
            return True
        if isinstance(n, ir.Call) and not (isinstance(n.callee, Intrinsic) and n.callee.category in PURE):
            return True
    return False


def tainted(f: ir.Function) -> set:
    """Locals whose value may come from memory (a load, an impure call, another such local)."""
    tainted: set = set()
    while True:
        more = {n.target for n in ir.walk(f.body) if isinstance(n, ir.Assign) and n.target not in tainted
                and _reads_memory(n.value, tainted)}
        if not more:
            return tainted
        tainted |= more


def eligible(f: ir.Function) -> bool:
    """May this plain kernel take the two-pass path (see the module's docstring)?"""
    stmts = [n for n in ir.walk(f.body) if isinstance(n, ir.Stmt)]
    if not all(isinstance(s, SIMPLE) for s in stmts) or not inline_body(f.body):
        return False  # allocations, barriers, unpacking, returns inside loops ...
    if any(isinstance(n, ir.Call) and not isinstance(n.callee, Intrinsic) for n in ir.walk(f.body)):
        return False  # a device function's body is not probed
    if any(isinstance(n, ir.Call) and n.callee.category == "atomics" for n in ir.walk(f.body)):
        return False
    if any(isinstance(f.locals.get(s.target), T.ArrayType) for s in stmts if isinstance(s, ir.Assign)):
        return False
    from_memory = tainted(f)
    for n in ir.walk(f.body):
        control = {ir.If: lambda s: [s.cond], ir.While: lambda s: [s.cond],
                   ir.For: lambda s: [s.start, s.stop, s.step]}.get(type(n))
        exprs = control(n) if control else list(n.indices) if isinstance(n, (ir.Load, ir.Store)) else []
        if any(_reads_memory(e, from_memory) for e in exprs):
            return False
    return True


def probe_index(ok: str, index: str, arr: str, axis: int) -> str:
    """The probe's line for one index: `ok` stays true while it is inside its axis."""
    return f"{ok} = {ok} & (np.uint64({index}) < np.uint64({arr}.shape[{axis}]))"


class ProbeEmitter(CpuEmitter):
    """The thread body with only its control flow and index computations: each access's index is
    compared with its extent into _rkok; stores, and assignments of values read from memory, are left out."""

    def __init__(self, f, tainted):
        super().__init__(f)
        self.checks, self.checked = None, False
        self.tainted = tainted
        self.in_thread_loop = True

    def block(self, stmts, depth):
        start = len(self.lines)
        self._probe_block(stmts, depth)
        if all(line.lstrip().startswith("#") for line in self.lines[start:]):
            self.emit("pass", depth)  # nothing to probe here (e.g. a loop of values read from memory)

    def _probe_block(self, stmts, depth):
        for s in stmts:
            self.comment(s, depth)
            if isinstance(s, (ir.If, ir.For, ir.While, ir.Break, ir.Continue, ir.Return, ir.Pass)):
                getattr(self, "s_" + type(s).__name__)(s, depth)
                continue
            if isinstance(s, ir.Assign) and s.target not in self.tainted:
                self.s_Assign(s, depth)
            accesses = [n for n in ir.walk(s) if isinstance(n, (ir.Load, ir.Store))]
            for acc in accesses:
                arr = self.expr(acc.array)
                saved, self.in_index = self.in_index, True
                for axis, i in enumerate(acc.indices):
                    self.emit(probe_index("_rkok", self.expr(i), arr, axis), depth)
                self.in_index = saved
            if not accesses and not isinstance(s, ir.Assign):
                self.emit("pass", depth)


def thread_loops(em: CpuEmitter, depth: int) -> list:
    """The block's thread loops around `em`'s body lines (written at depth 1 for a thread)."""
    return ["    " * depth + "for _tz in range(_bdz):", "    " * (depth + 1) + "for _ty in range(_bdy):",
            "    " * (depth + 2) + "for _tx in range(_bdx):", *indent(em.lines, depth + 3)]


def fast_lines(f: ir.Function, head: list) -> list:
    """`_rk_blocks_fast`: _rk_blocks' signature and blocks, each probed, then run unchecked or checked."""
    probe = ProbeEmitter(f, tainted(f))
    probe.declare_locals(1)
    probe.block(f.body, 1)
    plain = CpuEmitter(f)
    plain.checks, plain.checked = None, False
    plain.in_thread_loop = True
    plain.declare_locals(1)
    plain.block(f.body, 1)
    args = ", ".join(["_b0", "_b1", "_rkerr", "_w", *head])
    return [JIT, f"def _rk_blocks_fast({args}):",
            "    for _b in range(_b0, _b1):",
            "        _bx = _b % _gdx",
            "        _by = (_b // _gdx) % _gdy",
            "        _bz = _b // (_gdx * _gdy)",
            "        _rkok = True",
            *thread_loops(probe, 2),
            "        if not _rkok:  # an index outside, or one the probe cannot rule out: the block runs checked",
            f"            _rk_blocks(_b, _b + 1, _rkerr, _w, {', '.join(head)})",
            "            continue",
            *thread_loops(plain, 2), ""]
