"""Resident launches: the stream a resident grid runs on (frees wait while any runs), the
residency check that refuses blocks the device cannot hold beside the running actors, and the
launch itself on a pooled stream (cuda_resources.py)."""
from __future__ import annotations

import threading


class ResidentStream:
    """A stream running resident actor blocks. While any is running, device and mapped memory
    frees are deferred (cuda_driver): freeing may wait for the device to go idle, which a resident
    block never does. `done()` is the stream's; the first time it says done (or faults) the launch
    counts as stopped and `on_stop` runs (the blocks leave the residency ledger, the stream goes
    back to the pool)."""

    def __init__(self, stream, on_stop=()):
        from . import cuda_driver
        self.stream, self._stopped = stream, False
        self._on_stop = list(on_stop)
        self._lock = threading.Lock()
        cuda_driver.resident_started()

    def _stop(self) -> None:
        from . import cuda_driver
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        for callback in self._on_stop:
            callback()
        cuda_driver.resident_stopped()

    def done(self) -> bool:
        try:
            finished = self.stream.done()
        except Exception:
            self._stop()
            raise
        if finished:
            self._stop()
        return finished

    def __getattr__(self, name):          # handle, threads, ... of the wrapped stream
        return getattr(self.stream, name)


def _blocks_per_sm(function, threads: int) -> int | None:
    """How many blocks of `function` one SM holds at once, or None where the function cannot say
    (test fakes, the host emulation)."""
    occupancy = getattr(function, "max_active_blocks_per_sm", None)
    return None if occupancy is None else occupancy(threads)


def admit(actors: list) -> None:
    """The backend hook Runtime calls before starting actors: refuse (LaunchError, with the
    numbers) a launch whose blocks could not all be resident beside the actors already running,
    here in the caller's thread rather than later in the actor's. launch_resident counts them."""
    from .cuda_driver import require_device
    from .cuda_resources import resources
    pools = {id(a.pool): a.pool for a in actors if a.pool is not None}
    groups = [(p.members[0], len(p.members), f"pool of {len(p.members)} {p.members[0].kernel.name} actors")
              for p in pools.values()]
    groups += [(a, 1, f"actor {a.kernel.name}") for a in actors if a.pool is None]
    ledger, held = resources().residency, []
    try:                                  # counted together: held while the next group is checked
        for actor, blocks, what in groups:
            per_sm = _blocks_per_sm(actor.function, actor.threads)
            if per_sm is not None:
                held.append(ledger.reserve(what, blocks, per_sm, require_device().sm_count))
    finally:
        for token in held:
            ledger.release(token)


def launch_resident(what: str, function, blocks: int, threads: int, params, new_stream,
                    per_sm: int | None = None, **launch_kw) -> ResidentStream:
    """Launch `blocks` resident blocks on a pooled stream, counted in the residency ledger.

    `per_sm`: how many such blocks one SM holds at once; None asks the function's occupancy
    (a cuda_launch.Kernel); a function that cannot say (test fakes, emulators) is not counted.
    Refused (LaunchError, with the numbers) when the blocks could not all be resident beside the
    actors already running: a block that waited for a slot would wait for blocks that never end.
    """
    from .cuda_resources import resources
    if per_sm is None:
        per_sm = _blocks_per_sm(function, threads)
    on_stop = []
    if per_sm is not None:
        from .cuda_driver import require_device
        ledger = resources().residency
        token = ledger.reserve(what, blocks, per_sm, require_device().sm_count)
        on_stop.append(lambda: ledger.release(token))
    stream = new_stream()
    try:
        function.launch(blocks, threads, params, stream=stream, **launch_kw)
    except BaseException:
        for callback in on_stop:
            callback()
        raise
    if hasattr(stream, "handle"):                 # a real stream: back to the pool once stopped
        on_stop.append(lambda: resources().streams.put(stream))
    return ResidentStream(stream, on_stop)
