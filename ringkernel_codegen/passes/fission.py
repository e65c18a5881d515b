"""Barrier fission for the CPU emulator.

A kernel body is split into a *block program*: thread segments (run for every live thread of the
block, one after another) separated by barriers, and block-level control flow (UIf/UFor/UWhile)
wherever a barrier or a collective sits inside control flow. Block-level conditions must be
block-uniform; the emitter checks that at run time and raises a clear error when they diverge.
Collective intrinsics (warp/block) are hoisted into their own items: every thread's arguments
are gathered into arrays first, then each thread's result is computed from all of them.

Control flow around warp collectives only (no block barrier or block collective inside) may
diverge between warps, and inside a warp where the collective's mask names just the lanes that
take the branch: when its condition is not provably block-uniform (passes/uniform.py), the emitter runs
it as a *warp region* with a per-thread active mask (both branches of an `if`, loops until no
thread is left in them) and checks at each collective that every lane its mask names is there.

Grid barriers (`grid_sync`) split the kernel at the grid level first: the block programs between
them run for every block before the next starts; grid barriers inside `if`/`for`/`while` need
conditions that are the same in every thread of the grid (checked statically where a condition
plainly depends on the thread or block, and at run time).

Device functions holding barriers or collectives are inlined before this pass (passes/inline.py);
`check_split` makes sure no barrier or collective is left inside a segment, where the CPU spelling
of a barrier (`pass`) would silently drop it. The items are plain data (passes/fission_program.py);
emit/cpu_segments.py and emit/cpu_fission.py write them out.
"""
from __future__ import annotations

from .. import types as T
from ..errors import CodegenError
from ..intrinsics import Intrinsic
from ..ir import nodes as ir
from ..ir.visit import map_children
from .fission_program import (Coll, GFor, GIf, GLoop, GSync, Part, Program, Seg, UBreak, UContinue, UFor, UIf,
                              ULoop)
from .inline import has_sync
from .uniform import Uniformity

COLLECTIVE = ("warp_collective", "block_collective")


def is_sync(n) -> bool:
    return isinstance(n, ir.Call) and isinstance(n.callee, Intrinsic) and \
        n.callee.kind in ("barrier", *COLLECTIVE)


def is_grid_sync(n) -> bool:
    return isinstance(n, ir.Call) and isinstance(n.callee, Intrinsic) and n.callee.kind == "grid_barrier"


def is_block_sync(n) -> bool:
    """A barrier or collective every thread of the block takes part in (sync_warp is per warp)."""
    return isinstance(n, ir.Call) and isinstance(n.callee, Intrinsic) and (
        n.callee.kind == "block_collective" or (n.callee.kind == "barrier" and n.callee.name != "sync_warp"))


def needs_fission(f: ir.Function) -> bool:
    return any(is_sync(n) or is_grid_sync(n) for n in ir.walk(f.body))


def grid_parts(f: ir.Function) -> list:
    """The kernel body split at top-level grid barriers (each part runs for every block before the
    next starts). A grid barrier anywhere else is an error here: see Fission.grid_program."""
    parts, current = [], []
    for s in f.body:
        if isinstance(s, ir.ExprStmt) and is_grid_sync(s.value):
            parts.append(current)
            current = []
            continue
        nested = next((n for n in ir.walk(s) if is_grid_sync(n)), None)
        if nested is not None:
            raise CodegenError(f"{nested.callee.name}() inside control flow cannot run on the CPU emulator",
                               nested.span, "make the grid barrier a top-level statement of the kernel")
        current.append(s)
    parts.append(current)
    return parts


def nested_grid_sync(f: ir.Function) -> bool:
    """Is some grid barrier of `f` inside control flow (not a top-level statement)?"""
    return any(is_grid_sync(n) for s in f.body if not (isinstance(s, ir.ExprStmt) and is_grid_sync(s.value))
               for n in ir.walk(s))


