"""CPU runtime helpers (cpu_rt): the bounds-checked mode's index check and its error records.

A checked launch runs its blocks in parallel like an unchecked one, but numba loses an exception
that leaves a prange worker. So each worker owns an error record (one element of a RECORD array)
and runs its blocks inside a try (the `_guarded` functions of emit/cpu_checked.py): a bad index
writes the record, then raises to that try, which ends the worker's run at once (nothing after the
bad access runs, as in a serial launch). `what` is 0 (no error), -1 (an index out of bounds:
`check` is the access's code in the kernel's table of (site, array, axis), emitted beside it as
_RK_CHECKS, with `index` and `extent`) or k > 0 (run-time check k of a fission kernel failed,
_RK_FAILURES[k - 1]); `block` is the block (stencils: the outermost cell index) the worker was
running. The launcher's Python entry raises after the workers are done (raise_first). A record, not
an int64 row: numba passes a record by reference without reference counting, where an array
argument of the inlined check costs an NRT incref/decref pair per access (9x on a 1-D stencil)."""
from __future__ import annotations

import numba
import numpy as np

# padded to 128 bytes: workers on different cores write their own (`block`, once per block) without
# sharing a cache line (false sharing made a 2-thread checked saxpy slower than a 1-thread one)
RECORD = np.dtype([("what", np.int64), ("check", np.int64), ("index", np.int64), ("extent", np.int64),
                   ("block", np.int64), ("pad", np.int64, (11,))])
BOUNDS = -1
UNEXPECTED = -2  # a worker's try caught an exception that no check raised (none of the sources raises one)


@numba.njit(error_model="numpy", cache=False, inline="always")
def bounds(i, extent, check, bad):
    """Index `i` checked against its axis' `extent` (.to("cpu", boundscheck=True)); out of bounds,
    the worker's record `bad` takes it (check: the access's code) and the worker stops."""
    if np.uint64(i) >= np.uint64(extent):  # one compare: a negative i is a huge unsigned one
        _record(i, extent, check, bad)
        raise IndexError("ringkernel-bounds")  # caught by the worker's _guarded function
    return np.uint64(i)


@numba.njit(error_model="numpy", cache=False)
def _record(i, extent, check, bad):
    """The cold path of `bounds` (a call, not inlined: the hot path stays a compare and a branch)."""
    if bad.what == 0:
        bad.what = BOUNDS
        bad.check = check
        bad.index = np.int64(i)
        bad.extent = np.int64(extent)


@numba.njit(error_model="numpy", cache=False, inline="always")
def chunk_start(start, stop, w, nw):
    """Where chunk `w` of `nw` contiguous chunks of range(start, stop) starts (chunk `nw`: stop)."""
    return start + (stop - start) * w // nw


def error_records(workers: int) -> np.ndarray:
    """One zeroed error record per worker."""
    return np.zeros(workers, RECORD)


def elements(a) -> int:
    """How many elements an argument has (0 for a scalar): a checked stencil's size."""
    return a.size if isinstance(a, np.ndarray) else 0


def raise_first(records: np.ndarray, checks: tuple, failures: tuple) -> None:
    """Raise the failure of the lowest failed block: an out-of-bounds index as
    IndexError("ringkernel-bounds", site, array, axis, index, extent), which KernelBase._run reports
    as a KernelRuntimeError; a failed fission check as RuntimeError("ringkernel: ...").
    Several failed blocks ran in parallel: the lowest one is reported whatever the order they ran in
    (a serial run reports the same one, it reaches that block first)."""
    failed = np.nonzero(records["what"])[0]
    if failed.size == 0:
        return
    rec = records[failed[np.argmin(records["block"][failed])]]
    if rec["what"] == BOUNDS:
        site, array, axis = checks[rec["check"]]
        raise IndexError("ringkernel-bounds", site, array, axis, int(rec["index"]), int(rec["extent"]))
    if rec["what"] == UNEXPECTED:
        raise RuntimeError(f"ringkernel: block {rec['block']} raised an exception in the bounds-checked launch that "
                           "is not a bounds check's (a ringkernel bug; please report it): run it unchecked to see it")
    raise RuntimeError(failures[rec["what"] - 1])
