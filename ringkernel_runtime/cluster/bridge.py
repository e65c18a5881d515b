"""Cross-process K2K: a remote peer's local stand-in (Outbox) and the thread that ships its batches.

A ring kernel wired to a peer in another process sends with ctx.send as usual: into the inbox of
an Outbox, a K2K lane of this process that looks like the peer to the local Runtime. One bridge
thread per Outbox takes what the lane holds and ships it to the peer's hosting process through
Ray's object store, in batches bounded by size (`max_batch` messages) and time (the first message
of a batch waits at most `linger` seconds before the batch leaves; with no batch in flight a
partial batch leaves at once, Nagle's rule, so a lone message never waits for the linger). Per-sender order: one thread
ships, batches carry a sequence number per link, and the receiving host applies them in order.
Each batch keeps every message's correlation id and HLC stamp; the receiver's clock is updated past
them (NodeHost.deliver), so the HLC stays causal across processes.

A batch is kept until the receiver acknowledges it. When the peer's host dies the bridge keeps
its batches and waits; the driver relaunches the peer elsewhere and reroutes the bridge, which
ships them again, in order, to the new host: delivered after the restart. While it waits, the
Outbox lane fills and ctx.send blocks (then gives up after peer_timeout: backpressure as local).
"""
from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from types import SimpleNamespace

import numpy as np

from ..layout import QH_HEAD as _HEAD, QH_TAIL as _TAIL
from ..lifecycle import KernelState
from ..queues import Queue

DEFAULT_MAX_BATCH = 32768      # messages: 2 MiB of 64-byte payloads (measured: docs/benchmarks.md)
DEFAULT_LINGER = 0.002          # seconds: the batching latency bound
MAX_IN_FLIGHT = 4               # batches shipped and not yet acknowledged, per link


def push_records(lane: Queue, recs: np.ndarray, meta: np.ndarray) -> int:
    """Copy as much of (recs, meta) as fits into `lane`, keeping each message's header
    (correlation id, HLC, source); returns how many. The caller holds lane.send_lock."""
    tail = int(lane.hdr[_TAIL])
    n = min(len(recs), lane.capacity - (tail - int(lane.hdr[_HEAD])))
    if n <= 0:
        return 0
    j = tail & lane.mask
    first = min(n, lane.capacity - j)
    lane.payload[j:j + first] = recs[:first]
    lane.meta[j:j + first] = meta[:first]
    if n > first:
        lane.payload[:n - first] = recs[first:n]
        lane.meta[:n - first] = meta[first:n]
    lane.hdr[_TAIL] = tail + n
    return n


def peek_correlations(lane: Queue) -> np.ndarray:
    """The correlation ids a lane holds now, without taking them (its consumer must be paused)."""
    head, tail = int(lane.hdr[_HEAD]), int(lane.hdr[_TAIL])
    idx = (np.arange(head, tail, dtype=np.uint64) & np.uint64(lane.mask)).astype(np.int64)
    return lane.meta["correlation_id"][idx].astype(np.int64)



