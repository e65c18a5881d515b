"""A grid-stride map on the CPU: a kernel without barriers whose work is one grid-stride loop
(`for i in range(global_id(), n, grid_dim_x() * block_dim_x()): y[i] = ...`) runs as
`for k: for block: for thread:` over the whole grid.

Run block by block (emit/cpu_segments.py), iteration k of one block touches 1 KB of every
256 KB of the arrays: every access misses the caches and the TLB. Over the grid, iteration k
covers one contiguous stretch, as it does on a GPU where all blocks run at once: this order streams
through memory. It is a legal CUDA schedule because nothing orders the threads of a kernel without
barriers, and it needs no per-thread storage because nothing carries from one iteration to the
next: the loop's locals are assigned before they are read in every iteration and are not read after
the loop, and everything else the threads compute is recomputed (thread-index locals, block
scalars; emit/cpu_schedule.py). A thread's iterations stay in order on one worker (an iteration may
read what the same thread wrote in its previous one): the serial launcher runs the whole grid
k-major; the prange one (when the blocks are independent, blocks_independent; emit/cpu.py decides)
gives each of numba's workers one contiguous run of whole blocks, k-major.
"""
from __future__ import annotations

from ..ir import nodes as ir
from .common import source_comment
from .cpu_emitter import BAD, JIT, JIT_PARALLEL, CpuEmitter, param_names
from .cpu_schedule import Schedule



def _refs(stmts, name) -> bool:
    return any(isinstance(n, ir.Var) and n.name == name for n in ir.walk(stmts))


def _private(loop: ir.For, sched: Schedule, f: ir.Function) -> bool:
    """Is every local of the loop body assigned before it is read in each iteration, and unread
    outside the loop?"""
    outside = [s for s in f.body if s is not loop]
    plain = {*sched.remat, *sched.block_scalars, loop.var}
    names = {n.name for n in ir.walk(loop.body) if isinstance(n, ir.Var) and n.name in f.locals and n.name not in plain}
    names |= {n.target for n in ir.walk(loop.body) if isinstance(n, ir.Assign)}
    names |= {n.var for n in ir.walk(loop.body) if isinstance(n, ir.For)}
    for name in names:
        if name in plain or _refs(outside, name):
            return False
        first = next((s for s in loop.body if _refs([s], name) or
                      isinstance(s, ir.Assign) and s.target == name or isinstance(s, ir.For) and s.var == name), None)
        if isinstance(first, ir.Assign) and first.target == name and not _refs([first.value], name):
            continue  # assigned at the top of the iteration before any read
        if isinstance(first, ir.For) and first.var == name and not _refs(
                [s for s in loop.body if s is not first], name) and not _refs([first.start, first.stop, first.step], name):
            continue  # a nested loop's own counter, read only inside it
        return False
    return True


def grid_map_loop(f: ir.Function):
    """The kernel's grid-stride loop when the kernel is a grid-stride map (see the module doc), else None."""
    if any(isinstance(n, (ir.Return, ir.Alloc, ir.Unpack)) for n in ir.walk(f.body)):
        return None
    sched = Schedule(f)
    loops = [s for s in f.body if isinstance(s, ir.For)]
    if len(loops) != 1 or not sched.grid_stride(loops[0]):
        return None
    for s in f.body:
        if s is not loops[0] and not (isinstance(s, ir.Assign) and (s.target in sched.remat or
                                                                    s.target in sched.block_scalars)):
            return None  # anything but recomputable values around the loop
    return (loops[0], sched) if _private(loops[0], sched, f) else None


