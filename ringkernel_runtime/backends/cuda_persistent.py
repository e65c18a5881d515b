"""The cuda backend's @persistent launch: one cooperative launch of resident blocks (templates/
persistent.cu.j2), steered through mapped memory.

The simulation's control block + mailbox and its scalar arrays live in mapped pinned memory
(cuda_driver.MappedBuffer), its arrays in device memory. The kernel never returns between steps:
at a boundary the host must serve (read, inject, set) its leader *parks* (mailbox `parked` =
1 + steps) with the whole grid stopped behind a barrier; this host thread sees it, copies
to / from device memory on its own stream while the kernel waits, then acknowledges (CMD_BOUNDARY)
or moves `stop_at`. The launch is refused up front, with the numbers, when its blocks cannot all
be resident (a grid barrier over blocks that never run would deadlock): the cooperative launch's
occupancy check (cuda_launch.Kernel) and the residency ledger beside running actors
(cuda_resident.launch_resident).

Needs a GPU; covered by the gpu tests of tests/test_persistent_gpu.py (not run without one).
"""
from __future__ import annotations

import math

import numpy as np

from ringkernel_codegen.abi.persistent import WORDS
from ringkernel_codegen.launch import is_device_array

from ..errors import LaunchError
from ..simulation import Simulation

SYNC_WORDS = 8          # rk_persistent_sync: decision[2], decision2, end, cut, beat_at, pad[2]


class CudaSimulation(Simulation):
    def __init__(self, kernel, geometry, args):
        for p, a in zip(kernel.params, args):
            if is_device_array(a):
                raise LaunchError(f"argument '{p.name}' is a GPU array; a persistent simulation on cuda takes numpy "
                                  "arrays for now (it copies them to device memory once at start)")
        super().__init__(kernel, geometry, args)

    def _blocks(self, fn, threads: int) -> int:
        k = self.kernel
        limit = fn.max_cooperative_blocks(self.block)
        if not k.stencil_form:
            return math.prod(self.grid)                       # the user's grid (checked by the launch)
        tiles = math.prod(self.grid)
        blocks = min(tiles, limit)
        if k.cluster is not None:
            size = math.prod(k.cluster)
            blocks = max(size, blocks // size * size)
        return blocks

    def _prepare(self) -> None:
        from . import cuda as C
        from .cuda_driver import DeviceArray, MappedBuffer, Stream

        k = self.kernel
        self._fn = C.get_kernel(k.cuda_source(), f"{k._f.name}_persistent")
        threads = math.prod(self.block)
        blocks = self._blocks(self._fn, threads)
        self._launch_grid = (blocks, 1, 1) if k.stencil_form else self.grid
        nfl, nint = len(self.fs), len(self.is_)
        self._mapped = MappedBuffer(WORDS * 8 + 8 * (nfl + nint))
        ctrl = self._mapped.array((WORDS,), np.int64)
        ctrl[:] = self.ctrl
        fs = self._mapped.array((nfl,), np.float64, WORDS * 8)
        fs[:] = self.fs
        is_ = self._mapped.array((nint,), np.int64, WORDS * 8 + 8 * nfl)
        is_[:] = self.is_
        self.ctrl, self.fs, self.is_ = ctrl, fs, is_
        clusters = blocks // math.prod(k.cluster) if k.cluster is not None else 1
        sync_bytes = 8 * (SYNC_WORDS + nfl + nint + clusters)
        self._sync = DeviceArray((sync_bytes // 8,), np.int64)
        self._sync.copy_from_host(np.zeros(sync_bytes // 8, np.int64))
        self._device = [DeviceArray.from_host(b) for b in self.buffers]
        self._copy_stream = Stream()
        params = [("ptr", self._mapped.device_ptr), ("ptr", self._sync.ptr),
                  ("ptr", self._mapped.device_ptr + WORDS * 8), ("ptr", self._mapped.device_ptr + WORDS * 8 + 8 * nfl)]
        for d in self._device:
            params.append(("ptr", d.ptr))
            params.extend(("long long", int(n)) for n in d.shape)
        self._params = params

    def start(self) -> "CudaSimulation":
        import threading

        self._prepare()
        k = self.kernel
        self._stream = self._launch()
        self._thread = threading.Thread(target=self._main, name=f"ringkernel-sim-{k.name}", daemon=True)
        self._thread.start()
        return self

    def _launch(self):
        """Like cuda_resident.launch_resident (residency ledger, pooled stream, ResidentStream), for a
        grid that may be 3D (the general form) and a cooperative, possibly clustered, launch."""
        from .cuda_driver import require_device
        from .cuda_resident import ResidentStream
        from .cuda_resources import resources

        ledger = resources().residency
        blocks = math.prod(self._launch_grid)
        token = ledger.reserve(f"persistent {self.kernel.name}", blocks, self._fn.max_active_blocks_per_sm(self.block),
                               require_device().sm_count)
        stream = resources().streams.get()
        try:
            self._fn.launch(self._launch_grid, self.block, self._params, stream=stream, cooperative=True,
                            cluster=self.kernel.cluster)
        except BaseException:
            ledger.release(token)
            raise
        return ResidentStream(stream, [lambda: ledger.release(token), lambda: resources().streams.put(stream)])

    def _loop(self) -> int:
        """Until the kernel parks at a new boundary (EXIT_BOUNDARY) or ends (EXIT_TERMINATED)."""
        return self._wait_parked(self._stream.done)

    def _host_copy(self, j: int) -> np.ndarray:
        return self._device[j].copy_to_host()

    def _inject(self, j: int, index, value) -> None:
        host = self._device[j].copy_to_host()
        host[index] = value
        self._device[j].copy_from_host(host)


def start_persistent(kernel, geometry, args) -> CudaSimulation:
    return CudaSimulation(kernel, geometry, args).start()


__all__ = ["CudaSimulation", "start_persistent"]
