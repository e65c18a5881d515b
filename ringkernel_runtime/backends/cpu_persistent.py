"""The cpu backend's @persistent loop: the step loop in njit on a thread of its own.

`step_loop` runs whole steps while `steps < target`, reading the control block and mailbox
(ringkernel_codegen.abi.persistent) only between two steps: pause (CMD_DEACTIVATE), resume
(CMD_ACTIVATE) and terminate are acknowledged there; CMD_BOUNDARY and a scheduled `stop_at` make
it return to its Python thread, which serves the boundary (read, inject, set: simulation.py) with
the step loop stopped, then enters the loop again. So every host action sees or changes whole steps.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit

from ringkernel_codegen.abi.persistent import CMD_BOUNDARY, EXIT_BOUNDARY, MB

from ..atomics import load_acquire, now_ns, store_release
from ..layout import CB
from ..lifecycle import CMD_ACTIVATE, CMD_DEACTIVATE, CMD_TERMINATE, EXIT_TERMINATED, KernelState
from ..queues import backoff
from ..simulation import Simulation

_STATE, _CMD, _SEQ, _ACK = CB["state"], CB["command"], CB["command_seq"], CB["command_ack"]
_HEARTBEAT, _EXIT = CB["heartbeat_ns"], CB["exit_reason"]
_STEPS, _TARGET, _STOP_AT, _BOUNDARY_STEP = MB["steps"], MB["target"], MB["stop_at"], MB["boundary_step"]
_PARKED = MB["parked"]
_ACTIVE, _PAUSED = int(KernelState.ACTIVE), int(KernelState.DRAINING)


@njit(nogil=True)
def step_loop(step, ctrl, bufs, fs, is_, geo):
    """Run steps until terminate (returns EXIT_TERMINATED) or a boundary the host must serve
    (returns EXIT_BOUNDARY with the command, if any, left unacknowledged for the host)."""
    seen = ctrl[_ACK]
    ctrl[_PARKED] = 0
    idle = 0
    while True:
        ctrl[_HEARTBEAT] = now_ns()
        seq = load_acquire(ctrl, _SEQ)
        steps = ctrl[_STEPS]
        if seq != seen:
            cmd = load_acquire(ctrl, _CMD)
            if cmd == CMD_TERMINATE:
                ctrl[_EXIT] = EXIT_TERMINATED
                store_release(ctrl, _ACK, seq)
                return EXIT_TERMINATED
            if cmd == CMD_BOUNDARY:
                ctrl[_BOUNDARY_STEP] = steps
                ctrl[_PARKED] = 1
                return EXIT_BOUNDARY
            seen = seq
            if cmd == CMD_DEACTIVATE:
                ctrl[_STATE] = _PAUSED
            elif cmd == CMD_ACTIVATE:
                ctrl[_STATE] = _ACTIVE
            store_release(ctrl, _ACK, seq)
        stop_at = load_acquire(ctrl, _STOP_AT)
        if stop_at >= 0 and steps >= stop_at:
            ctrl[_BOUNDARY_STEP] = steps
            ctrl[_PARKED] = 1
            return EXIT_BOUNDARY
        if ctrl[_STATE] != _ACTIVE or steps >= load_acquire(ctrl, _TARGET):
            idle += 1
            backoff(idle)
            continue
        idle = 0
        step(bufs, fs, is_, geo, steps & 1)
        store_release(ctrl, _STEPS, steps + 1)


class CpuSimulation(Simulation):
    """A Simulation whose loop is `step_loop` on a Python thread (GIL released while it steps)."""

    def _prepare(self) -> None:
        from ringkernel_codegen.loader import load_source

        k = self.kernel
        self._step = k.entry("cpu-persistent", lambda: load_source(k.cpu_source(), f"{k.name}_persistent_cpu")._rk_step)
        self._geo = np.array([*self.grid, *self.block], dtype=np.int64)
        self._bufs = tuple(self.buffers)
        sig = tuple(numba.typeof(a) for a in (self._bufs, self.fs, self.is_, self._geo)) + (numba.int64,)
        self._step.compile(sig)            # compile errors surface in start(), on the caller's thread
        step_loop.compile((numba.typeof(self._step), numba.typeof(self.ctrl), *sig[:-1]))

    def _loop(self) -> int:
        return step_loop(self._step, self.ctrl, self._bufs, self.fs, self.is_, self._geo)


def start_persistent(kernel, geometry, args) -> CpuSimulation:
    return CpuSimulation(kernel, geometry, args).start()


__all__ = ["CpuSimulation", "start_persistent", "step_loop"]
