"""Device resources the GPU actors take while other actors are resident: memory arenas, a stream
pool, and the ledger of resident blocks.

Why: a resident actor block never finishes, and CUDA documents page-locked and device memory
allocation among the operations that may serialise with running work ("implicit
synchronization"); a module load may too. So the actor runtime does not call cuMemHostAlloc or
cuMemAlloc per actor: one mapped (pinned, DEVICEMAP) arena and one device arena are allocated when
a GPU Runtime starts (`reserve`), and every actor's queues, control block, state, descriptor and
K2K inbox are sub-allocated from them. An arena grows (one more chunk) only while no actor is
resident; while one is, a request that does not fit is refused with the numbers and the knob
(`Runtime(..., arena_mib=...)`), never risked. Streams come from a pool created up front.

The ledger counts the blocks of every resident launch against what the device can hold at once
(occupancy x SMs): a launch that could not become resident (its blocks would wait for blocks that
never finish) is refused with the numbers instead of leaving actors that never start.

`Arena` is plain bookkeeping over byte offsets, so everything here is tested without a GPU with
fake chunks.
"""
from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from ..errors import LaunchError

log = logging.getLogger("ringkernel.cuda")

ALIGN = 256                  # bytes: every sub-allocation starts on a 256-byte boundary
DEFAULT_ARENA_MIB = 64       # per arena (mapped and device), per chunk


def _round_up(n: int, align: int = ALIGN) -> int:
    return (max(int(n), 1) + align - 1) // align * align


class Arena:
    """First-fit allocator over [0, size) with coalescing of freed neighbours (offsets only)."""

    def __init__(self, size: int):
        self.size = int(size)
        self._free: list[tuple[int, int]] = [(0, self.size)]   # (offset, length), sorted, disjoint
        self._used: dict[int, int] = {}                       # offset -> length
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        with self._lock:
            return sum(self._used.values())

    def largest_free(self) -> int:
        with self._lock:
            return max((n for _, n in self._free), default=0)

    def alloc(self, nbytes: int) -> int | None:
        """The offset of `nbytes` (rounded up to ALIGN), or None when no free range fits."""
        need = _round_up(nbytes)
        with self._lock:
            for k, (off, n) in enumerate(self._free):
                if n >= need:
                    if n == need:
                        del self._free[k]
                    else:
                        self._free[k] = (off + need, n - need)
                    self._used[off] = need
                    return off
        return None

    def free(self, offset: int) -> None:
        with self._lock:
            n = self._used.pop(offset, None)
            if n is None:
                raise ValueError(f"arena offset {offset} is not allocated (double free?)")
            free = self._free
            k = 0
            while k < len(free) and free[k][0] < offset:
                k += 1
            free.insert(k, (offset, n))
            if k + 1 < len(free) and free[k][0] + free[k][1] == free[k + 1][0]:       # merge right
                free[k] = (free[k][0], free[k][1] + free[k + 1][1])
                del free[k + 1]
            if k > 0 and free[k - 1][0] + free[k - 1][1] == free[k][0]:                # merge left
                free[k - 1] = (free[k - 1][0], free[k - 1][1] + free[k][1])
                del free[k]


def _resident() -> int:
    from . import cuda_driver
    return cuda_driver.resident_count()


