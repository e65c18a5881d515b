"""The CPU emitter's bounds-checked mode (backends.CPU.bounds_checked): the same njit source as
emit/cpu.py, with every array index checked against its extent by `_rt.bounds`
(emit/cpu_rt_launch.py), run in parallel where the unchecked launch is (grids under CHUNKS blocks
and stencils under PARALLEL_CELLS elements in one call, which spares the prange compile).

No exception leaves a prange worker (numba loses it): a bad index is written to its worker's error
record, then raises to the worker's try (`*_guarded`), which ends that worker's run on the spot, as
a serial launch ends (the bad access itself never happens). Plain kernels and stencils deal their
blocks (rows) to workers in contiguous runs, fission kernels round-robin (emit/cpu_fission.py); each
worker goes in order and stops at its first failure. `_rk_launch`, a Python function here, then
raises the failure of the lowest failed block as IndexError("ringkernel-bounds", site, array, axis,
index, extent), which KernelBase._run reports as a KernelRuntimeError naming the kernel's file:line,
the array, the index and the extent: when several blocks fail, the report is the same whichever
worker finishes first, and it is the one a serial run gives (within a block threads run in order).
Sites and array names are numbered in the emitted source (_RK_CHECKS, the table beside the kernel),
so the record is numeric. Kernels with grid barriers run their blocks in one call, as unchecked.
Plain kernels whose indices read no memory probe each block first and run it unchecked when every
index is inside (emit/cpu_checked_fast.py): a loop of checked accesses does not vectorise."""
from __future__ import annotations

from . import cpu, cpu_checked_fast
from .cpu_emitter import BAD, INLINE_MAX_ARGS, JIT, checking
from .cpu_fission import CHUNKS

PARALLEL = "@njit(nogil=True, error_model='numpy', cache=True, parallel=True)"
# a checked stencil spreads its rows over the cores when its largest array has this many elements;
# smaller ones run in one call (numba compiles a prange loop for seconds: small launches, such as
# the test suite's, never pay that)
PARALLEL_CELLS = 1 << 16
# prange's index is unsigned: a block number computed from it would be too (uint64 % int64 is a float
# in numba, which made the parallel blocks 3x slower than the serial ones), so workers are int64
WORKER = "_w = np.int64(_wp)"


def emit_kernel(f) -> str:
    with checking() as checks:
        src = cpu.emit_kernel(f)
        fast = checks.launch[0] == "blocks" and cpu_checked_fast.eligible(f)
        return src + entry(checks, cpu_checked_fast.fast_lines(f, checks.launch[2]) if fast else None)


def emit_stencil(f) -> str:
    with checking() as checks:
        return cpu.emit_stencil(f) + entry(checks)


def guarded(name: str, args: list) -> list:
    """`name(*args)` inside a try: a failed check's IndexError ends the worker's run there, never
    leaves a prange worker; `what` stays 0 only for an exception that is not a check's (none of the
    njit sources raises another: marked UNEXPECTED so it is not lost)."""
    call = f"{name}({', '.join(args)})"
    out, pack = [], []
    if len(args) > INLINE_MAX_ARGS:
        # numba cannot type a call of more than 30 arguments, nor such a tuple (CPython builds both from a
        # list) inside a try: the tuple is built before it, and unpacked by a function of its own
        out = [JIT, f"def {name}_unpacked(_rka):", f"    return {name}(*_rka)", ""]
        pack = [f"    _rka = ({', '.join(args)},)"]
        call = f"{name}_unpacked(_rka)"
    rec = "_rkerr[_w]" if "_w" in args else BAD
    returns = name == "_rk_block"  # a fission block's code (0, or a failed check's)
    return out + [JIT, f"def {name}_guarded({', '.join(args)}):", *pack, *(["    _rke = -1"] if returns else []),
                  "    try:", f"        {'_rke = ' if returns else ''}{call}",
                  "    except Exception:",
                  f"        if {rec}.what == 0:",
                  f"            {rec}.what = _rt.UNEXPECTED",
                  *(["    return _rke"] if returns else []), ""]


def entry(checks, fast: list | None = None) -> str:
    """The table of checked accesses, the guarded and parallel drivers over the workers, and `_rk_launch`."""
    kind, parallel, head = checks.launch
    args = ", ".join(head)
    geometry, params = (head[:6], head[6:]) if kind != "rows" else ([], head)
    out = ["", "# the checked accesses (site, array, axis), by the code _rt.bounds records",
           f"_RK_CHECKS = {tuple(checks.sites)!r}", f"_RK_FAILURES = {tuple(checks.failures)!r}", ""]
    if kind == "blocks":
        blocks = "_rk_blocks_fast" if fast else "_rk_blocks"  # fast: see emit/cpu_checked_fast.py
        out += [*(fast or []), *guarded(blocks, ["_b0", "_b1", "_rkerr", "_w", *head])]
        serial, driver = f"{blocks}_guarded(0, {' * '.join(geometry[:3])}, _rkerr, 0, {args})", "_rk_blocks_parallel"
        if parallel:
            out += [PARALLEL, f"def _rk_blocks_parallel(_rkerr, {args}):",
                    "    _nb = _gdx * _gdy * _gdz",
                    "    _nw = _rkerr.shape[0]",
                    "    for _wp in prange(_nw):  # contiguous runs of blocks, each worker in order",
                    f"        {WORKER}",
                    f"        {blocks}_guarded(_rt.chunk_start(0, _nb, _w, _nw), _rt.chunk_start(0, _nb, _w + 1, _nw), "
                    f"_rkerr, _w, {args})", ""]
    elif kind == "rows":
        out += guarded("_rk_rows", ["_w", "_nw", "_rkerr", *head])
        serial, driver = f"_rk_rows_guarded(0, 1, _rkerr, {args})", "_rk_rows_parallel"
        out += [PARALLEL, f"def _rk_rows_parallel(_rkerr, {args}):",
                "    _nw = _rkerr.shape[0]",
                "    for _wp in prange(_nw):",
                f"        {WORKER}",
                f"        _rk_rows_guarded(_w, _nw, _rkerr, {args})", ""]
    elif kind == "fission":  # the launchers call _rk_block_guarded, one block at a time
        out += guarded("_rk_block", checks.block_args)
        serial, driver = f"_rk_launch_serial({args}, _rkerr)", "_rk_launch_parallel"
    else:  # grid barriers: blocks run in order in one call, whose divergence checks raise RuntimeErrors
        serial, driver = None, None
    out += [f"def _rk_launch({args}):",
            '    """The blocks (in parallel where the unchecked launch is), then the lowest failed block\'s failure."""',
            f"    _rkerr = _rt.error_records({CHUNKS if parallel and driver else 1})"]
    if serial is None:  # a failed check's IndexError comes back to Python (no prange to lose it in)
        out += ["    try:", f"        _rk_grid({args}, _rkerr)", "    except IndexError as exc:",
                "        if exc.args != ('ringkernel-bounds',):", "            raise"]
    elif not parallel or driver is None:
        out.append(f"    {serial}")
    else:
        if kind == "rows":
            out.append(f"    if max(_rt.elements(a) for a in ({args},)) >= {PARALLEL_CELLS}:")
        else:  # as the unchecked fission launcher: grids under CHUNKS blocks run in one call
            out.append(f"    if {' * '.join(geometry[:3])} >= {CHUNKS}:")
        out += [f"        {driver}({'_rkerr, ' + args if kind != 'fission' else args + ', _rkerr'})", "    else:",
                f"        {serial}"]
    out += ["    _rt.raise_first(_rkerr, _RK_CHECKS, _RK_FAILURES)", ""]
    return "\n".join(out)
