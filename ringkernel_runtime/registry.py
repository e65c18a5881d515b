"""Actor names ("a/b/c") -> handles, with glob lookups: `*` within a segment, `**` across, `?`."""
from __future__ import annotations

import re
import threading
from functools import lru_cache

from .errors import InvalidArgumentError, InvalidOptionsError, LaunchError, check_name


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


class Registry:
    def __init__(self):
        self._names: dict[str, object] = {}
        self._lock = threading.Lock()

    def register(self, name: str, handle) -> None:
        check_name(name, "actor name", error=InvalidOptionsError)
        with self._lock:
            if name in self._names:
                raise LaunchError(f"an actor named {name!r} is already registered; pick another name "
                                  "or terminate the old actor first")
            self._names[name] = handle

    def unregister(self, name: str, handle=None) -> None:
        """Forget `name` (only if it still names `handle`, when one is given)."""
        with self._lock:
            if handle is None or self._names.get(name) is handle:
                self._names.pop(name, None)

    def lookup(self, name: str):
        """The handle registered as `name`, or None."""
        if not isinstance(name, str):
            raise InvalidArgumentError(f"lookup needs a name (str), got {name!r}")
        return self._names.get(name)

    def lookup_pattern(self, pattern: str) -> list:
        """Handles whose names match `pattern`, sorted by name."""
        if not isinstance(pattern, str):
            raise InvalidArgumentError(f"lookup_pattern needs a pattern (str), got {pattern!r}")
        rx = compile_pattern(pattern)
        with self._lock:
            items = sorted(self._names.items())
        return [h for n, h in items if rx.match(n)]

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._names)

    def __contains__(self, name: str) -> bool:
        return name in self._names

    def __len__(self) -> int:
        return len(self._names)
