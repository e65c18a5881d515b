"""numba's deferred frees are held while resident actor blocks run (numba_actor.py, cuda_driver.py).

numba queues cuMemFree / cuMemFreeHost / cuModuleUnload per context and flushes the queue once more
than config.CUDA_DEALLOCS_COUNT items (or enough bytes) are queued; a free may wait for an idle
device, which a resident block never gives. From the first resident launch to the last stop the
numba backend holds that flushing off through numba's own defer_cleanup()/disable(). Checked here
without a GPU on numba's real _PendingDeallocs and Context classes; the frees are recorders.
"""
import logging
import threading

import pytest

from ringkernel_runtime.backends import cuda_driver, numba_actor

driver = pytest.importorskip("numba.cuda.cudadrv.driver")
if not hasattr(driver, "_PendingDeallocs"):               # the simulator's stand-in driver
    pytest.skip("numba's CUDA driver module is not the real one here", allow_module_level=True)

from numba import config  # noqa: E402 - after the skip above

CAPACITY = 1 << 40                                          # bytes: only the count threshold counts
MORE_THAN_THRESHOLD = config.CUDA_DEALLOCS_COUNT * 2 + 5


class Freed:
    """Destructors that record each handle they free."""

    def __init__(self):
        self.handles = []

    def __call__(self, handle):
        self.handles.append(handle)

    __name__ = "recorded_free"                              # numba logs dtor.__name__


def queue(deallocs, freed, n, first=0):
    for handle in range(first, first + n):
        deallocs.add_item(freed, handle, 64)


@pytest.fixture(autouse=True)
def numba_logger(monkeypatch):
    """numba makes its driver logger when it initialises the driver, which it never does here."""
    if not hasattr(driver, "_logger"):
        monkeypatch.setattr(driver, "_logger", logging.getLogger("numba.cuda.cudadrv.driver"),
                            raising=False)


@pytest.fixture
def numba_targets(monkeypatch):
    """What the first-resident hook holds (instead of the contexts numba has made: none here)."""
    assert cuda_driver.resident_count() == 0, "a resident launch left counted by an earlier test"
    targets = []
    monkeypatch.setattr(numba_actor, "_numba_contexts", lambda: list(targets))
    yield targets
    left, held = cuda_driver.resident_count(), dict(numba_actor._held)
    for _ in range(left):                                   # leave a clean slate even on failure
        cuda_driver.resident_stopped()
    numba_actor.release_numba_deallocations()
    assert left == 0, "a resident launch was left counted"
    assert held == {}, "a numba hold outlived the resident launches"


def test_numba_flushes_past_its_threshold_when_nothing_is_resident():
    deallocs, freed = driver._PendingDeallocs(CAPACITY), Freed()
    queue(deallocs, freed, config.CUDA_DEALLOCS_COUNT)
    assert freed.handles == []                              # at the threshold: still queued
    queue(deallocs, freed, 1, first=config.CUDA_DEALLOCS_COUNT)
    assert sorted(freed.handles) == list(range(config.CUDA_DEALLOCS_COUNT + 1)) and len(deallocs) == 0


def test_frees_queued_while_resident_run_once_after_the_last_stop(numba_targets):
    deallocs, freed = driver._PendingDeallocs(CAPACITY), Freed()
    numba_targets.append(deallocs)
    cuda_driver.resident_started()
    try:
        assert deallocs.is_disabled
        queue(deallocs, freed, MORE_THAN_THRESHOLD)
        deallocs.clear()                                    # an OOM retry's flush: held too
        assert freed.handles == [] and len(deallocs) == MORE_THAN_THRESHOLD
    finally:
        cuda_driver.resident_stopped()
    assert freed.handles == list(range(MORE_THAN_THRESHOLD))  # all of them, exactly once, in order
    assert len(deallocs) == 0 and not deallocs.is_disabled
    queue(deallocs, freed, 1, first=100)                     # numba's own flushing is back
    queue(deallocs, freed, config.CUDA_DEALLOCS_COUNT, first=101)
    assert len(freed.handles) == MORE_THAN_THRESHOLD + config.CUDA_DEALLOCS_COUNT + 1


def test_overlapping_residents_hold_until_the_last_one_stops(numba_targets):
    deallocs, freed = driver._PendingDeallocs(CAPACITY), Freed()
    numba_targets.append(deallocs)
    cuda_driver.resident_started()                          # actor a
    queue(deallocs, freed, MORE_THAN_THRESHOLD)
    cuda_driver.resident_started()                          # actor b, while a runs
    cuda_driver.resident_stopped()                          # a stops, b still resident
    queue(deallocs, freed, MORE_THAN_THRESHOLD, first=MORE_THAN_THRESHOLD)
    assert freed.handles == [] and deallocs.is_disabled
    cuda_driver.resident_started()                          # a relaunched (restart) while b runs
    cuda_driver.resident_stopped()
    assert freed.handles == []
    cuda_driver.resident_stopped()                          # the last one
    assert freed.handles == list(range(2 * MORE_THAN_THRESHOLD))
    cuda_driver.resident_stopped()                          # a stray extra stop: nothing happens
    assert cuda_driver.resident_count() == 0 and len(freed.handles) == 2 * MORE_THAN_THRESHOLD