class _ChunkedArena:
    """Chunks of backing memory, each carved by an Arena; grows only while nothing is resident."""

    kind = "memory"

    def __init__(self, chunk_bytes: int, new_chunk, resident=_resident):
        self.chunk_bytes = _round_up(chunk_bytes)
        self._new_chunk, self._resident = new_chunk, resident
        self.chunks: list[tuple[object, Arena]] = []
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        return sum(a.size for _, a in self.chunks)

    @property
    def used(self) -> int:
        return sum(a.used for _, a in self.chunks)

    def _take(self, nbytes: int):
        """(chunk, arena, offset) of a new sub-allocation."""
        with self._lock:
            for chunk, arena in self.chunks:
                off = arena.alloc(nbytes)
                if off is not None:
                    return chunk, arena, off
            resident = self._resident()
            if resident and self.chunks:
                raise LaunchError(
                    f"the {self.kind} arena is full: {self.used / 2**20:.1f} of {self.capacity / 2**20:.1f} MiB in "
                    f"use and {_round_up(nbytes) / 2**20:.2f} MiB more asked for while {resident} actor launch(es) "
                    "are resident; growing it now could wait for them forever (an allocation may "
                    "synchronise with running kernels). Start the Runtime with a larger arena, e.g. "
                    f"Runtime(backend=..., arena_mib={max(2 * self.capacity // 2**20, 1)}), or create the "
                    "actors before the first one runs")
            size = max(self.chunk_bytes, _round_up(nbytes))
            if resident:
                log.warning("allocating a %.1f MiB %s arena chunk while %d launch(es) are resident",
                            size / 2**20, self.kind, resident)
            chunk = self._new_chunk(size)
            arena = Arena(size)
            self.chunks.append((chunk, arena))
            return chunk, arena, arena.alloc(nbytes)

    def reserve(self) -> None:
        """Allocate the first chunk now (at Runtime start, before anything is resident)."""
        with self._lock:
            if not self.chunks:
                self.chunks.append((self._new_chunk(self.chunk_bytes), Arena(self.chunk_bytes)))

    def release(self) -> None:
        """Free every chunk (their frees wait for resident launches, cuda_driver._release)."""
        with self._lock:
            for chunk, _ in self.chunks:
                getattr(chunk, "free", lambda: None)()
            self.chunks.clear()


class MappedArena(_ChunkedArena):
    """Mapped pinned memory: numpy views the host uses, with device addresses for kernels.

    `new_chunk(nbytes)` returns an object with host_ptr, device_ptr and nbytes (a MappedBuffer)."""

    kind = "mapped (pinned host)"

    def array(self, shape, dtype) -> np.ndarray:
        """A zeroed array; its range returns to the arena when the last view of it is gone."""
        from .cuda_driver import _HostView
        dtype = np.dtype(dtype)
        shape = tuple(int(s) for s in np.atleast_1d(np.asarray(shape, dtype=np.int64)))
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        chunk, arena, off = self._take(nbytes)
        view = _HostView(chunk, off, shape, dtype)
        weakref.finalize(view, arena.free, off)
        array = np.asarray(view)
        if nbytes:
            array.reshape(-1).view(np.uint8)[:] = 0
        return array


class DeviceSlice:
    """Part of a device arena chunk with DeviceArray's copy interface (cuda_driver.DeviceArray)."""

    def __init__(self, ptr: int, shape, dtype, release):
        self.ptr, self.shape, self.dtype = int(ptr), tuple(shape), np.dtype(dtype)
        self.nbytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        self._finalizer = weakref.finalize(self, release)

    def copy_from_host(self, array: np.ndarray) -> None:
        from .cuda_driver import DeviceArray
        DeviceArray.copy_from_host(self, array)

    def copy_to_host(self, out: np.ndarray | None = None) -> np.ndarray:
        from .cuda_driver import DeviceArray
        return DeviceArray.copy_to_host(self, out)

    def _check_host(self, array: np.ndarray) -> np.ndarray:
        from .cuda_driver import DeviceArray
        return DeviceArray._check_host(self, array)

    def free(self) -> None:
        self._finalizer()


class DeviceArena(_ChunkedArena):
    """Device memory. `new_chunk(nbytes)` returns an object with .ptr (a DeviceArray of bytes)."""

    kind = "device"

    def copy(self, host: np.ndarray) -> DeviceSlice:
        """A sub-allocation initialised from `host` (the K2K inboxes and their locks)."""
        host = np.ascontiguousarray(host)
        chunk, arena, off = self._take(host.nbytes)
        piece = DeviceSlice(chunk.ptr + off, host.shape, host.dtype, lambda: arena.free(off))
        piece.copy_from_host(host)
        return piece


