"""Ring queues in the layout of `layout.QUEUE_HEADER`: njit producer/consumer ops + host side.

A queue is a header (uint64 words; head and tail on their own 128-byte lines), `capacity`
message headers (`layout.MESSAGE_HEADER`) and `capacity` payloads (the message dtype).
Positions run free (64 bit, never wrap); slot = position & mask. The producer alone writes
tail, the consumer alone writes head; a producer publishes the slot, then the tail (release);
a consumer reads the tail (acquire), then the slot, then writes head (release).

Lanes: host -> actor queues are single-producer (the host side serialises its Python threads
with a lock); an actor's K2K inbox takes many actor producers, which serialise on the header's
`producer_lock` word (an njit spinlock, never taken by the host).

njit entry points (see actor_abi for the call forms generated code emits):
    send_peer(pq, ctx, rec, peer_index) -> 0 sent | 1 gave up (ctx marked failed)
    queue_depth(hdr)
"""
from __future__ import annotations

import platform
import struct
import threading
import time

import numpy as np
from numba import njit

from . import actor_abi as abi
from .atomics import compare_exchange, fence, load_acquire, now_ns, sched_yield, store_release, usleep
from .hlc import hlc_tick
from .layout import (MESSAGE_HEADER, QH_CAPACITY, QH_HEAD, QH_LOCK, QH_MASK, QH_PAYLOAD_SIZE,
                     QH_TAIL, QH_TYPE_ID, QH_WORDS)

_WEAK_ORDER = platform.machine().lower() not in ("x86_64", "amd64", "i686", "x86")
_META_SIZE = MESSAGE_HEADER.size
_pack_meta = struct.Struct("<QQQQ").pack_into   # the header as its four 64-bit words
_unpack_meta = struct.Struct("<QQQQ").unpack_from
_POOL_BYTES = 1 << 14          # a pop_record pool array: 256 records of 64 B (at least one record)
assert _META_SIZE == 32 and MESSAGE_HEADER.dtype.itemsize == 32


@njit(nogil=True, cache=True)
def queue_depth(hdr):
    return load_acquire(hdr, QH_TAIL) - load_acquire(hdr, QH_HEAD)


@njit(nogil=True)
def backoff(idle_polls):
    """Spin, then yield, then sleep up to 1 ms: bounded reaction time, no burnt core when idle."""
    if idle_polls < 64:
        return
    if idle_polls < 256:
        sched_yield()
    elif idle_polls < 2048:
        usleep(20)
    else:
        usleep(500)


@njit(nogil=True)
def _lock(hdr, ctx, deadline):
    polls = 0
    while not compare_exchange(hdr, QH_LOCK, np.uint64(0), np.uint64(1)):
        polls += 1
        if (polls & 1023) == 0 and (load_acquire(ctx, abi.CTX_ABORT) != 0 or now_ns() > deadline):
            return False
        backoff(polls >> 4)
    return True


@njit(nogil=True)
def send_peer(pq, ctx, rec, peer_index):
    """Push `rec` into the peer's K2K inbox `pq`; block while full up to the peer timeout."""
    hdr, meta, payload = pq[0], pq[1], pq[2]
    deadline = now_ns() + ctx[abi.CTX_PEER_TIMEOUT_NS]
    if not _lock(hdr, ctx, deadline):
        ctx[abi.CTX_FAILED] = 1
        ctx[abi.CTX_FAIL_CODE] = abi.FAIL_PEER_FULL
        ctx[abi.CTX_FAIL_PEER] = peer_index
        return 1
    tail = hdr[QH_TAIL]          # we hold the producer lock: tail is ours
    cap = hdr[QH_CAPACITY]
    polls = 0
    while tail - load_acquire(hdr, QH_HEAD) >= cap:
        polls += 1
        if (polls & 63) == 0 and (load_acquire(ctx, abi.CTX_ABORT) != 0 or now_ns() > deadline):
            store_release(hdr, QH_LOCK, np.uint64(0))
            ctx[abi.CTX_FAILED] = 1
            ctx[abi.CTX_FAIL_CODE] = abi.FAIL_PEER_FULL
            ctx[abi.CTX_FAIL_PEER] = peer_index
            return 1
        backoff(polls)
    j = tail & hdr[QH_MASK]
    payload[j] = rec
    hlc_tick(ctx, abi.CTX_NOW_PHYSICAL, abi.CTX_NOW_LOGICAL, now_ns())
    m = meta[j]
    m.type_id = np.uint32(hdr[QH_TYPE_ID])
    m.flags = np.uint32(0)
    m.correlation_id = np.uint64(ctx[abi.CTX_CORRELATION])
    m.hlc_physical = np.uint64(ctx[abi.CTX_NOW_PHYSICAL])
    m.hlc_logical = np.uint32(ctx[abi.CTX_NOW_LOGICAL])
    m.source = np.uint32(ctx[abi.CTX_ACTOR_ID])
    store_release(hdr, QH_TAIL, tail + np.uint64(1))
    store_release(hdr, QH_LOCK, np.uint64(0))
    return 0


