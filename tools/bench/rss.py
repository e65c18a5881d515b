"""What one call allocates, as resident memory: the peak RSS above the RSS just before it.

Linux: writing "5" to /proc/self/clear_refs resets the process's high-water mark (VmHWM) to its
current RSS, so VmHWM after the call minus VmRSS before it is the call's own peak, whatever the
process held before (the benchmark's arrays, numba's compiled code). Elsewhere (or where
clear_refs cannot be written) launch_peak_mb returns None: callers print "n/a".

Caveat: memory the allocator reuses from pages already resident (freed earlier in the process and
not returned to the OS) does not raise RSS; an allocation of fresh pages that the call touches does.
"""
from __future__ import annotations

from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR = Path("/proc/self/clear_refs")


def _status_kb(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS; False where the platform does not allow it."""
    try:
        _CLEAR.write_text("5")
    except OSError:
        return False
    return True


def launch_peak_mb(fn, *args) -> float | None:
    """MB of resident memory fn(*args) added at its peak, or None where it cannot be measured."""
    if not reset_peak():
        return None
    before = _status_kb("VmRSS")
    fn(*args)
    peak = _status_kb("VmHWM")
    if before is None or peak is None:
        return None
    return max(peak - before, 0) / 1024
