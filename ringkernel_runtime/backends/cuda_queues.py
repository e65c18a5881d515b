"""The host side of a GPU actor's queues: where their memory lives (Memory: sub-allocations of
the process's arenas, cuda_resources.py), lanes in mapped pinned memory (MappedQueue, the host
lane and the reply lane) and K2K inboxes in device memory (DeviceQueue). cuda_actor.py builds
actors from them; numba_actor.py swaps in numba's memory."""
from __future__ import annotations

import threading

import numpy as np

from ..errors import LaunchError
from ..layout import QH_HEAD, QH_TAIL
from ..queues import Queue


class Memory:
    """Where the actor's arrays live: sub-allocations of the process's mapped and device arenas
    (cuda_resources: no cuMemHostAlloc / cuMemAlloc per actor while others are resident). Tests
    pass fakes."""

    def __init__(self, resources=None):
        self._resources = resources

    @property
    def resources(self):
        if getattr(self, "_resources", None) is None:
            from .cuda_resources import resources
            self._resources = resources()
        return self._resources

    def host_array(self, shape, dtype) -> np.ndarray:
        return self.resources.mapped.array(shape, dtype)

    def device_pointer(self, array: np.ndarray) -> int:
        from .cuda import mapped_device_pointer
        ptr = mapped_device_pointer(array)
        if ptr is None:
            raise LaunchError("a queue array is not in mapped memory (cuda actors need mapped queues)")
        return ptr

    def device_zeros(self, nbytes: int):
        """(owner, device pointer) of zeroed device memory (the K2K producer lock)."""
        return self.device_copy(np.zeros(max(nbytes // 8, 1), dtype=np.uint64))

    def device_copy(self, host: np.ndarray):
        """(owner, device pointer) of device memory initialised from `host`."""
        piece = self.resources.device.copy(host)
        return piece, piece.ptr

    def copy_to_host(self, owner, host: np.ndarray) -> None:
        owner.copy_to_host(host)

    def write_word(self, owner, index: int, value: int) -> None:
        """Store one 64-bit word (a position the host owns) without touching its neighbours."""
        from .cuda_driver import _driver, check, require_device
        require_device()
        word = np.array([value], dtype=np.uint64)
        check(_driver().cuMemcpyHtoD(owner.ptr + 8 * index, word.ctypes.data, 8), "cuMemcpyHtoD")


class MappedQueue(Queue):
    """queues.Queue with its header, slot headers and payloads in mapped memory."""

    def __init__(self, dtype, capacity: int, type_id: int, memory: Memory):
        super().__init__(dtype, capacity, type_id)
        for name in ("hdr", "meta", "payload"):
            host = getattr(self, name)
            mapped = memory.host_array(host.shape, host.dtype)
            mapped[...] = host
            setattr(self, name, mapped)
        self.rebind()
        self.pointers = tuple(memory.device_pointer(a) for a in (self.hdr, self.meta, self.payload))


class DeviceQueue(Queue):
    """A K2K inbox in device memory (DESIGN.md §6): GPU blocks produce into it (rk_send_peer) and
    its actor's block consumes it, without the host.

    The host reads it only to dead-letter what is left, while its consumer is parked (a failed
    message) or stopped (terminate): it copies the header, slot headers and payloads into the host
    arrays `hdr`, `meta`, `payload` (shadows), pops there, and writes back the head word alone
    (producers own the tail and may still be publishing beyond the copied tail).
    """

    def __init__(self, dtype, capacity: int, type_id: int, memory: Memory):
        super().__init__(dtype, capacity, type_id)
        self.memory = memory
        self._device = [memory.device_copy(a) for a in (self.hdr, self.meta, self.payload)]
        self.pointers = tuple(ptr for _, ptr in self._device)
        self.owners = tuple(owner for owner, _ in self._device)
        self._copy_lock = threading.Lock()

    def _pull(self) -> None:
        for (owner, _), host in zip(self._device, (self.hdr, self.meta, self.payload)):
            self.memory.copy_to_host(owner, host)

    def _push_head(self) -> None:
        self.memory.write_word(self.owners[0], QH_HEAD, int(self.hdr[QH_HEAD]))

    def depth(self) -> int:
        words = np.empty_like(self.hdr)         # not the shadow: a pop may be between pull and push
        self.memory.copy_to_host(self.owners[0], words)
        return int(words[QH_TAIL]) - int(words[QH_HEAD])

    def free(self) -> int:
        return self.capacity - self.depth()

    def pop_one(self):
        with self._copy_lock:
            self._pull()
            popped = super().pop_one()
            if popped is not None:
                self._push_head()
            return popped

    def pop_record(self):
        with self._copy_lock:
            self._pull()
            popped = super().pop_record()
            if popped is not None:
                self._push_head()
            return popped

    def pop_many(self, max_count: int):
        with self._copy_lock:
            self._pull()
            out = super().pop_many(max_count)
            if len(out[0]):
                self._push_head()
            return out

    def push_one(self, *args, **kwargs):
        raise LaunchError("a K2K inbox in device memory takes messages from GPU actors only; "
                          "send from the host with handle.send")

    push_many = push_one
