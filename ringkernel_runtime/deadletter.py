"""Dead letters: messages that could not be delivered or processed, kept for inspection."""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeadLetter:
    reason: str              # "failed", "queue_full", "terminated", "stalled", "peer_full:<peer>"
    message: Any             # the @message instance (or a structured record)
    destination: str         # actor name
    time: float = field(default_factory=time.time)
    code: int | None = None  # ctx.fail code, when there is one
    correlation_id: int | None = None


class DeadLetterQueue:
    """A bounded, thread-safe log; the oldest entries drop past `maxlen` (`total` keeps counting)."""

    def __init__(self, maxlen: int = 100_000):
        self._items: deque[DeadLetter] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self.total = 0

    def add(self, letter: DeadLetter) -> None:
        with self._lock:
            self._items.append(letter)
            self.total += 1

    def drain(self) -> list[DeadLetter]:
        with self._lock:
            out = list(self._items)
            self._items.clear()
            return out

    def by_reason(self, reason: str) -> list[DeadLetter]:
        with self._lock:
            return [d for d in self._items if d.reason == reason]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        with self._lock:
            return iter(list(self._items))

    def __getitem__(self, i):
        with self._lock:
            return list(self._items)[i]
