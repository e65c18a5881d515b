"""The driver's ledger: every message accepted into the cluster, until it is settled exactly once.

A message is accepted when a send to a RemoteHandle takes it; it gets a cluster-wide correlation
id (dense, from 1), which every K2K hop, reply and dead letter keeps. It is settled by the reply
the driver receives, or by the dead letter the driver collects. After a hosting process died, the
messages neither settled nor held by a live process were lost with it (RayRuntime._recover).

    accepted == settled + unsettled            (settled = replies + dead letters; forwarded
                                                messages settle at the end of their path)
"""
from __future__ import annotations

import bisect
import threading

import numpy as np


class Ledger:
    def __init__(self):
        self._next = 1
        self._starts: list[int] = []             # first correlation id of each open batch
        self._batches: dict[int, list] = {}      # first -> [recs, entry name, open mask, open count]
        self._lock = threading.Lock()
        self.accepted = 0
        self.replies = 0
        self.dead_letters = 0
        self.duplicates = 0                      # settled twice (must stay 0)
        self.unknown = 0                         # settled but never accepted (must stay 0)

    def open(self, entry: str, recs: np.ndarray) -> int:
        """Accept `recs` sent to `entry`; returns the first correlation id (the rest follow)."""
        n = len(recs)
        with self._lock:
            first = self._next
            self._next += n
            self._starts.append(first)
            self._batches[first] = [recs.copy(), entry, np.ones(n, dtype=bool), n]
            self.accepted += n
        return first

    def settle(self, corr, replies: bool) -> None:
        corr = np.asarray(corr, dtype=np.int64)
        if len(corr) == 0:
            return
        with self._lock:
            idx = np.searchsorted(np.asarray(self._starts, dtype=np.int64), corr, side="right") - 1
            done, finished = 0, []
            for b in np.unique(idx):
                sel = corr[idx == b]
                if b < 0:
                    self.unknown += len(sel)
                    continue
                first = self._starts[b]
                entry = self._batches[first]
                off = sel - first
                inside = off < len(entry[2])
                self.unknown += int((~inside).sum())
                off = off[inside]
                was_open = entry[2][off]
                self.duplicates += int((~was_open).sum()) + (len(off) - len(np.unique(off)))
                entry[2][off] = False
                now_open = int(entry[2].sum())
                done += entry[3] - now_open
                entry[3] = now_open
                if now_open == 0:
                    finished.append(first)
            for first in finished:                   # after the loop: idx indexes the old list
                del self._batches[first]
                self._starts.pop(bisect.bisect_left(self._starts, first))
            if replies:
                self.replies += done
            else:
                self.dead_letters += done

    def unsettled(self) -> list:
        """[(correlation ids, records, entry name)] of every open message."""
        with self._lock:
            out = []
            for first in self._starts:
                recs, entry, mask, _ = self._batches[first]
                where = np.flatnonzero(mask)
                out.append((where + first, recs[where], entry))
            return out

    @property
    def open_count(self) -> int:
        with self._lock:
            return sum(b[3] for b in self._batches.values())
