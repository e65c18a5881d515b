"""Gate: many calls at once (traffic), or one recovery with none in progress (exclusive)."""
from __future__ import annotations

import contextlib
import threading


class Gate:
    def __init__(self):
        self._cond = threading.Condition()
        self._active = 0
        self._exclusive = False
        self._owner = None

    @contextlib.contextmanager
    def traffic(self):
        me = threading.get_ident()
        with self._cond:
            while self._exclusive and self._owner != me:
                self._cond.wait()
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self):
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._exclusive, self._owner = True, threading.get_ident()
            while self._active:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._exclusive, self._owner = False, None
                self._cond.notify_all()
