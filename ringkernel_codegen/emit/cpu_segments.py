"""Barrier fission's per-thread segments, block-level control flow, collectives and warp regions, as njit source."""
from __future__ import annotations

from .. import types as T
from ..errors import CodegenError
from ..ir import nodes as ir
from ..passes import fission_program as P
from .common import source_comment
from .cpu_emitter import (BAD, CTX, WRITEBACK, CpuEmitter, allocs_of, current_checks, indent, inline_body, jit_for,
                          param_names, shared_allocs)
from .cpu_checked_fast import probe_index
from .cpu_gridmap import iteration, zero_step
from .cpu_schedule import Schedule

# `_rt_uniform(values, done)`: do the live threads agree on a value (and which)? Emitted once per fission kernel.
RT_UNIFORM = ["@njit(nogil=True, error_model='numpy', cache=True)",
              "def _rt_uniform(values, done):",
              "    first = True",
              "    value = values[0]",
              "    for t in range(values.shape[0]):",
              "        if done[t]:",
              "            continue",
              "        if first:",
              "            value = values[t]",
              "            first = False",
              "        elif values[t] != value:",
              "            return False, value",
              "    return True, value",
              ""]


class SegmentWriter:
    """Writes a block program (passes/fission_program.py) as segment functions and the block-level code
    that calls them; `f.locals` already holds fission's temporaries."""

    def __init__(self, f, per_grid=False):
        self.f = f
        # block scalars, recomputed locals and interchanged loops (emit/cpu_schedule.py); not when a
        # segment is a function of its own (a `return` inside a loop), which sees only its arguments
        self.sched = Schedule(f, per_grid)
        self.interchange = inline_body(f.body)
        if not self.interchange:
            self.sched.remat, self.sched.block_scalars = {}, set()
        plain = {*self.sched.remat, *self.sched.block_scalars}
        self.scalars = [n for n, t in f.locals.items() if isinstance(t, T.ScalarType) and n not in plain]
        self._remat_lines: dict = {}
        self.unchecked = False
        self.shared = [a.name for a in shared_allocs(f)]
        self.local_arrays = allocs_of(f, "local")
        self.segments: list = []   # generated segment functions (lines)
        self.failures: list = []   # messages of the run-time checks, by code - 1 (see fail)
        self.block_function = False  # items written into _rk_block, which returns an error code
        self.checks = current_checks()  # bounds-checked: segments get the worker's error record
        self.nseg = 0
        self.nmask = 0

    def seg_args(self):
        bad = [BAD] if self.checks is not None else []
        return ["_t", "_done", *CTX, *bad, *[f"_L_{n}" for n in self.scalars],
                *[f"_A_{a.name}" for a in self.local_arrays], *self.shared, *param_names(self.f)]

    def emitter(self, promoted=None) -> CpuEmitter:
        """An emitter of this kernel's per-thread arrays, scheduled by self.sched."""
        em = CpuEmitter(self.f, arrays_mode=True)
        em.sched = self.sched
        em.promoted = promoted
        if self.unchecked:  # bounds-checked mode, after a probe found every index inside (interchanged)
            em.checked = False
        return em

    def remat(self, name) -> tuple:
        """(the line that recomputes local `name`, the recomputed locals it reads)."""
        if name not in self._remat_lines:
            em = self.emitter({})
            em.s_Assign(self.sched.remat[name], 0)
            self._remat_lines[name] = (em.lines[-1], [n for n in em.promoted if n in self.sched.remat])
        return self._remat_lines[name]

    def remat_lines(self, names) -> list:
        """The lines recomputing `names` and what they read, in the kernel's order."""
        need: set = set()
        todo = list(names)
        while todo:
            n = todo.pop()
            if n not in need:
                need.add(n)
                todo.extend(self.remat(n)[1])
        return [f"    {self.remat(n)[0]}" for n in self.sched.remat if n in need]

    def new_seg(self, body_fn, extra=(), stmts=None):
        """A per-thread segment (body written by body_fn): lines to write inside the thread loop,
        or, when `stmts` return from inside a loop (inline_body), a segment function and its call."""
        name = f"_rk_seg{self.nseg}"
        self.nseg += 1
        args = ", ".join([*self.seg_args(), *extra])
        inline = stmts is None or inline_body(stmts)
        em = self.emitter({})
        em.in_thread_loop = inline
        body_fn(em)
        # the thread's scalar locals live in plain variables inside the segment: loaded on entry,
        # stored back at the end and before a return (no load/store of the per-thread arrays per use);
        # recomputed locals are computed on entry
        used = [n for n in em.promoted if n in self.scalars]
        lines = self.remat_lines([n for n in em.promoted if n in self.sched.remat])
        lines += [f"    {n} = _L_{n}[_t]" for n in used]
        for line in em.lines:
            if line.strip() == WRITEBACK:
                pad = line[:len(line) - len(line.lstrip())]
                lines.extend(f"{pad}_L_{n}[_t] = {n}" for n in used)
            else:
                lines.append(line)
        lines.extend(f"    _L_{n}[_t] = {n}" for n in used)
        if inline:
            return [f"    # segment {name[7:]}", *lines]
        self.segments.extend([jit_for(len(self.seg_args()) + len(extra)), f"def {name}({args}):", *lines, ""])
        return f"{name}({args})"

    def fail(self, em, depth, msg):
        """A failed run-time check. Inside _rk_block it returns the message's code (a `raise` there
        would keep numba from running blocks in parallel: the launcher raises after the blocks); in
        a launcher that runs its blocks itself (grid barriers) it raises at once."""
        if not self.block_function:
            em.emit(f"raise RuntimeError({msg!r})", depth)
            return
        if msg not in self.failures:
            self.failures.append(msg)
        em.emit(f"return {self.failures.index(msg) + 1}", depth)

    def thread_loop(self, em, depth, call, mask=None, xs="range(_bdx)"):
        """Every live thread of the block (of `mask`) runs `call`: three loops over the thread
        index (no division per thread); a kernel that never returns has no thread to skip. `xs`:
        the x indices that can run it (every one unless a guard narrows them, see segment)."""
        em.emit("for _tz in range(_bdz):", depth)
        em.emit("for _ty in range(_bdy):", depth + 1)
        em.emit(f"for _tx in {xs}:", depth + 2)
        depth += 3
        em.emit("_t = (_tz * _bdy + _ty) * _bdx + _tx", depth)
        if mask is not None:
            em.emit(f"if _done[_t] or not {mask}[_t]:", depth)
            em.emit("continue", depth + 1)
        elif self.sched.has_return:
            em.emit("if _done[_t]:", depth)
            em.emit("continue", depth + 1)
        if isinstance(call, list):
            em.lines.extend(indent(call, depth))
        else:
            em.emit(call, depth)

    def segment(self, stmts, em, depth):
        """A segment's statements: runs of them in thread loops; a block scalar's assignment once,
        between them; an interchangeable loop as `for k: for thread:` (emit/cpu_schedule.py)."""
        run: list = []

        def flush():
            if run:
                part = list(run)
                xs = "range(_bdx)"
                guard = self.sched.x_guard(part) if self.interchange else None
                if guard is not None:  # `if t < s:`: the threads from s on would only test it
                    op, bound = guard
                    b = em.expr(bound)
                    xs = {"<": f"range(min(_bdx, max({b}, 0)))", "<=": f"range(min(_bdx, max({b} + 1, 0)))",
                          "==": f"range(max({b}, 0), min({b} + 1, _bdx))"}[op]
                self.thread_loop(em, depth, self.new_seg(lambda e: e.block(part, 1), stmts=part), xs=xs)
                run.clear()

        for s in stmts:
            if isinstance(s, ir.Assign) and s.target in self.sched.block_scalars:
                flush()
                em.block([s], depth)
            elif isinstance(s, ir.Assign) and s.target in self.sched.remat:
                continue  # recomputed wherever it is read
            elif self.interchange and self.sched.interchangeable(s):
                flush()
                self.interchanged(s, em, depth)
            else:
                run.append(s)
        flush()

    def interchanged(self, s, em, depth):
        """`for v in range(a, b, c)` of a segment as `for k: for thread:`. Bounds the same in every
        thread are evaluated once; others (a grid-stride loop's start) per thread, first for the
        longest trip count, then again in each iteration (the body cannot change them)."""
        self.comment(em, s.span, depth)
        n = self.nseg
        t = self.f.locals[s.var]
        k = f"_rkk{n}"
        bounds = (s.start, s.stop, s.step)
        zero = zero_step(s, self.f)
        if all(self.sched.block_pure(e) for e in bounds):
            names = [f"_rkr{n}_{i}" for i in range(3)]
            for name, e in zip(names, bounds):
                em.emit(f"{name} = {em.expr(e)}", depth)
            em.emit(f"if {names[2]} == 0:", depth)
            self.fail(em, depth + 1, zero)

            def loop(d, write, stmts=None):
                """`for k in range(...)` at depth d, over the block's threads running `write`."""
                def seg(e):
                    e.plain = {s.var}
                    e.emit(f"{s.var} = {e.cast(t, k)}", 1)
                    write(e)
                em.emit(f"for {k} in range({', '.join(names)}):", d)
                self.thread_loop(em, d + 1, self.new_seg(seg, stmts=stmts))

            def body(e):
                e.block(s.body, 1)
            accesses = self.probeable(s) if em.checked else None
            if accesses is None:
                loop(depth, body, s.body)
                return
            # bounds-checked: probe every index of the loop first (nothing read or written); all
            # inside, the loop runs unchecked (it vectorises), else checked to its first bad access
            ok = f"_rkok{n}"

            def probe(e):
                for acc in accesses:
                    e.in_index = True
                    arr = e.expr(acc.array)
                    for axis, i in enumerate(acc.indices):
                        e.emit(probe_index(ok, e.expr(i), arr, axis), 1)
                    e.in_index = False
            em.emit(f"{ok} = True", depth)
            loop(depth, probe)
            em.emit(f"if {ok}:", depth)
            self.unchecked = True
            try:
                loop(depth + 1, body, s.body)
            finally:
                self.unchecked = False
            em.emit("else:", depth)
            loop(depth + 1, body, s.body)
            return
        trips = f"_rkn{n}"
        em.emit(f"{trips} = 0", depth)
        fixed = self.sched.block_pure(s.stop) and self.sched.block_pure(s.step)
        if fixed:
            # one stop and step for the block: the longest range starts at the lowest start (step > 0)
            # or the highest (step < 0); one division per block, not one per thread
            lo, hi, b, c = f"_rklo{n}", f"_rkhi{n}", f"_rkr{n}_1", f"_rkr{n}_2"
            em.emit(f"{b} = {em.expr(s.stop)}", depth)
            em.emit(f"{c} = {em.expr(s.step)}", depth)
            em.emit(f"if {c} == 0:", depth)
            self.fail(em, depth + 1, zero)
            em.emit(f"{lo} = np.int64(np.iinfo(np.int64).max)", depth)
            em.emit(f"{hi} = np.int64(np.iinfo(np.int64).min)", depth)

            def extremes(e):
                a = e.expr(s.start)
                e.emit(f"{lo} = min({lo}, np.int64({a}))", 1)
                e.emit(f"{hi} = max({hi}, np.int64({a}))", 1)
            self.thread_loop(em, depth, self.new_seg(extremes))
            em.emit(f"if {lo} <= {hi}:", depth)  # some thread is live
            em.emit(f"{trips} = _rt.trip_count({lo} if {c} > 0 else {hi}, {b}, {c})", depth + 1)
        else:
            def count(e):
                a, b, c = (e.expr(x) for x in bounds)
                e.emit(f"if {c} == 0:", 1)
                self.fail(e, 2, zero)
                e.emit(f"{trips} = max({trips}, _rt.trip_count({a}, {b}, {c}))", 1)
            self.thread_loop(em, depth, self.new_seg(count))
        em.emit(f"for {k} in range({trips}):", depth)

        def body(e):
            e.plain = {s.var}
            a, b, c = (e.expr(x) for x in bounds)
            if fixed:
                b, c = f"_rkr{n}_1", f"_rkr{n}_2"
            iteration(e, s, k, a, b, c, 1)
            e.block(s.body, 1)
        self.thread_loop(em, depth + 1, self.new_seg(body, stmts=s.body))

    def probeable(self, s):
        """The loads and stores of an interchanged loop's body when a probe can check them all
        ahead: straight-line statements, no call but pure intrinsics, every index computed from
        the loop variable, thread/block indices, block scalars, parameters and constants (so the
        probe computes what the run will), on parameter or shared arrays; else None."""
        from .cpu_schedule import pure_call

        if not all(isinstance(x, (ir.Assign, ir.Store, ir.ExprStmt)) for x in s.body):
            return None
        nodes = list(ir.walk(s.body))
        if any(isinstance(x, ir.Call) and not pure_call(x) for x in nodes):
            return None
        accesses = [x for x in nodes if isinstance(x, (ir.Load, ir.Store))]
        local = {a.name for a in self.local_arrays}
        for acc in accesses:
            if not isinstance(acc.array, ir.Var) or acc.array.name in local:
                return None
            if not all(self.sched.thread_pure(i, lambda name: name == s.var) for i in acc.indices):
                return None
        return accesses

    def comment(self, em, span, depth):
        text = source_comment(span)
        if text:
            em.emit(f"# {text}", depth)

    def items(self, items, em, depth):
        for it in items:
            if isinstance(it, P.Seg):
                self.segment(it.stmts, em, depth)
            elif isinstance(it, P.Coll):
                self.collective(it, em, depth)
            elif isinstance(it, (P.UIf, P.UFor, P.ULoop)) and not it.uniform and not it.block_level:
                self.region(it, em, depth)
            elif isinstance(it, P.UIf):
                self.comment(em, it.span, depth)
                self.uniform_seg(em, depth, it.cond, "if", it.span)
                em.emit("if _rkv:", depth)
                self.items(it.body, em, depth + 1) if it.body else em.emit("pass", depth + 1)
                if it.orelse:
                    em.emit("else:", depth)
                    self.items(it.orelse, em, depth + 1)
            elif isinstance(it, P.UFor):
                self.comment(em, it.span, depth)
                bounds = self.range_bounds(em, depth, it, self.uniform_seg)
                loop = f"_rkl{self.nseg}"
                em.emit(f"for {loop} in range({', '.join(bounds)}):", depth)
                if it.var in self.sched.block_scalars:
                    em.emit(f"{it.var} = {em.cast(self.f.locals[it.var], loop)}", depth + 1)
                else:
                    em.emit(f"_L_{it.var}[:] = {loop}", depth + 1)
                self.items(it.body, em, depth + 1)
            elif isinstance(it, P.ULoop):
                em.emit("while True:", depth)
                self.items(it.body, em, depth + 1)
            elif isinstance(it, P.UBreak):
                em.emit("break", depth)
            elif isinstance(it, P.UContinue):
                em.emit("continue", depth)

    def range_bounds(self, em, depth, it, check) -> list[str]:
        """A uniform for-loop's start, stop and step, each checked uniform by `check` (block or grid
        level), then kept in a variable of its own; returns the variables' names."""
        bounds = []
        for part in (it.start, it.stop, it.step):
            check(em, depth, part, "range() bound", it.span)
            v = f"_rkb{self.nseg}"
            self.nseg += 1  # (a bound of block scalars is checked without a segment)
            em.emit(f"{v} = _rkv", depth)
            bounds.append(v)
        return bounds

    def uniform_seg(self, em, depth, expr, what, span):
        """Evaluate `expr` on every live thread into _rku, check it agrees, leave it in _rkv; an
        expression of block scalars is evaluated once (it cannot disagree)."""
        if self.sched.block_pure(expr):
            em.emit(f"_rkv = {em.expr(expr)}", depth)
            return
        call = self.new_seg(lambda e: e.emit(f"_rku[_t] = {e.expr(expr)}", 1), extra=("_rku",))
        em.emit("_rku = np.zeros(_nt, np.int64)", depth)
        self.thread_loop(em, depth, call)
        where = source_comment(span) or self.f.name
        msg = (f"ringkernel: divergent {what} around a barrier or collective ({where}): the value differs "
               "between threads of one block; barriers inside control flow need block-uniform conditions")
        em.emit("_rkok, _rkv = _rt_uniform(_rku, _done)", depth)
        em.emit("if not _rkok:", depth)
        self.fail(em, depth + 1, msg)

    def collective(self, it: P.Coll, em, depth, mask=None, inside=None):
        call = it.call
        n = len(call.args)
        arg_names = [f"_rka{i}" for i in range(n)]
        for i, a in enumerate(call.args):
            em.emit(f"{arg_names[i]} = np.zeros(_nt, {em.tname(a.type)})", depth)

        def gather(e2):
            for i, a in enumerate(call.args):
                e2.emit(f"{arg_names[i]}[_t] = {e2.expr(a)}", 1)
            if not call.args:
                e2.emit("pass", 1)

        self.thread_loop(em, depth, self.new_seg(gather, extra=arg_names), mask)
        if mask is None:
            value = em.format_spelling(call, arg_names)
            em.emit("for _t in range(_nt):", depth)
            em.emit("if not _done[_t]:", depth + 1)
            em.emit(f"_L_{it.target}[_t] = {value}", depth + 2)
            return
        # inside a warp region: every lane the caller's mask names must be here too
        name = call.callee.name
        if name == "activemask":
            value = f"_rt.active_lanes({mask}, _done, _t, _nt)"
        else:
            value = em.format_spelling(call, arg_names)
            check = (f"_rt.warp_converged({arg_names[0]}, {mask}, _done, _nt)" if name.endswith("_sync")
                     else f"_rt.warp_converged_full({mask}, _done, _nt)")
            where = source_comment(it.span) or self.f.name
            around = f" inside {source_comment(inside)}" if source_comment(inside) else ""
            full = "its mask" if name.endswith("_sync") else "the full warp (this collective takes no mask)"
            msg = (f"ringkernel: divergent warp at {name}() ({where}){around}: a lane named in {full} "
                   "did not reach the call; a warp collective needs every lane its mask names, so the condition "
                   "around it must agree in those lanes (or pass the mask of the lanes that take the branch)")
            em.emit(f"if not {check}:", depth)
            self.fail(em, depth + 1, msg)
        em.emit("for _t in range(_nt):", depth)
        em.emit(f"if {mask}[_t] and not _done[_t]:", depth + 1)
        em.emit(f"_L_{it.target}[_t] = {value}", depth + 2)

    # ------------------------------------------------------------ warp regions
    def new_mask(self) -> str:
        name = f"_rkm{self.nmask}"
        self.nmask += 1
        return name

    def region(self, it, em, depth):
        """Control flow around warp collectives whose condition may differ between threads: run it
        under a per-thread active mask (see passes/fission.py)."""
        em.emit("# warp region: threads may take different paths; warp collectives check their lanes", depth)
        m = self.new_mask()
        em.emit(f"{m} = np.ones(_nt, np.bool_)", depth)
        self.masked([it], em, depth, m, None, it.span)

    def eval_masked(self, em, depth, expr, mask):
        """Evaluate `expr` on the live threads of `mask` into _rku (no agreement needed)."""
        call = self.new_seg(lambda e: e.emit(f"_rku[_t] = {e.expr(expr)}", 1), extra=("_rku",))
        em.emit("_rku = np.zeros(_nt, np.int64)", depth)
        self.thread_loop(em, depth, call, mask)

    def masked(self, items, em, depth, cur, loop, inside):
        """Items under active mask `cur`; loop = (mask of threads still in the innermost loop, the masks
        from that loop's body down to `cur`) for break/continue."""
        if not items:
            em.emit("pass", depth)
        for it in items:
            if isinstance(it, P.Seg):
                stmts = it.stmts
                self.thread_loop(em, depth, self.new_seg(lambda e, s=stmts: e.block(s, 1), stmts=stmts), cur)
            elif isinstance(it, P.Coll):
                self.collective(it, em, depth, cur, inside)
            elif isinstance(it, P.UIf):
                self.comment(em, it.span, depth)
                self.eval_masked(em, depth, it.cond, cur)
                then = self.new_mask()
                other = self.new_mask() if it.orelse else None
                em.emit(f"{then} = _rt.mask_where({cur}, _done, _rku, True)", depth)
                if other is not None:  # taken before the then-branch runs (it may return or break)
                    em.emit(f"{other} = _rt.mask_where({cur}, _done, _rku, False)", depth)
                for branch, m in ((it.body, then), (it.orelse, other)):
                    if not branch:
                        continue
                    em.emit(f"if _rt.any_live({m}, _done):", depth)
                    inner = None if loop is None else (loop[0], [*loop[1], m])
                    self.masked(branch, em, depth + 1, m, inner, it.span)
            elif isinstance(it, P.UFor):
                self.comment(em, it.span, depth)
                bounds = []
                for part in (it.start, it.stop, it.step):
                    self.eval_masked(em, depth, part, cur)
                    v = self.new_mask().replace("_rkm", "_rkq")
                    em.emit(f"{v} = _rku.copy()", depth)
                    bounds.append(v)
                counter, (_, stop, step) = bounds[0], bounds
                live, body = self.new_mask(), self.new_mask()
                em.emit(f"{live} = _rt.mask_live({cur}, _done)", depth)
                em.emit("while True:", depth)
                em.emit(f"_rt.range_keep({live}, _done, {counter}, {stop}, {step})", depth + 1)
                em.emit(f"if not _rt.any_live({live}, _done):", depth + 1)
                em.emit("break", depth + 2)
                em.emit(f"{body} = _rt.mask_live({live}, _done)", depth + 1)
                em.emit(f"_rt.set_where(_L_{it.var}, {counter}, {body})", depth + 1)
                self.masked(it.body, em, depth + 1, body, (live, [body]), it.span)
                em.emit(f"{counter} = {counter} + {step}", depth + 1)
            elif isinstance(it, P.ULoop):
                live, body = self.new_mask(), self.new_mask()
                em.emit(f"{live} = _rt.mask_live({cur}, _done)", depth)
                em.emit(f"while _rt.any_live({live}, _done):", depth)
                em.emit(f"{body} = _rt.mask_live({live}, _done)", depth + 1)
                self.masked(it.body, em, depth + 1, body, (live, [body]), it.span)
            elif isinstance(it, (P.UBreak, P.UContinue)):
                if loop is None:
                    raise CodegenError("break/continue in a warp region outside its loop (a ringkernel bug)", it.span)
                gone = self.new_mask()
                em.emit(f"{gone} = {cur}.copy()", depth)
                targets = [loop[0], *loop[1]] if isinstance(it, P.UBreak) else list(loop[1])
                for m in targets:
                    em.emit(f"_rt.mask_off({m}, {gone})", depth)