class Outbox:
    """What a local ring kernel sees as its remote peer (runtime_launch._wire_peers accepts it)."""

    is_bridge_endpoint = True

    def __init__(self, runtime, kernel, target: str, route, link_prefix: str, capacity: int,
                 max_batch: int = DEFAULT_MAX_BATCH, linger: float = DEFAULT_LINGER):
        self.runtime, self.kernel, self.target = runtime, kernel, target
        self.name = f"{target} (remote)"
        self.state = KernelState.ACTIVE
        inp = kernel.input_type
        self.actor = SimpleNamespace(k2k_lane=Queue(inp.dtype, capacity, inp.type_id))
        self._producers: weakref.WeakSet = weakref.WeakSet()
        self._retired = False
        self._loop_done = threading.Event()      # never set: the bridge outlives its producers
        self.max_batch, self.linger = max_batch, linger
        self._route, self._link_prefix, self._epoch = route, link_prefix, 0
        self._seq = 0
        self._unacked: deque = deque()           # (seq, recs, meta, ref or None), in order
        self._cond = threading.Condition()
        self._stop = False
        self.shipped = 0                         # messages acknowledged by the receiver
        self.batches = 0                         # batches acknowledged
        self.largest = 0                         # messages in the largest batch
        self._thread = threading.Thread(target=self._run, name=f"bridge:{target}", daemon=True)
        self._thread.start()

    def _refusal(self):
        return None

    @property
    def link(self) -> str:
        return f"{self._link_prefix}->{self.target}#{self._epoch}"

    def reroute(self, route) -> None:
        """The peer now lives behind `route` (a NodeHost actor): ship everything unacknowledged there."""
        import ray
        with self._cond:
            keep = []
            for e in self._unacked:          # acknowledged before the host died: delivered, not again
                if e[3] is not None and ray.wait([e[3]], timeout=0)[0]:
                    try:
                        ray.get(e[3])
                        self.shipped += len(e[1])
                        continue
                    except Exception:  # noqa: BLE001 - lost with the host: ship it again
                        pass
                keep.append(e)
            self._route, self._epoch, self._seq = route, self._epoch + 1, 0
            self._unacked = deque([self._next_seq(), r, m, None] for _, r, m, _ in keep)
            self._cond.notify_all()

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def idle(self) -> bool:
        with self._cond:
            return self.actor.k2k_lane.depth() == 0 and not self._unacked

    def held_correlations(self) -> list:
        with self._cond:
            out = [peek_correlations(self.actor.k2k_lane)]
            out += [m["correlation_id"].astype(np.int64) for _, _, m, _ in self._unacked]
        return out

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(2.0)

    # -- the bridge thread -----------------------------------------------------------------------
    def _run(self) -> None:
        lane = self.actor.k2k_lane
        first_seen = None
        while not self._stop:
            self._settle_acks(block=False)
            depth = lane.depth()
            if depth == 0 or len(self._unacked) >= MAX_IN_FLIGHT:
                first_seen = None if depth == 0 else first_seen
                if self._unacked:
                    self._settle_acks(block=True)
                else:
                    time.sleep(0.0002)
                continue
            now = time.perf_counter()
            if first_seen is None:
                first_seen = now
            # Nagle's rule: a partial batch leaves at once while nothing is in flight (a lone
            # message waits for nobody), else when full or `linger` after its first message
            if self._unacked and depth < self.max_batch and now - first_seen < self.linger:
                time.sleep(min(0.0002, self.linger))
                continue
            with self._cond:
                recs, meta = lane.pop_many(self.max_batch)
                self.largest = max(self.largest, len(recs))
                seq = self._next_seq()
                self._unacked.append([seq, recs, meta, None])
            first_seen = None
            self._ship_pending()

    def _ship_pending(self) -> None:
        with self._cond:
            route, link = self._route, self.link
            if route is None:                    # the peer failed for good: its input is dead-lettered
                self._dead_letter_unacked()
                return
            todo = [e for e in self._unacked if e[3] is None]
            for e in todo:
                e[3] = route.deliver.remote(link, e[0], self.target, e[1], e[2])

    def _settle_acks(self, block: bool) -> None:
        import ray
        with self._cond:
            if not self._unacked:
                return
            first = self._unacked[0]
            ref = first[3]
        if ref is None:
            self._ship_pending()
            return
        ready, _ = ray.wait([ref], timeout=0.05 if block else 0)
        if not ready:
            return
        try:
            ray.get(ref)
        except Exception:  # noqa: BLE001 - the peer's host died: keep the batch, wait for a reroute
            with self._cond:
                if self._unacked and self._unacked[0] is first and first[3] is ref:
                    self._cond.wait(0.05)
            return
        with self._cond:
            if self._unacked and self._unacked[0] is first:
                self._unacked.popleft()
                self.shipped += len(first[1])
                self.batches += 1

    def _dead_letter_unacked(self) -> None:
        from ..deadletter import DeadLetter
        t, now = self.kernel.input_type, time.time()
        while self._unacked:
            _, recs, meta, _ = self._unacked.popleft()
            corr = meta["correlation_id"].tolist()
            self.runtime.dead_letters.add_many(DeadLetter("failed", t.from_array(recs[i:i + 1].copy()), self.target,
                                                          now, None, int(corr[i])) for i in range(len(recs)))
