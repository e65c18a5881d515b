"""The numba backend's @persistent launch: the numba.cuda resident loop (emit/numba_persistent.py),
steered like the cuda backend's (cuda_persistent.py): control block + mailbox and scalars in
mapped memory, arrays in device memory, the host thread serving parked boundaries.

Under numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1) the kernel runs with one block on a thread
of its own (a simulated grid barrier cannot span blocks, which it runs one after another), one
simulated kernel at a time per process. On a GPU: one cooperative launch on its own stream (not run
yet: no GPU in the session that wrote it).
"""
from __future__ import annotations

import math
import threading

import numpy as np

from ringkernel_codegen.abi.simulator import numba_simulator
from ringkernel_codegen.emit.numba_rt_persistent import SYNC_WORDS
from ringkernel_codegen.launch import is_device_array
from ringkernel_codegen.loader import load_source

from ..errors import LaunchError
from ..lifecycle import EXIT_TERMINATED
from ..simulation import Simulation



class NumbaSimulation(Simulation):
    def __init__(self, kernel, geometry, args):
        for p, a in zip(kernel.params, args):
            if is_device_array(a):
                raise LaunchError(f"argument '{p.name}' is a GPU array; a persistent simulation on numba takes numpy "
                                  "arrays for now (it copies them to device memory once at start)")
        super().__init__(kernel, geometry, args)
        self._sim = numba_simulator()

    def _mapped(self, values: np.ndarray):
        from numba import cuda

        arr = cuda.mapped_array(values.shape, dtype=values.dtype)
        host = arr._ary if self._sim else np.asarray(arr)
        host[...] = values
        return arr, host

    def _prepare(self) -> None:
        from numba import cuda

        k = self.kernel
        module = load_source(k.numba_source(), f"{k.name}_persistent_numba")
        self._fn = getattr(module, f"{k._f.name}_persistent")
        self._ctrl_arg, self.ctrl = self._mapped(self.ctrl)
        self._fs_arg, self.fs = self._mapped(self.fs)
        self._is_arg, self.is_ = self._mapped(self.is_)
        self._device = [cuda.to_device(b) for b in self.buffers]
        self._args = [self._ctrl_arg, cuda.to_device(np.zeros(SYNC_WORDS, np.int64)), self._fs_arg, self._is_arg,
                      cuda.to_device(np.zeros_like(self.fs)), cuda.to_device(np.zeros_like(self.is_)), *self._device]
        if k.stencil_form:
            self._grid = (1, 1, 1) if self._sim else (min(math.prod(self.grid), self._cooperative_limit()), 1, 1)
        else:
            if self._sim and math.prod(self.grid) > 1:
                raise LaunchError(f"persistent kernel '{k.name}' on numba's CUDA simulator runs one block (its grid "
                                  f"barrier cannot span blocks run one after another); got grid {self.grid}")
            self._grid = self.grid

    def _cooperative_limit(self) -> int:
        compiled = self._fn.specialize(*self._args)
        overload = next(iter(compiled.overloads.values()))
        return int(overload.max_cooperative_grid_blocks(math.prod(self.block)))

    def start(self) -> "NumbaSimulation":
        from .numba_actor import _SIM_ONE, _sim_running

        self._prepare()
        self._error: BaseException | None = None
        if self._sim and not _sim_running.acquire(blocking=False):
            raise LaunchError(_SIM_ONE)
        fn, grid, block, args = self._fn, self._grid, self.block, self._args

        def run():
            try:
                if self._sim:
                    fn[grid, block](*args)
                else:
                    from numba import cuda
                    stream = cuda.stream()
                    fn[grid, block, stream](*args)
                    stream.synchronize()
            except BaseException as exc:  # noqa: BLE001 - reported by _loop on the simulation thread
                self._error = exc
            finally:
                if self._sim:
                    _sim_running.release()

        self._launcher = threading.Thread(target=run, name=f"ringkernel-sim-launch-{self.kernel.name}", daemon=True)
        self._launcher.start()
        self._thread = threading.Thread(target=self._main, name=f"ringkernel-sim-{self.kernel.name}", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> int:
        """Until the kernel parks at a new boundary (EXIT_BOUNDARY) or returns (EXIT_TERMINATED)."""
        code = self._wait_parked(lambda: not self._launcher.is_alive())
        if code == EXIT_TERMINATED and self._error is not None:
            raise self._error
        return code

    def _host_copy(self, j: int) -> np.ndarray:
        if self._sim:
            return np.array(self._device[j]._ary, copy=True)
        from numba import cuda
        stream = cuda.stream()
        out = self._device[j].copy_to_host(stream=stream)
        stream.synchronize()
        return out

    def _inject(self, j: int, index, value) -> None:
        host = self._host_copy(j)
        host[index] = value
        if self._sim:
            self._device[j]._ary[...] = host
            return
        from numba import cuda
        stream = cuda.stream()
        self._device[j].copy_to_device(host, stream=stream)
        stream.synchronize()


def start_persistent(kernel, geometry, args) -> NumbaSimulation:
    return NumbaSimulation(kernel, geometry, args).start()


__all__ = ["NumbaSimulation", "start_persistent"]