def test_the_last_stop_may_come_from_another_thread(numba_targets):
    deallocs, freed = driver._PendingDeallocs(CAPACITY), Freed()
    numba_targets.append(deallocs)
    cuda_driver.resident_started()                          # the launching thread
    queue(deallocs, freed, MORE_THAN_THRESHOLD)
    watchdog = threading.Thread(target=cuda_driver.resident_stopped)   # done() seen by the watchdog
    watchdog.start()
    watchdog.join(10)
    assert freed.handles == list(range(MORE_THAN_THRESHOLD)) and deallocs._disable_count == 0


def test_a_hold_taken_by_someone_else_still_defers_the_flush(numba_targets):
    deallocs, freed = driver._PendingDeallocs(CAPACITY), Freed()
    numba_targets.append(deallocs)
    with deallocs.disable():                                # e.g. user code inside defer_cleanup()
        cuda_driver.resident_started()
        queue(deallocs, freed, MORE_THAN_THRESHOLD)
        cuda_driver.resident_stopped()
        assert freed.handles == [] and deallocs._disable_count == 1
    deallocs.clear()
    assert freed.handles == list(range(MORE_THAN_THRESHOLD))


def test_holding_is_idempotent_and_paired():
    deallocs, freed = driver._PendingDeallocs(CAPACITY), Freed()
    assert numba_actor.hold_numba_deallocations(deallocs)
    assert not numba_actor.hold_numba_deallocations(deallocs)
    assert deallocs._disable_count == 1
    queue(deallocs, freed, MORE_THAN_THRESHOLD)
    numba_actor.release_numba_deallocations()
    numba_actor.release_numba_deallocations()               # nothing held: nothing to undo
    assert deallocs._disable_count == 0 and freed.handles == list(range(MORE_THAN_THRESHOLD))


def test_a_raising_hook_does_not_break_the_count_or_the_other_hooks(numba_targets):
    deallocs, freed = driver._PendingDeallocs(CAPACITY), Freed()
    numba_targets.append(deallocs)
    calls = []

    def bad_start():
        calls.append("start")
        raise RuntimeError("hook failed")

    def bad_stop():
        calls.append("stop")
        raise RuntimeError("hook failed")

    cuda_driver.add_resident_hooks(bad_start, bad_stop)
    try:
        cuda_driver.add_resident_hooks(bad_start, bad_stop)            # the same pair: once
        cuda_driver.resident_started()
        cuda_driver.resident_started()
        assert cuda_driver.resident_count() == 2 and calls == ["start"]
        queue(deallocs, freed, MORE_THAN_THRESHOLD)
        assert freed.handles == []                          # numba's hook ran all the same
        cuda_driver.resident_stopped()
        cuda_driver.resident_stopped()
        assert cuda_driver.resident_count() == 0 and calls == ["start", "stop"]
        assert freed.handles == list(range(MORE_THAN_THRESHOLD))
        cuda_driver.resident_started()                      # and the next round works too
        cuda_driver.resident_stopped()
        assert calls == ["start", "stop", "start", "stop"]
    finally:
        cuda_driver.remove_resident_hooks(bad_start, bad_stop)


def test_a_hook_added_while_resident_starts_at_once(numba_targets):
    calls = []
    start, stop = (lambda: calls.append("start")), (lambda: calls.append("stop"))
    cuda_driver.resident_started()
    try:
        cuda_driver.add_resident_hooks(start, stop)
        assert calls == ["start"]
    finally:
        cuda_driver.resident_stopped()
        cuda_driver.remove_resident_hooks(start, stop)
    assert calls == ["start", "stop"]


def test_a_numba_context_holds_both_queues_and_flushes_with_itself_current(numba_targets):
    """numba's real Context: defer_cleanup() holds its own queue (module unloads, streams) and its
    memory manager's (cuMemFree, cuMemFreeHost); the flush runs with the context pushed."""
    ctx = driver.Context(None, 0)                           # no driver call until push/pop
    events = []
    ctx.push = lambda: events.append("push")
    ctx.pop = lambda: events.append("pop")
    freed = Freed()
    ctx.memory_manager.deallocations.memory_capacity = CAPACITY
    ctx.deallocations.memory_capacity = CAPACITY
    numba_targets.append(ctx)
    cuda_driver.resident_started()
    assert ctx.deallocations.is_disabled and ctx.memory_manager.deallocations.is_disabled
    queue(ctx.memory_manager.deallocations, freed, MORE_THAN_THRESHOLD)
    queue(ctx.deallocations, lambda h: events.append(f"unload {h}"), 2, first=1000)
    assert freed.handles == [] and events == []
    cuda_driver.resident_stopped()
    assert freed.handles == list(range(MORE_THAN_THRESHOLD))
    assert events == ["push", "unload 1000", "unload 1001", "pop"]
    assert not ctx.deallocations.is_disabled and not ctx.memory_manager.deallocations.is_disabled
    cuda_driver.resident_started()                          # nothing queued: no push, no driver call
    cuda_driver.resident_stopped()
    assert events == ["push", "unload 1000", "unload 1001", "pop"]


def test_the_context_lookup_never_initialises_numba_or_makes_a_context():
    """The real hook path, on this machine: no GPU, so numba has no context and none is made."""
    devices = vars(driver.driver).get("devices")
    before = dict(devices) if devices is not None else None
    contexts = numba_actor._numba_contexts()
    cuda_driver.resident_started()
    cuda_driver.resident_stopped()
    after = vars(driver.driver).get("devices")
    assert (dict(after) if after is not None else None) == before
    if not before:                                          # a machine where numba made no context
        assert contexts == []
    assert numba_actor._held == {}