def emit_grid_map(em: CpuEmitter, loop: ir.For, sched: Schedule, name: str, parallel: bool):
    """The launcher `name` (under prange: parallel; only when blocks_independent) into `em`."""
    f = em.f
    prelude = [s for s in f.body[:f.body.index(loop)] if s.target in sched.block_scalars]
    remat = list(sched.remat.values())
    zero = zero_step(loop, f)
    fixed = sched.block_pure(loop.stop) and sched.block_pure(loop.step)

    def block(depth, b="_b"):
        em.emit(f"_bx = {b} % _gdx", depth)
        em.emit(f"_by = ({b} // _gdx) % _gdy", depth)
        em.emit(f"_bz = {b} // (_gdx * _gdy)", depth)
        em.declare_locals(depth, skip=set(f.locals) - sched.block_scalars)
        em.block(prelude, depth) if prelude else None

    def threads(depth):
        em.emit("for _tz in range(_bdz):", depth)
        em.emit("for _ty in range(_bdy):", depth + 1)
        em.emit("for _tx in range(_bdx):", depth + 2)
        em.declare_locals(depth + 3, skip=sched.block_scalars)
        for s in remat:
            em.s_Assign(s, depth + 3)
        return depth + 3

    em.emit(JIT_PARALLEL if parallel else JIT, 0)
    head = ['_gdx', '_gdy', '_gdz', '_bdx', '_bdy', '_bdz', *param_names(f)]
    if em.checked:  # bounds-checked: the Python entry catches a failed check (emit/cpu_checked.py, "grid")
        em.checks.launch = ("grid", False, head)
        head = [*head, "_rkerr"]
    em.emit(f"def {name}({', '.join([*head, *(['_nw'] if parallel else [])])}):", 0)
    em.emit('"""A grid-stride map (emit/cpu_gridmap.py): first the longest thread range, then `for k: for '
            'block: for thread:`."""', 1)
    if em.checked:
        em.emit(f"{BAD} = _rkerr[0]", 1)
    probe = hasattr(em, "tainted")  # cpu_checked_fast.ProbeEmitter: the body only compares indices
    if probe:
        em.emit("_rkok = True", 1)
    em.emit("_nb = _gdx * _gdy * _gdz", 1)
    em.emit("_rkn = 0", 1)
    em.emit("for _b in range(_nb):", 1)
    block(2)
    if fixed:
        em.emit(f"_rkc = {em.expr(loop.step)}", 2)
        em.emit("if _rkc == 0:", 2)
        em.emit(f"raise RuntimeError({zero!r})", 3)
        em.emit("_rklo = np.int64(np.iinfo(np.int64).max)", 2)
        em.emit("_rkhi = np.int64(np.iinfo(np.int64).min)", 2)
        d = threads(2)
        em.emit(f"_rka = np.int64({em.expr(loop.start)})", d)
        em.emit("_rklo = min(_rklo, _rka)", d)
        em.emit("_rkhi = max(_rkhi, _rka)", d)
        em.emit("if _rklo <= _rkhi:", 2)
        em.emit(f"_rkn = max(_rkn, _rt.trip_count(_rklo if _rkc > 0 else _rkhi, {em.expr(loop.stop)}, _rkc))", 3)
    else:
        d = threads(2)
        em.emit(f"_rkc = {em.expr(loop.step)}", d)
        em.emit("if _rkc == 0:", d)
        em.emit(f"raise RuntimeError({zero!r})", d + 1)
        em.emit(f"_rkn = max(_rkn, _rt.trip_count({em.expr(loop.start)}, {em.expr(loop.stop)}, _rkc))", d)
    # each worker owns whole blocks (a thread's iterations run in order, on one worker: an iteration
    # may read what the thread's previous one wrote), a contiguous run of them, k-major
    em.emit(f"_nch = {'max(min(_nb, _nw), 1)' if parallel else '1'}", 1)  # one run per worker: long k-major streams
    em.emit(f"for _cu in {'prange' if parallel else 'range'}(_nch):", 1)
    em.emit("_c = np.int64(_cu)", 2)  # prange's index may be unsigned: uint64 * int64 is a float in numba
    em.emit("for _rkk in range(_rkn):", 2)
    em.emit("for _rkb in range(_c * _nb // _nch, (_c + 1) * _nb // _nch):", 3)
    block(4, "_rkb")
    d = threads(4)
    iteration(em, loop, "_rkk", em.expr(loop.start), em.expr(loop.stop), em.expr(loop.step), d)
    em.block(loop.body, d)
    if probe:
        em.emit("return _rkok", 1)
    em.lines.append("")


def zero_step(loop: ir.For, f: ir.Function) -> str:
    """The failure of an interchanged loop whose range() step is zero (on a GPU it never ends)."""
    where = source_comment(loop.span) or f.name
    return f"ringkernel: range() step is zero ({where}): the loop would never end on a GPU"


def iteration(em, loop: ir.For, k: str, start: str, stop: str, step: str, depth: int):
    """Iteration `k` of an interchanged loop in one thread: its loop variable, or `continue` to the
    next thread when this thread's range(start, stop, step) is over."""
    em.emit(f"_rkj = np.int64({start}) + {k} * np.int64({step})", depth)
    em.emit(f"if (_rkj >= {stop}) if {step} > 0 else (_rkj <= {stop}):", depth)
    em.emit("continue", depth + 1)  # this thread's range is over
    em.emit(f"{loop.var} = {em.cast(em.f.locals[loop.var], '_rkj')}", depth)
