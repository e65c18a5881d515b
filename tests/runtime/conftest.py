import gc
import weakref

import pytest

# tests/runtime is not a package: pytest puts this folder on sys.path for its files (prepend mode)


def _live_runtimes():
    from ringkernel_runtime import runtime
    return getattr(runtime, "_live_runtimes", None)


@pytest.fixture(autouse=True)
def _runtimes_closed_and_collected(request):
    """Every Runtime a test makes is closed when the test ends (set up first, so this runs after
    the test's own fixtures have closed theirs). After a numba-backend test, garbage is collected
    here: numba's finalizers then queue their frees between tests, not in the middle of a later
    test's resident launch."""
    live = _live_runtimes()
    before = weakref.WeakSet(live) if live is not None else weakref.WeakSet()
    yield
    if live is None:
        return
    made = [rt for rt in list(live) if rt not in before]
    for rt in made:                                     # not closed by the test: close it now
        rt.close()
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    if "numba" in params.values() or any(getattr(rt, "backend", None) == "numba" for rt in made):
        gc.collect()