class Queue:
    """One ring queue's memory plus the host-side producer and consumer operations."""

    def __init__(self, dtype: np.dtype, capacity: int, type_id: int = 0):
        if capacity < 2 or capacity & (capacity - 1):
            raise ValueError(f"queue capacity must be a power of two >= 2, got {capacity}")
        self.dtype, self.capacity = np.dtype(dtype), capacity
        self.hdr = np.zeros(QH_WORDS, dtype=np.uint64)
        self.hdr[QH_CAPACITY] = capacity
        self.hdr[QH_MASK] = capacity - 1
        self.hdr[QH_PAYLOAD_SIZE] = self.dtype.itemsize
        self.hdr[QH_TYPE_ID] = type_id
        self.type_id = type_id
        self.meta = np.zeros(capacity, dtype=MESSAGE_HEADER.dtype)
        self.payload = np.zeros(capacity, dtype=self.dtype)
        self.scratch = np.zeros(1, dtype=self.dtype)
        self._pool, self._pool_used = self.payload[:0], 0   # pop_record's reply records
        self.mask = capacity - 1
        self.send_lock = threading.Lock()     # host producers (several Python threads)
        self.receive_lock = threading.Lock()  # host consumers
        self.rebind()

    def rebind(self) -> None:
        """Build the host side's views of hdr / meta; call again after replacing those arrays."""
        # words: [type_id | flags << 32, correlation_id, hlc_physical, hlc_logical | source << 32]
        self.meta_words = self.meta.view(np.uint64).reshape(self.capacity, 4)
        # plain-int views for the per-message path (a numpy scalar access costs ~5x more)
        self._words = memoryview(self.hdr).cast("B").cast("Q")
        self._meta_bytes = memoryview(self.meta.view(np.uint8))
        self._payload_bytes = memoryview(self.payload.view(np.uint8))
        self._payload_rows = _rows(self.payload)
        # what the per-message paths need, in one attribute: (words, capacity, mask, payload,
        # header bytes); see push_one / pop_record
        self.view = (self._words, self.capacity, self.mask, self.payload, self._meta_bytes)

    def lane(self) -> tuple:
        """The njit view of this queue (what peer_queues entries and the loop receive)."""
        return (self.hdr, self.meta, self.payload, self.scratch)

    # -- host side (callers hold send_lock / receive_lock) -----------------------------------
    def depth(self) -> int:
        w = self._words
        return w[QH_TAIL] - w[QH_HEAD]

    def free(self) -> int:
        return self.capacity - self.depth()

    def push_one(self, record, correlation: int, physical: int, logical: int, source: int = 0) -> bool:
        """Publish one message: payload, then its header, then the tail (the consumer's signal)."""
        w, cap, mask, payload, meta_bytes = self.view
        tail = w[QH_TAIL]
        if tail - w[QH_HEAD] >= cap:
            return False
        j = tail & mask
        payload[j] = record
        _pack_meta(meta_bytes, j << 5, self.type_id, correlation, physical, logical | (source << 32))
        if _WEAK_ORDER:
            fence()
        w[QH_TAIL] = tail + 1
        return True

    def push_many(self, batch: np.ndarray, first_correlation: int, physical: int,
                  first_logical: int, source: int = 0) -> int:
        """Copy as much of `batch` as fits (in at most two slices); returns how many were pushed.

        Payloads and headers are copied as rows of bytes / 64-bit words: numpy copies a structured
        dtype with an array field element by element, ~10x slower than these plain copies."""
        tail = int(self.hdr[QH_TAIL])
        n = min(len(batch), self.capacity - (tail - int(self.hdr[QH_HEAD])))
        if n <= 0:
            return 0
        j = tail & self.mask
        first = min(n, self.capacity - j)
        rows = _rows(batch[:n]) if batch.flags.c_contiguous else None
        words = self.meta_words
        for dst, src, k in ((slice(j, j + first), slice(0, first), 0), (slice(0, n - first), slice(first, n), first)):
            cnt = src.stop - src.start
            if cnt <= 0:
                continue
            if rows is not None:
                self._payload_rows[dst] = rows[src]
            else:
                self.payload[dst] = batch[src]
            w = words[dst]
            w[:, 0] = self.type_id                       # flags (the high half) 0
            w[:, 1] = np.arange(first_correlation + k, first_correlation + k + cnt, dtype=np.uint64)
            w[:, 2] = physical
            logical = np.arange(first_logical + k, first_logical + k + cnt, dtype=np.uint64)
            w[:, 3] = logical | np.uint64(source << 32) if source else logical
        if _WEAK_ORDER:
            fence()
        self.hdr[QH_TAIL] = tail + n
        return n

    def pop_one(self):
        """(payload copy as a 1-element array, (correlation_id, hlc_physical, hlc_logical)) or None."""
        head = int(self.hdr[QH_HEAD])
        if int(self.hdr[QH_TAIL]) == head:
            return None
        j = head & self.mask
        rec = self.payload[j:j + 1].copy()
        _, corr, phys, lw = self.meta_words[j].tolist()
        self.hdr[QH_HEAD] = head + 1
        return rec, (corr, phys, lw & 0xFFFFFFFF)

    def pop_many(self, max_count: int) -> tuple[np.ndarray, np.ndarray]:
        """Up to max_count messages: (payloads, headers), copies the caller owns."""
        head = int(self.hdr[QH_HEAD])
        n = min(max_count, int(self.hdr[QH_TAIL]) - head)
        if n <= 0:
            return self.payload[:0].copy(), self.meta[:0].copy()
        j = head & self.mask
        first = min(n, self.capacity - j)
        out, meta = np.empty(n, dtype=self.dtype), np.empty(n, dtype=self.meta.dtype)
        out_rows, meta_words = _rows(out), meta.view(np.uint64).reshape(n, 4)
        out_rows[:first] = self._payload_rows[j:j + first]         # byte rows: see push_many
        meta_words[:first] = self.meta_words[j:j + first]
        if first < n:
            out_rows[first:] = self._payload_rows[:n - first]
            meta_words[first:] = self.meta_words[:n - first]
        self.hdr[QH_HEAD] = head + n
        return out, meta

    def pop_record(self):
        """(record, hlc_physical, hlc_logical) of the next message, or None: the per-message receive
        path. The record (an np.void) is a copy the caller owns: one slot of a small pool array
        (16 KB) shared by the records it hands out, so no allocation per message; a record kept
        keeps its pool alive (16 KB, or one record when records are larger)."""
        w, _, mask, _, meta_bytes = self.view
        head = w[QH_HEAD]
        if w[QH_TAIL] == head:
            return None
        j = head & mask
        pool, i = self._pool, self._pool_used
        if i == len(pool):
            pool = self._pool = np.empty(max(1, _POOL_BYTES // self.dtype.itemsize), dtype=self.dtype)
            i = 0
        pool[i] = self.payload[j]
        self._pool_used = i + 1
        _, _, phys, lw = _unpack_meta(meta_bytes, j << 5)
        w[QH_HEAD] = head + 1
        return pool[i], phys, lw & 0xFFFFFFFF


def _rows(records: np.ndarray) -> np.ndarray:
    """A contiguous 1-D record array as a 2-D uint8 array, one row of bytes per record."""
    return records.view(np.uint8).reshape(len(records), records.dtype.itemsize)


def wait_until(predicate, timeout: float, spin_s: float = 50e-6) -> bool:
    """Spin for `spin_s`, then sleep in growing steps (<= 1 ms) until predicate() or timeout."""
    if predicate():
        return True
    start = time.perf_counter()
    deadline = start + (timeout if timeout is not None else float("inf"))
    spin_end = start + spin_s
    delay = 20e-6
    while True:
        if predicate():
            return True
        now = time.perf_counter()
        if now >= deadline:
            return predicate()
        if now > spin_end:
            time.sleep(min(delay, max(deadline - now, 0)))
            delay = min(delay * 2, 1e-3)
