"""Dead letters: messages that could not be delivered or processed, kept for inspection.

Reasons:
    "failed"            the message its handler failed on (ctx.fail, a crash)
    "peer_full:<peer>"  the message whose ctx.send to <peer> gave up after peer_timeout
    "queue_full"        a host send refused by overflow="dead_letter"
    "terminated"        input still queued (host queue or K2K inbox) when its actor stopped, or sent
                        by a peer (ctx.send) after it stopped
    "stalled"           input still queued when an actor the watchdog failed finally stopped

`on_dead_letter` callbacks run for every letter on the runtime's threads (keep them short, never
send to the actor they are told about); one that raises is logged and counted (`callback_errors`).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("ringkernel_runtime")


@dataclass(frozen=True)
class DeadLetter:
    reason: str              # see the module docstring
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
        self.on_dead_letter: list = []     # callbacks, each called as cb(letter)
        self.callback_errors = 0
        self.last_callback_error: BaseException | None = None

    def add(self, letter: DeadLetter) -> None:
        with self._lock:
            self._items.append(letter)
            self.total += 1
        if self.on_dead_letter:
            self._notify((letter,))

    def add_many(self, letters) -> None:
        letters = list(letters)
        if not letters:
            return
        with self._lock:
            self._items.extend(letters)
            self.total += len(letters)
        if self.on_dead_letter:
            self._notify(letters)

    def _notify(self, letters) -> None:
        for cb in list(self.on_dead_letter):
            for letter in letters:
                try:
                    cb(letter)
                except Exception as exc:  # noqa: BLE001 - a user callback must not harm the runtime
                    self.callback_errors += 1
                    self.last_callback_error = exc
                    log.exception("ringkernel: on_dead_letter callback %r raised; ignored "
                                  "(dead_letters.callback_errors = %d)", cb, self.callback_errors)

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
