"""Hybrid logical clocks (Kulkarni et al., 2014): physical ns + logical counter + node id.

A timestamp is (l, c, node): l is the largest physical time seen (ns), c counts events that
share that l. Ordering is lexicographic on (l, c, node), so send happens-before receive holds
even when physical clocks are skewed or equal.

    local / send event:         l' = max(l, pt)
                                c' = c + 1 if l' == l else 0
    receive of (lm, cm):        l' = max(l, lm, pt)
                                c' = max(c, cm) + 1  if l' == l == lm
                                     c + 1           if l' == l  (only)
                                     cm + 1          if l' == lm (only)
                                     0               otherwise

`HLC` is the host (Python) clock; `hlc_tick` / `hlc_update` are the same rules in njit form,
operating on two words of an int64 array (the actor's ctx), so the rules live here once.
"""
from __future__ import annotations

import threading
import time
from typing import NamedTuple

from numba import njit


class Timestamp(NamedTuple):
    physical: int
    logical: int
    node: int = 0


def tick_rule(l: int, c: int, pt: int) -> tuple[int, int]:
    """Local or send event."""
    nl = max(l, pt)
    return nl, (c + 1 if nl == l else 0)


def update_rule(l: int, c: int, lm: int, cm: int, pt: int) -> tuple[int, int]:
    """Receive event of a message stamped (lm, cm)."""
    nl = max(l, lm, pt)
    if nl == l and nl == lm:
        return nl, max(c, cm) + 1
    if nl == l:
        return nl, c + 1
    if nl == lm:
        return nl, cm + 1
    return nl, 0


class HLC:
    """A thread-safe hybrid logical clock; `clock` returns physical ns (injectable for tests)."""

    def __init__(self, node: int = 0, clock=time.time_ns):
        self.node, self._clock = node, clock
        self._l, self._c = 0, 0
        self._lock = threading.Lock()

    def now(self) -> Timestamp:
        """Tick for a local or send event and return the new timestamp."""
        with self._lock:
            self._l, self._c = tick_rule(self._l, self._c, self._clock())
            return Timestamp(self._l, self._c, self.node)

    def tick(self) -> tuple[int, int]:
        """`now()` as a plain (physical, logical) pair: the per-message send path (tick_rule,
        inlined; the lock taken without `with`, which costs twice as much)."""
        lock = self._lock
        lock.acquire()
        try:
            pt = self._clock()
            if pt > self._l:
                self._l, self._c = pt, 0
                return pt, 0
            self._c = c = self._c + 1
            return self._l, c
        finally:
            lock.release()

    def reserve(self, n: int) -> Timestamp:
        """n send events at once: returns the first; the others are (l, c+1) ... (l, c+n-1)."""
        with self._lock:
            self._l, self._c = tick_rule(self._l, self._c, self._clock())
            first = Timestamp(self._l, self._c, self.node)
            self._c += max(n - 1, 0)
            return first

    def update(self, physical: int, logical: int) -> Timestamp:
        """Receive event of a message stamped (physical, logical)."""
        with self._lock:
            self._l, self._c = update_rule(self._l, self._c, physical, logical, self._clock())
            return Timestamp(self._l, self._c, self.node)

    def observe(self, physical: int, logical: int) -> None:
        """`update` for the per-message receive path: the same rule, no Timestamp built."""
        lock = self._lock
        lock.acquire()
        try:
            pt = self._clock()
            l, c = self._l, self._c
            if pt > l and pt > physical:            # the common case: physical time is ahead
                self._l, self._c = pt, 0
            else:
                self._l, self._c = update_rule(l, c, physical, logical, pt)
        finally:
            lock.release()

    def peek(self) -> Timestamp:
        return Timestamp(self._l, self._c, self.node)


@njit(nogil=True, cache=True)
def hlc_tick(clock, li, ci, pt):
    """Send/local event on clock[li], clock[ci] (an int64 array) at physical time pt."""
    l = clock[li]
    nl = l if l >= pt else pt
    if nl == l:
        clock[ci] += 1
    else:
        clock[li] = nl
        clock[ci] = 0


@njit(nogil=True, cache=True)
def hlc_update(clock, li, ci, pt, lm, cm):
    """Receive event of a message stamped (lm, cm) at physical time pt."""
    l = clock[li]
    c = clock[ci]
    nl = l
    if lm > nl:
        nl = lm
    if pt > nl:
        nl = pt
    if nl == l and nl == lm:
        nc = (c if c >= cm else cm) + 1
    elif nl == l:
        nc = c + 1
    elif nl == lm:
        nc = cm + 1
    else:
        nc = 0
    clock[li] = nl
    clock[ci] = nc