# ---------------------------------------------------------------- the pass
class Fission:
    def __init__(self, f: ir.Function):
        self.f = f
        self.temps: dict = {}
        self.count = 0
        self._uni = None

    @property
    def uni(self) -> Uniformity:
        if self._uni is None:
            self._uni = Uniformity(self.f, "block")
        return self._uni

    def run(self, body=None) -> Program:
        body = self.f.body if body is None else body
        self.check_devices(body)
        prog = Program(self.block(body, in_lifted_loop=False), self.temps)
        check_split(prog.items)
        return prog

    def check_devices(self, body):
        for dev_node in ir.walk(body):
            if isinstance(dev_node, ir.Call) and hasattr(dev_node.callee, "ir"):
                if has_sync(dev_node.callee.ir):
                    raise CodegenError(f"{dev_node.callee.ir.name}() holds a barrier or collective that was not "
                                       "inlined for the CPU emulator (a ringkernel bug)", dev_node.span)

    # ------------------------------------------------------------------ grid level
    def grid_program(self) -> list:
        """Grid items (Part, GSync, GIf, GFor, GLoop, UBreak, UContinue) for a kernel with grid
        barriers inside control flow."""
        self.check_devices(self.f.body)
        self._guni = Uniformity(self.f, "grid")
        items = self.grid_block(self.f.body, False)
        return items

    def contains_grid_sync(self, s) -> bool:
        return any(is_grid_sync(n) for n in ir.walk(s))

    def grid_block(self, stmts, in_loop) -> list:
        items: list = []
        cur: list = []

        def flush():
            if cur:
                prog = Program(self.block(list(cur), in_lifted_loop=False), self.temps)
                check_split(prog.items)
                items.append(Part(prog))
                cur.clear()

        for s in stmts:
            if in_loop and isinstance(s, (ir.Break, ir.Continue)):
                flush()
                items.append(UBreak(s.span) if isinstance(s, ir.Break) else UContinue(s.span))
            elif isinstance(s, ir.ExprStmt) and is_grid_sync(s.value):
                flush()
                items.append(GSync(s.span))
            elif self.contains_grid_sync(s) or (in_loop and isinstance(s, ir.If) and
                                                (self.has_loop_ctl(s.body) or self.has_loop_ctl(s.orelse))):
                flush()
                items.append(self.grid_lift(s, in_loop))
            else:
                cur.append(s)
        flush()
        return items

    def grid_uniform(self, cond, s):
        if self._guni.varying(cond) or any(is_sync(n) for n in ir.walk(cond)):
            sync = next((n for n in ir.walk(s) if is_grid_sync(n)), None)
            name = sync.callee.name if sync is not None else "grid_sync"
            raise CodegenError(f"{name}() inside control flow whose condition can differ between threads of the "
                               "grid cannot run on the CPU emulator (nor on a GPU: every thread must reach the "
                               "same grid barriers)", s.span,
                               "make the condition the same in every thread (kernel parameters, constants, loop "
                               "counters, values read back from memory), or make the grid barrier a top-level "
                               "statement of the kernel")

    def grid_lift(self, s, in_loop):
        if isinstance(s, ir.If):
            self.grid_uniform(s.cond, s)
            return GIf(s.cond, self.grid_block(s.body, in_loop), self.grid_block(s.orelse, in_loop), s.span)
        if isinstance(s, ir.For):
            for e in (s.start, s.stop, s.step):
                self.grid_uniform(e, s)
            return GFor(s.var, s.start, s.stop, s.step, self.grid_block(s.body, True), s.span)
        if isinstance(s, ir.While):
            self.grid_uniform(s.cond, s)
            neg = ir.UnaryOp("not", s.cond, span=s.cond.span)
            neg.type = T.boolean
            guard = ir.If(neg, [ir.Break(span=s.span)], [], span=s.span)
            return GLoop(self.grid_block([guard, *s.body], True), s.span)
        sync = next((n for n in ir.walk(s) if is_grid_sync(n)), None)
        raise CodegenError(f"{sync.callee.name}() must be a statement of its own", s.span)

    # ------------------------------------------------------------------ block level
    def contains_sync(self, s) -> bool:
        return any(is_sync(n) for n in ir.walk(s))

    def contains_block_sync(self, s) -> bool:
        return any(is_block_sync(n) for n in ir.walk(s))

    def has_loop_ctl(self, stmts) -> bool:
        for s in stmts:
            if isinstance(s, (ir.Break, ir.Continue)):
                return True
            if isinstance(s, ir.If) and (self.has_loop_ctl(s.body) or self.has_loop_ctl(s.orelse)):
                return True
        return False

    def lifted(self, s, in_lifted_loop) -> bool:
        if self.contains_sync(s):
            return True
        if in_lifted_loop and isinstance(s, ir.If):
            return self.has_loop_ctl(s.body) or self.has_loop_ctl(s.orelse)
        return False

    def block(self, stmts, in_lifted_loop, loop_block=False) -> list:
        items: list = []
        seg: list = []

        def flush():
            if seg:
                items.append(Seg(list(seg)))
                seg.clear()

        for s in stmts:
            if in_lifted_loop and isinstance(s, (ir.Break, ir.Continue)):
                flush()
                items.append(UBreak(s.span) if isinstance(s, ir.Break) else UContinue(s.span))
                continue
            if not self.lifted(s, in_lifted_loop):
                seg.append(s)
                continue
            flush()
            items.extend(self.lift(s, in_lifted_loop, loop_block))
        flush()
        return items

    def hoist(self, e: ir.Expr, out: list) -> ir.Expr:
        """Replace collective calls inside `e` by temporaries computed by Coll items appended to out."""
        if is_sync(e):
            if e.callee.kind == "barrier":
                raise CodegenError(f"{e.callee.name}() must be a statement of its own", e.span)
            e.args = [self.hoist(a, out) for a in e.args]
            name = f"_rkc{self.count}"
            self.count += 1
            self.temps[name] = e.type
            out.append(Coll(name, e, e.span))
            v = ir.Var(name, span=e.span)
            v.type = e.type
            return v
        return map_children(e, lambda x: self.hoist(x, out))

    def lift(self, s, in_lifted_loop, loop_block=False) -> list:
        pre: list = []
        if isinstance(s, ir.ExprStmt) and is_sync(s.value) and s.value.callee.kind == "barrier":
            for a in s.value.args:
                if self.contains_sync(a):
                    raise CodegenError("collectives cannot be arguments of a barrier", s.span)
            return []  # a barrier is the boundary between two segments
        if isinstance(s, (ir.Assign, ir.Store, ir.ExprStmt, ir.Return)):
            if isinstance(s, ir.ExprStmt) and is_sync(s.value):
                # a collective whose value is unused: run it, drop the result
                self.hoist(s.value, pre)
                return pre
            for fname in ("value", "indices"):
                v = getattr(s, fname, None)
                if isinstance(v, ir.Expr):
                    setattr(s, fname, self.hoist(v, pre))
                elif isinstance(v, list):
                    setattr(s, fname, [self.hoist(x, pre) for x in v])
            return [*pre, Seg([s])]
        if isinstance(s, ir.If):
            uniform = not self.uni.varying(s.cond)
            block_level = self.contains_block_sync(s) or (
                in_lifted_loop and loop_block and (self.has_loop_ctl(s.body) or self.has_loop_ctl(s.orelse)))
            cond = self.hoist(s.cond, pre)
            return [*pre, UIf(cond, self.block(s.body, in_lifted_loop, loop_block),
                              self.block(s.orelse, in_lifted_loop, loop_block), s.span, uniform, block_level)]
        if isinstance(s, ir.For):
            for e in (s.start, s.stop, s.step):
                if self.contains_sync(e):
                    raise CodegenError("collectives cannot be range() bounds", s.span)
            uniform = not any(self.uni.varying(e) for e in (s.start, s.stop, s.step)) and \
                not self.uni.varying_exit(s.body)
            block_level = self.contains_block_sync(s)
            return [UFor(s.var, s.start, s.stop, s.step, self.block(s.body, True, block_level), s.span, uniform,
                         block_level)]
        if isinstance(s, ir.While):
            neg = ir.UnaryOp("not", s.cond, span=s.cond.span)
            neg.type = T.boolean
            guard = ir.If(neg, [ir.Break(span=s.span)], [], span=s.span)
            uniform = not self.uni.varying_exit([guard, *s.body])
            block_level = self.contains_block_sync(s)
            return [ULoop(self.block([guard, *s.body], True, block_level), s.span, uniform, block_level)]
        raise CodegenError(f"{type(s).__name__} around a barrier is not supported by the CPU emulator", s.span)


def check_split(items):
    """Never drop a barrier: after fission no barrier or collective may be left inside a segment,
    a condition or a loop bound (the per-thread code would spell a barrier `pass`)."""
    def check(node, where):
        for n in ir.walk(node):
            if is_sync(n) or is_grid_sync(n):
                raise CodegenError(f"{n.callee.name}() in {where} could not be split by the CPU emulator's barrier "
                                   "fission", n.span, "move it out of the expression into a statement of its own")
            if isinstance(n, ir.Call) and not isinstance(n.callee, Intrinsic) and hasattr(n.callee, "ir") and \
                    has_sync(n.callee.ir):
                raise CodegenError(f"{n.callee.ir.name}() holds a barrier or collective that was not inlined for "
                                   "the CPU emulator", n.span)

    for it in items:
        if isinstance(it, Seg):
            check(it.stmts, "this statement")
        elif isinstance(it, Coll):
            check(it.call.args, "the arguments of a collective")
        elif isinstance(it, UIf):
            check(it.cond, "a condition")
            check_split(it.body)
            check_split(it.orelse)
        elif isinstance(it, UFor):
            check([it.start, it.stop, it.step], "a range() bound")
            check_split(it.body)
        elif isinstance(it, ULoop):
            check_split(it.body)
