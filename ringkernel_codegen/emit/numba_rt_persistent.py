"""numba.cuda device helpers of the @persistent loop (emit/numba_persistent.py): the leader's
decisions at a step boundary, the same protocol as templates/persistent_runtime.cuh.

`ctrl` is the simulation's control block + mailbox (int64 words, mapped memory: a
threadfence_system() before each poll, DESIGN.md §6, and ldcv volatile loads), `sync` its
device-memory words (below), `fs`/`is_` the mapped scalar arrays and `sfs`/`sis` their device
copies, refreshed whenever the grid leaves the slow path.
"""
from __future__ import annotations

from numba import cuda

from ..abi.layout import CB
from ..abi.lifecycle import CMD_ACTIVATE, CMD_DEACTIVATE, CMD_TERMINATE, EXIT_TERMINATED, KernelState
from ..abi.persistent import CMD_BOUNDARY, MB
from ..abi.simulator import numba_simulator

SLOW, STEP, EXIT = 0, 1, 2
# sync words (device memory, zeroed at start)
S_DECISION, S_DECISION2, S_SEEN, S_PARKS = 0, 2, 3, 4      # decision[2] at 0 and 1
SYNC_WORDS = 5

_STATE, _CMD, _SEQ, _ACK, _EXIT = CB["state"], CB["command"], CB["command_seq"], CB["command_ack"], CB["exit_reason"]
_STEPS, _TARGET, _STOP_AT, _BOUNDARY_STEP, _PARKED = (MB["steps"], MB["target"], MB["stop_at"],
                                                      MB["boundary_step"], MB["parked"])
_ACTIVE, _PAUSED = int(KernelState.ACTIVE), int(KernelState.DRAINING)

_dev = cuda.jit(device=True)

if numba_simulator():          # the simulator has no ldcv; its arrays are plain numpy, never cached
    @_dev
    def ld(arr, i):
        return arr[i]
else:
    @_dev
    def ld(arr, i):
        """A volatile load (ld.volatile: not served from a stale L1 line)."""
        return cuda.ldcv(arr, i)


@_dev
def poll(ctrl, i):
    cuda.threadfence_system()
    return ld(ctrl, i)


@_dev
def publish(ctrl, i, v):
    cuda.threadfence_system()
    ctrl[i] = v


@_dev
def fast_decision(ctrl, sync, steps):
    """Between two steps, without waiting: STEP when nothing asks for attention."""
    if poll(ctrl, _SEQ) != sync[S_SEEN]:
        return SLOW
    stop_at = ld(ctrl, _STOP_AT)
    if stop_at >= 0 and steps >= stop_at:
        return SLOW
    if steps >= ld(ctrl, _TARGET):
        return SLOW
    if ld(ctrl, _STATE) != _ACTIVE:
        return SLOW
    return STEP


@_dev
def _park(ctrl, sync, steps):
    ctrl[_BOUNDARY_STEP] = steps
    sync[S_PARKS] += 1
    publish(ctrl, _PARKED, sync[S_PARKS])


@_dev
def wait_for_work(ctrl, sync, steps, fs, is_, sfs, sis):
    """With the grid stopped at a boundary: publish the step count, serve commands and scheduled
    boundaries (park until the host served them), idle while paused or out of steps."""
    publish(ctrl, _STEPS, steps)
    while True:
        seq = poll(ctrl, _SEQ)
        if seq != sync[S_SEEN]:
            cmd = ld(ctrl, _CMD)
            if cmd == CMD_TERMINATE:
                ctrl[_EXIT] = EXIT_TERMINATED
                publish(ctrl, _ACK, seq)
                return EXIT
            if cmd == CMD_BOUNDARY:                 # the host serves it, then acknowledges it
                _park(ctrl, sync, steps)
                while poll(ctrl, _ACK) < seq:
                    pass
                ctrl[_PARKED] = 0
                sync[S_SEEN] = seq
                continue
            sync[S_SEEN] = seq
            if cmd == CMD_DEACTIVATE:
                ctrl[_STATE] = _PAUSED
            elif cmd == CMD_ACTIVATE:
                ctrl[_STATE] = _ACTIVE
            publish(ctrl, _ACK, seq)
            continue
        stop_at = ld(ctrl, _STOP_AT)
        if stop_at >= 0 and steps >= stop_at:       # the host serves it, then moves stop_at
            _park(ctrl, sync, steps)
            while poll(ctrl, _STOP_AT) == stop_at:
                pass
            ctrl[_PARKED] = 0
            continue
        if ld(ctrl, _STATE) == _ACTIVE and steps < ld(ctrl, _TARGET):
            cuda.threadfence_system()
            for i in range(sfs.shape[0]):
                sfs[i] = ld(fs, i)
            for i in range(sis.shape[0]):
                sis[i] = ld(is_, i)
            cuda.threadfence()
            return STEP