class StreamPool:
    """Non-blocking streams created up front and reused after the launch on them stopped."""

    def __init__(self, new_stream, count: int = 4):
        self._new_stream = new_stream
        self._idle: list = []
        self._count = count
        self._lock = threading.Lock()

    def reserve(self) -> None:
        with self._lock:
            while len(self._idle) < self._count:
                self._idle.append(self._new_stream())

    def get(self):
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._new_stream()

    def put(self, stream) -> None:
        with self._lock:
            self._idle.append(stream)


@dataclass
class _Reservation:
    what: str
    blocks: int
    capacity: int            # how many such blocks the device holds at once


class Residency:
    """Blocks of resident launches per device, each as a share of what the device can hold of
    that kernel at once (occupancy per SM x SMs). A launch whose share would take the total past
    the whole device is refused: some of its blocks would wait for blocks that never finish."""

    def __init__(self):
        self._held: dict[int, _Reservation] = {}
        self._lock = threading.Lock()
        self._ids = 0

    def in_use(self) -> float:
        with self._lock:
            return sum(r.blocks / r.capacity for r in self._held.values())

    def check(self, what: str, blocks: int, per_sm: int, sm_count: int) -> int:
        """Raise LaunchError, with the numbers, unless `blocks` more fit beside the resident ones;
        returns how many such blocks the device holds at once."""
        capacity = max(int(per_sm), 0) * int(sm_count)
        with self._lock:
            self._check(what, blocks, capacity, per_sm, sm_count)
        return capacity

    def _check(self, what, blocks, capacity, per_sm, sm_count) -> None:
        used = sum(r.blocks / r.capacity for r in self._held.values())
        if capacity <= 0 or used + blocks / capacity > 1.0 + 1e-9:
            others = ", ".join(f"{r.what}: {r.blocks} of {r.capacity}" for r in self._held.values())
            raise LaunchError(
                f"{what}: {blocks} resident block(s) cannot all be resident at once: the device holds "
                f"at most {capacity} of these ({per_sm} per SM x {sm_count} SMs) and "
                f"{used * 100:.0f}% of it is taken by resident actors"
                + (f" ({others})" if others else "") + "; terminate some actors, use fewer or "
                "smaller blocks (a pool of fewer members, fewer threads per actor)")

    def reserve(self, what: str, blocks: int, per_sm: int, sm_count: int) -> int:
        """Count `blocks` as resident (checked as `check` does); returns the token to release."""
        capacity = max(int(per_sm), 0) * int(sm_count)
        with self._lock:
            self._check(what, blocks, capacity, per_sm, sm_count)
            self._ids += 1
            self._held[self._ids] = _Reservation(what, int(blocks), capacity)
            return self._ids

    def release(self, token: int) -> None:
        with self._lock:
            self._held.pop(token, None)


class Resources:
    """The arenas, stream pool and residency ledger of the process's CUDA context."""

    def __init__(self, arena_mib: int = DEFAULT_ARENA_MIB):
        from .cuda_driver import DeviceArray, MappedBuffer, Stream
        self.mapped = MappedArena(arena_mib << 20, MappedBuffer)
        self.device = DeviceArena(arena_mib << 20, lambda n: DeviceArray((n,), np.uint8))
        self.streams = StreamPool(Stream)
        self.residency = Residency()

    def reserve(self) -> None:
        self.mapped.reserve()
        self.device.reserve()
        self.streams.reserve()


_resources: Resources | None = None
_resources_lock = threading.Lock()


def resources(arena_mib: int | None = None) -> Resources:
    """The process's resources (created on first use; `arena_mib` sizes the chunks of a new one)."""
    global _resources
    with _resources_lock:
        if _resources is None:
            _resources = Resources(arena_mib or DEFAULT_ARENA_MIB)
        elif arena_mib and arena_mib << 20 > _resources.mapped.chunk_bytes:
            _resources.mapped.chunk_bytes = _resources.device.chunk_bytes = arena_mib << 20
        return _resources


def reserve(arena_mib: int | None = None) -> Resources:
    """At GPU Runtime start: the arenas' first chunks and the streams, before anything is resident."""
    res = resources(arena_mib)
    res.reserve()
    return res
