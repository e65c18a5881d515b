"""Uniformity analysis (may a value differ between threads?): a question fission asks of the IR, not the split."""
from __future__ import annotations

import re

from ..intrinsics import Intrinsic
from ..ir import nodes as ir

_THREAD = re.compile(r"_t[xyz]\b|\{t\}")
_BLOCK = re.compile(r"_b[xyz]\b")


def intrinsic_varying(intr: Intrinsic, level: str) -> bool:
    """Can the intrinsic's result differ between the threads of a block (level 'block') or of the
    grid (level 'grid'), whatever its arguments?"""
    if intr.kind == "warp_collective" or intr.category in ("atomics", "clocks"):
        return True
    if intr.kind == "block_collective":
        return level == "grid"
    spell = str(intr.spellings.get("cpu", ""))
    return bool(_THREAD.search(spell) or (level == "grid" and _BLOCK.search(spell)))


class Uniformity:
    """Which locals may differ between threads (of the block, or of the grid): those computed
    from thread (block) indices, lanes, atomics, clocks, warp collectives (and block collectives
    and block indices at grid level), or assigned under such a condition or in a loop such a
    condition leaves. Memory reads count as uniform when their indices are (the emulator's run
    time checks catch the rest)."""

    def __init__(self, f: ir.Function, level: str = "block"):
        self.level = level
        self.names: set = set()
        self.dev_memo: dict = {}
        for _ in range(100):
            before = len(self.names)
            self.block(f.body, False)
            if len(self.names) == before:
                break

    def device_varying(self, dev: ir.Function) -> bool:
        """Can a call of `dev` return different values for the same arguments in different threads?"""
        key = id(dev)
        if key not in self.dev_memo:
            self.dev_memo[key] = True  # recursion is refused earlier; be safe
            self.dev_memo[key] = any(self.call_varies(n) for n in ir.walk(dev.body) if isinstance(n, ir.Call))
        return self.dev_memo[key]

    def call_varies(self, n: ir.Call) -> bool:
        if isinstance(n.callee, Intrinsic):
            return intrinsic_varying(n.callee, self.level)
        return hasattr(n.callee, "ir") and self.device_varying(n.callee.ir)

    def varying(self, e) -> bool:
        if e is None:
            return False
        if isinstance(e, ir.Var):
            return e.name in self.names
        if isinstance(e, ir.Call):
            if isinstance(e.callee, Intrinsic):
                if e.callee.kind == "block_collective" and self.level == "block":
                    return False  # one result for the whole block
                if intrinsic_varying(e.callee, self.level):
                    return True
            elif hasattr(e.callee, "ir") and self.device_varying(e.callee.ir):
                return True
            return any(self.varying(a) for a in e.args)
        return any(self.varying(c) for c in ir.children(e))

    def add(self, name):
        self.names.add(name)

    def block(self, stmts, ctl):
        for s in stmts:
            if isinstance(s, ir.Assign):
                if ctl or self.varying(s.value):
                    self.add(s.target)
            elif isinstance(s, ir.For):
                v = ctl or any(self.varying(e) for e in (s.start, s.stop, s.step))
                if v:
                    self.add(s.var)
                self.loop(s.body, v)
            elif isinstance(s, ir.While):
                self.loop(s.body, ctl or self.varying(s.cond))
            elif isinstance(s, ir.If):
                v = ctl or self.varying(s.cond)
                self.block(s.body, v)
                self.block(s.orelse, v)

    def loop(self, body, ctl):
        self.block(body, ctl)
        if not ctl and self.varying_exit(body):
            self.block(body, True)

    def varying_exit(self, body, ctl=False) -> bool:
        """Does a break/continue of this loop sit under a condition that may differ between threads?"""
        for s in body:
            if isinstance(s, (ir.Break, ir.Continue)) and ctl:
                return True
            if isinstance(s, ir.If):
                v = ctl or self.varying(s.cond)
                if self.varying_exit(s.body, v) or self.varying_exit(s.orelse, v):
                    return True
        return False

