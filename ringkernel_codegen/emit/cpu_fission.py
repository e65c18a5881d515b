"""A kernel after barrier fission: the launcher that runs its segments block by block, split at grid barriers."""
from __future__ import annotations

from ..passes import fission as F
from ..passes import fission_program as P
from ..passes.dynamic_shared import cpu_shape
from .common import source_comment
from .cpu_emitter import BAD, JIT, JIT_PARALLEL, CpuEmitter, blocks_independent, param_names, shared_allocs
from .cpu_segments import RT_UNIFORM, SegmentWriter


# Blocks are dealt round-robin to this many chunks, each with its own block state, run under prange:
# memory O(block x chunks), never O(grid). A constant, not numba's thread count: asking for that in
# the launcher (numba.get_num_threads) keeps numba from caching it.
CHUNKS = 64


class _FissionWriter(SegmentWriter):
    def __init__(self, f):
        fission = F.Fission(f)
        if F.nested_grid_sync(f):
            self.grid = fission.grid_program()   # grid barriers inside control flow
            self.parts = None
        else:
            self.grid = None
            self.parts = [fission.run(part) for part in F.grid_parts(f)]
        f.locals.update(fission.temps)
        # per-thread state outlives one block's loop when a grid barrier ends it
        per_grid = self.grid is not None or len(self.parts) > 1
        super().__init__(f, per_grid)
        self.per_grid = per_grid
        self.npart = 0

    # ------------------------------------------------------------ blocks and the grid
    def block_loop(self, em, depth):
        """`for _b in range(_nb):` and the block's views of the grid's state (grid barriers only)."""
        em.emit("for _b in range(_nb):", depth)
        em.emit("_bx = _b % _gdx", depth + 1)
        em.emit("_by = (_b // _gdx) % _gdy", depth + 1)
        em.emit("_bz = _b // (_gdx * _gdy)", depth + 1)
        em.emit("_done = _done_g[_b]", depth + 1)
        for n in self.scalars:
            em.emit(f"_L_{n} = _L_{n}_g[_b]", depth + 1)
        for a in self.local_arrays:
            em.emit(f"_A_{a.name} = _A_{a.name}_g[_b]", depth + 1)
        for a in self.shared:
            em.emit(f"{a} = {a}_g[_b]", depth + 1)

    def part(self, prog, em, depth, label):
        if label:
            em.emit(label, depth)
        self.block_loop(em, depth)
        if prog.items:
            self.items(prog.items, em, depth + 1)
        else:
            em.emit("pass", depth + 1)

    def grid_items(self, items, em, depth):
        if not items:
            em.emit("pass", depth)
        for it in items:
            if isinstance(it, P.Part):
                self.npart += 1
                self.part(it.program, em, depth, f"# part {self.npart} of {self.nparts}: every block reaches the "
                                                 "grid barrier first")
            elif isinstance(it, P.GSync):
                self.comment(em, it.span, depth)
            elif isinstance(it, P.GIf):
                self.comment(em, it.span, depth)
                self.grid_uniform(em, depth, it.cond, "if", it.span)
                em.emit("if _rkv:", depth)
                self.grid_items(it.body, em, depth + 1)
                if it.orelse:
                    em.emit("else:", depth)
                    self.grid_items(it.orelse, em, depth + 1)
            elif isinstance(it, P.GFor):
                self.comment(em, it.span, depth)
                bounds = self.range_bounds(em, depth, it, self.grid_uniform)
                loop = f"_rkl{self.nseg}"
                em.emit(f"for {loop} in range({', '.join(bounds)}):", depth)
                em.emit(f"_L_{it.var}_g[:, :] = {loop}", depth + 1)
                self.grid_items(it.body, em, depth + 1)
            elif isinstance(it, P.GLoop):
                self.comment(em, it.span, depth)
                em.emit("while True:", depth)
                self.grid_items(it.body, em, depth + 1)
            elif isinstance(it, P.UBreak):
                em.emit("break", depth)
            elif isinstance(it, P.UContinue):
                em.emit("continue", depth)

    def grid_uniform(self, em, depth, expr, what, span):
        """Evaluate `expr` in every live thread of every block, check they agree, leave it in _rkv."""
        call = self.new_seg(lambda e: e.emit(f"_rku[_t] = {e.expr(expr)}", 1), extra=("_rku",))
        em.emit("_rkg = np.zeros((_nb, _nt), np.int64)", depth)
        self.block_loop(em, depth)
        em.emit("_rku = _rkg[_b]", depth + 1)
        self.thread_loop(em, depth + 1, call)
        where = source_comment(span) or self.f.name
        msg = (f"ringkernel: divergent {what} around a grid barrier ({where}): the value differs between "
               "threads of the grid; grid barriers inside control flow need grid-uniform conditions")
        em.emit("_rkok, _rkv = _rt_uniform(_rkg.ravel(), _done_g.ravel())", depth)
        em.emit("if not _rkok:", depth)
        em.emit(f"raise RuntimeError({msg!r})", depth + 1)

    def lines(self):
        if not self.per_grid:
            return self.block_function_lines()
        return self.per_grid_lines()

    # ------------------------------------------------------------ no grid barrier: blocks in parallel
    def block_state(self, body):
        """(name, shape expression after the per-thread/per-block axis, dtype) of the state one
        block needs: done flags, scalar locals and local arrays per thread, shared arrays."""
        out = [("_done", "(_nt,)", "np.bool_")]
        out += [(f"_L_{n}", "(_nt,)", body.tname(self.f.locals[n])) for n in self.scalars]
        out += [(f"_A_{a.name}", f"(_nt,) + {a.shape!r}", body.tname(a.dtype)) for a in self.local_arrays]
        out += [(a.name, cpu_shape(a), body.tname(a.dtype)) for a in shared_allocs(self.f)]  # dynamic: the launch size
        return out

    def block_function_lines(self):
        """One block is `_rk_block` (its segments inlined); the launcher gives each worker thread
        its own block state, sized by the block (never the grid), and spreads the blocks over
        CHUNKS workers with prange when they are independent (blocks_independent). A failed run-time
        check returns its code from _rk_block; the launcher raises after the blocks."""
        self.block_function = True
        fn = self.emitter()
        state = self.block_state(fn)
        names = [n for n, _, _ in state]
        geometry = ["_gdx", "_gdy", "_gdz", "_bdx", "_bdy", "_bdz"]
        fn.emit(JIT, 0)  # one call per block
        bad = [BAD] if self.checks is not None else []
        block_args = ['_b', *geometry, '_nt', *bad, *names, *param_names(self.f)]
        fn.emit(f"def _rk_block({', '.join(block_args)}):", 0)
        fn.emit("_bx = _b % _gdx", 1)
        fn.emit("_by = (_b // _gdx) % _gdy", 1)
        fn.emit("_bz = _b // (_gdx * _gdy)", 1)
        for name, _, _ in state:  # what a fresh block sees (as the grid-sized zeros did)
            fn.emit(f"{name}[...] = 0", 1)
        fn.declare_locals(1, skip=set(self.f.locals) - self.sched.block_scalars)  # one value per block
        self.items(self.parts[0].items, fn, 1)
        fn.emit("return 0", 1)
        fn.lines.append("")
        parallel = blocks_independent(self.f)
        launch = CpuEmitter(self.f)
        head = ", ".join([*geometry, *param_names(self.f)])
        if self.checks is not None:  # the Python entry (emit/cpu_checked.py) raises after the workers
            self.checks.launch = ("fission", parallel, [*geometry, *param_names(self.f)])
            self.checks.failures = self.failures
            self.checks.block_args = block_args
            self.launcher(launch, "_rk_launch_serial", head + ", _rkerr", state, geometry, False)
            if parallel:
                self.launcher(launch, "_rk_launch_parallel", head + ", _rkerr", state, geometry, True)
            return RT_UNIFORM + self.segments + fn.lines + launch.lines
        self.launcher(launch, "_rk_launch_serial" if parallel else "_rk_launch", head, state, geometry, False)
        if parallel:
            self.launcher(launch, "_rk_launch_parallel", head, state, geometry, True)
            launch.emit(f"def _rk_launch({head}):", 0)
            launch.emit(f'"""Grids of fewer than {CHUNKS} blocks run serially: numba compiles a prange loop for '
                        'seconds, only big grids pay that (once: it is cached)."""', 1)
            launch.emit(f"if _gdx * _gdy * _gdz >= {CHUNKS}:", 1)
            launch.emit(f"return _rk_launch_parallel({head})", 2)
            launch.emit(f"return _rk_launch_serial({head})", 1)
        return RT_UNIFORM + self.segments + fn.lines + launch.lines

    def launcher(self, launch, name, head, state, geometry, parallel):
        """The njit function that runs every block through _rk_block (under prange: parallel)."""
        launch.emit(JIT_PARALLEL if parallel else JIT, 0)
        launch.emit(f"def {name}({head}):", 0)
        launch.emit("_nb = _gdx * _gdy * _gdz", 1)
        launch.emit("_nt = _bdx * _bdy * _bdz", 1)
        launch.emit(f"_nw = {f'min({CHUNKS}, _nb)' if parallel else '1'}", 1)
        for n, shape, dtype in state:
            launch.emit(f"{n}_w = np.zeros((_nw,) + {shape}, {dtype})", 1)
        if self.checks is None:
            launch.emit("_rkfail = np.zeros(_nw, np.int64)", 1)
        launch.emit(f"for _w in {'prange' if parallel else 'range'}(_nw):", 1)
        launch.emit("for _b in range(_w, _nb, _nw):", 2)
        bad = ["_rkerr[_w]"] if self.checks is not None else []
        args = ["_b", *geometry, "_nt", *bad, *[f"{n}_w[_w]" for n, _, _ in state], *param_names(self.f)]
        launch.emit(f"_rke = _rk_block{'_guarded' if bad else ''}({', '.join(args)})", 3)
        if self.checks is not None:  # the worker's record: the first failure of its lowest failed block
            launch.emit("if _rke > 0 and _rkerr[_w].what == 0:", 3)
            launch.emit("_rkerr[_w].what = _rke", 4)
            launch.emit("if _rkerr[_w].what != 0:", 3)
            launch.emit("_rkerr[_w].block = _b", 4)
            launch.emit("break", 4)
            launch.lines.append("")
            return
        launch.emit("if _rke != 0:", 3)
        launch.emit("_rkfail[_w] = _rke", 4)
        launch.emit("break", 4)
        if self.failures:
            launch.emit("for _w in range(_nw):", 1)
            for code, msg in enumerate(self.failures, 1):
                launch.emit(f"if _rkfail[_w] == {code}:", 2)
                launch.emit(f"raise RuntimeError({msg!r})", 3)
        launch.lines.append("")

    # ------------------------------------------------------------ grid barriers: the grid's state
    def per_grid_lines(self):
        """Per-block state lives in (blocks, ...) arrays so that a grid barrier can end one block
        loop and start the next; blocks run one after another (numba would not parallelise this
        loop: it allocates and calls segment functions)."""
        body = self.emitter()
        shared = shared_allocs(self.f)
        body.emit("@njit(nogil=True, error_model='numpy', cache=True)", 0)
        head = ['_gdx', '_gdy', '_gdz', '_bdx', '_bdy', '_bdz', *param_names(self.f)]
        if self.checks is not None:  # blocks in order; a failed check's IndexError reaches the Python entry
            self.checks.launch = ("grid", False, head)
            head = [*head, "_rkerr"]
        body.emit(f"def {'_rk_grid' if self.checks is not None else '_rk_launch'}({', '.join(head)}):", 0)
        if self.checks is not None:
            body.emit(f"{BAD} = _rkerr[0]", 1)
        body.emit("_nb = _gdx * _gdy * _gdz", 1)
        body.emit("_nt = _bdx * _bdy * _bdz", 1)
        body.emit("_done_g = np.zeros((_nb, _nt), np.bool_)", 1)
        for n in self.scalars:
            body.emit(f"_L_{n}_g = np.zeros((_nb, _nt), {body.tname(self.f.locals[n])})", 1)
        for a in self.local_arrays:
            body.emit(f"_A_{a.name}_g = np.zeros((_nb, _nt) + {a.shape!r}, {body.tname(a.dtype)})", 1)
        for a in shared:
            text = source_comment(a.span)
            if text:
                body.emit(f"# {text}", 1)
            body.emit(f"{a.name}_g = np.zeros((_nb,) + {cpu_shape(a)}, {body.tname(a.dtype)})", 1)
        if self.grid is not None:
            self.nparts = sum(isinstance(n, P.Part) for n in _grid_walk(self.grid))
            self.grid_items(self.grid, body, 1)
        for i, prog in enumerate(self.parts or []):
            label = None
            if len(self.parts) > 1:
                label = f"# part {i + 1} of {len(self.parts)}: every block reaches the grid barrier first"
            self.part(prog, body, 1, label)
        return RT_UNIFORM + self.segments + body.lines


def _grid_walk(items):
    for it in items:
        yield it
        for name in ("body", "orelse"):
            yield from _grid_walk(getattr(it, name, None) or [])


def fission_kernel(f) -> list:
    return _FissionWriter(f).lines()
