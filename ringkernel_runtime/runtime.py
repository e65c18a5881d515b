"""Runtime: launches actors on a backend and owns supervision, registry, dead letters, watchdog.

    with Runtime(backend="cpu") as rt:            # "cpu" | "cuda" | "numba" | "auto"
        k = rt.launch(adder, LaunchOptions(queue_capacity=1024))
        w = rt.spawn(worker, name="pool/w1", restart=OneForOne(max_restarts=3, window=60.0))

Backends (objects of ringkernel_codegen.backends): "cpu" (one OS thread per actor, njit loop),
"cuda" (resident block running the CUDA C++ actor loop, backends/cuda_actor.py), "numba" (resident
block running the numba.cuda actor loop, backends/numba_actor.py; also runs under the numba CUDA
simulator), "auto" (cuda if a GPU is usable, else cpu). The backend's runtime provider
(backends/<name>_backend.py) provides `make_actor(kernel, actor_id, capacity, initial_state,
spin_ns, peer_timeout_ns, batch, node_id)` returning an object with CpuActor's interface, and
optionally `make_pool`, `prepare(arena_mib)`, `preload(kernel)` and `admit(actors)`.

LaunchOptions lives in launch_options.py, Runtime's launching methods in runtime_launch.py.
"""
from __future__ import annotations

import atexit
import itertools
import logging
import threading
import time
import weakref
from collections import deque

from . import actor_abi as abi
from .deadletter import DeadLetterQueue
from ringkernel_codegen import backends
from .errors import BackendUnavailableError, InvalidArgumentError, check_int, check_timeout
from .handle import ActorRecord, KernelHandle, StopReport
from .hlc import HLC
from .launch_options import _OVERFLOW, MAX_BATCH, MAX_QUEUE_CAPACITY, LaunchOptions  # noqa: F401 - re-exported
from .layout import CB
from .lifecycle import KernelState
from .registry import Registry
from .runtime_launch import RuntimeLaunching
from .supervisor import Supervisor

log = logging.getLogger("ringkernel_runtime")


def _resolve_backend(backend):
    """The backend (ringkernel_codegen.backends) whose runtime provider hosts this Runtime's actors;
    "auto" is the default one (cuda with a GPU, else cpu)."""
    b = backends.resolve(backend)
    why = b.unavailable_reason()
    if why is not None:
        raise BackendUnavailableError(f"the {b.name} backend is not available here ({why}); "
                                      "use Runtime(backend='cpu') or 'auto'")
    return b


class _Preload:
    """A backend's preload hook seen as an actor's compile (for Runtime._compile's errors)."""

    def __init__(self, hook, kernel):
        self.hook, self.kernel = hook, kernel
        self.where = getattr(hook, "__module__", "backend").rsplit(".", 1)[-1]

    def compile(self) -> None:
        self.hook(self.kernel)


_live_runtimes: "weakref.WeakSet[Runtime]" = weakref.WeakSet()


@atexit.register
def _close_live_runtimes() -> None:
    """At interpreter exit, stop resident actors before memory finalizers run: freeing memory a
    resident GPU block still polls could wait for that block forever."""
    for rt in list(_live_runtimes):
        try:
            rt.close(timeout=1.0)
        except Exception:  # noqa: BLE001 - exiting anyway; never turn exit into a traceback
            pass


class Runtime(RuntimeLaunching):
    def __init__(self, backend: str = "auto", node_id: int = 0, watchdog_interval: float = 0.05,
                 dead_letter_max: int = 100_000, arena_mib: int | None = None, preload=(),
                 history_max: int = 256):
        """`arena_mib` (GPU backends): the size of the mapped and device memory arenas the actors'
        queues are carved from, allocated now, before any actor is resident (backends/cuda_resources.py;
        default 64 MiB each). `preload`: ring kernels to compile and load now, so that launching
        them later loads no module while other actors are resident. `history_max`: how many
        terminated actors `history` keeps (their handles leave `handles` and the supervisor)."""
        if not isinstance(backend, str):
            raise InvalidArgumentError(f"backend={backend!r} must be a str ('cpu', 'cuda', 'numba' or 'auto')")
        node_id = check_int(node_id, "node_id", lo=0, hi=(1 << 31) - 1)
        watchdog_interval = check_timeout(watchdog_interval, "watchdog_interval", allow_none=False)
        if not 0 < watchdog_interval <= 60:
            raise InvalidArgumentError(f"watchdog_interval={watchdog_interval!r} must be in (0, 60] seconds")
        dead_letter_max = check_int(dead_letter_max, "dead_letter_max", lo=1)
        if arena_mib is not None:
            arena_mib = check_int(arena_mib, "arena_mib", lo=1)
        history_max = check_int(history_max, "history_max", lo=0)
        chosen = _resolve_backend(backend)
        self.backend = chosen.name
        self._actors = chosen.runtime()      # the provider: make_actor, and what else it offers
        prepare = getattr(self._actors, "prepare", None)
        if prepare is not None:
            prepare(arena_mib)
        self.node_id = node_id
        self.hlc = HLC(node_id)
        self.registry = Registry()
        self.supervisor = Supervisor()
        self.dead_letters = DeadLetterQueue(dead_letter_max)
        self._handles: list[KernelHandle] = []
        self.history: deque[ActorRecord] = deque(maxlen=history_max)   # terminated actors, last N
        self.unfinished: list[StopReport] = []   # what the last close() could not stop in time
        self._stuck: list[KernelHandle] = []
        self.watchdog_errors = 0
        self._orphans: set[KernelHandle] = set()  # stopped actors whose K2K producers still run
        self._ids = itertools.count(1)
        self._pool_ids = itertools.count(1)
        self._lock = threading.RLock()
        self._closing = False
        self._closed = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, args=(watchdog_interval,),
                                          name="ringkernel-watchdog", daemon=True)
        self._watchdog.start()
        _live_runtimes.add(self)
        self.preload(*preload)

    def preload(self, *kernels) -> None:
        """Compile and load these ring kernels' actor modules now (GPU backends: NVRTC or numba,
        and the module load), so a later launch of them loads nothing while other actors are
        resident. Nothing to do on the cpu backend."""
        preload = getattr(self._actors, "preload", None)
        for kernel in kernels:
            abi.check_kernel(kernel)
            if preload is not None:
                self._compile(kernel, _Preload(preload, kernel))

    # -- context manager -----------------------------------------------------------------------
    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self, timeout: float = 2.0) -> list[StopReport]:
        """Terminate every actor and stop the watchdog; from now on nothing launches.

        Every actor is told to stop at once; then close waits, in parallel, up to `timeout`
        seconds in all for their loops to return (each after the message in hand). Input still
        queued is dead-lettered. Returns (and keeps in `unfinished`, and logs) a StopReport for
        each actor whose handler was still running at the deadline: it is TERMINATED, refuses
        input, and its queued input is dead-lettered when the handler returns. Closing a closed
        Runtime waits for nothing: it returns the reports of the actors still not stopped.
        """
        timeout = check_timeout(timeout, allow_none=False)
        with self._lock:
            if self._closed.is_set():
                self._stuck = [h for h in self._stuck if not h.stopped]
                self.unfinished = [h.terminate_report for h in self._stuck]
                return list(self.unfinished)
            self._closing = True
            handles = list(self._handles)
        self._stuck = self._terminate_all(list(reversed(handles)), timeout)   # children first
        unfinished = [h.terminate_report for h in self._stuck]
        self._drain_orphans()
        self._closed.set()
        if self._watchdog is not threading.current_thread():
            self._watchdog.join(max(timeout, 1.0))
        _live_runtimes.discard(self)
        self.unfinished = unfinished
        if unfinished:
            log.warning("ringkernel: Runtime.close: %d actor(s) still in a handler after %ss: %s",
                        len(unfinished), timeout, ", ".join(r.actor for r in unfinished))
        return unfinished

    @property
    def closed(self) -> bool:
        return self._closing

    def _terminate_all(self, handles: list, timeout: float) -> list[KernelHandle]:
        """Tell every actor to stop, then wait for them all against one deadline; returns those
        still running a handler at the deadline (each with its terminate_report)."""
        t0 = time.monotonic()
        for h in handles:
            h._request_terminate()
        deadline = time.monotonic() + timeout
        return [h for h in handles if not h._await_terminated(max(0.0, deadline - time.monotonic()), t0)]

    # -- supervision helpers -------------------------------------------------------------------
    def kill_tree(self, handle: KernelHandle, timeout: float = 2.0) -> list[StopReport]:
        """Terminate `handle` and every actor spawned under it (children first), waiting for them
        in parallel up to `timeout` seconds in all; returns StopReports for those still in a
        handler at the deadline (see close)."""
        if not isinstance(handle, KernelHandle) or handle.runtime is not self:
            raise InvalidArgumentError(f"kill_tree needs a handle of this Runtime, got {handle!r}")
        timeout = check_timeout(timeout, allow_none=False)
        return [h.terminate_report for h in self._terminate_all(self.supervisor.descendants(handle) + [handle],
                                                                timeout)]

    def _retire(self, handle: KernelHandle) -> None:
        """A terminated actor whose loop has returned leaves the tables (its record stays in
        `history`); while one of its K2K producers still runs, the watchdog keeps draining it."""
        with self._lock:
            if handle._retired:
                return
            handle._retired = True
            try:
                self._handles.remove(handle)
            except ValueError:
                pass
            if any(not p._loop_done.is_set() for p in list(handle._producers)):
                self._orphans.add(handle)
            c = handle.actor.ctrl
            self.history.append(ActorRecord(
                handle.name, getattr(handle.kernel, "name", "?"), handle.actor_id, handle.state,
                handle.restart_count, int(c[CB["messages_in"]]), int(c[CB["messages_out"]]), handle.failure,
                time.time(), tuple(handle.lifecycle.history)))
        self.supervisor.remove(handle)
        self.registry.unregister(handle.name, handle)

    def _drain_orphans(self) -> None:
        with self._lock:
            orphans = [(h, list(h._producers)) for h in self._orphans]
        for h, producers in orphans:
            live = any(not p._loop_done.is_set() for p in producers)
            h._drain_inboxes()                        # after the check: final once none was live
            if not live:
                with self._lock:
                    self._orphans.discard(h)

    @property
    def handles(self) -> list[KernelHandle]:
        """The actors not yet terminated and stopped (terminated ones: `history`)."""
        with self._lock:
            return list(self._handles)

    def _watch(self, interval: float) -> None:
        while not self._closed.wait(interval):
            try:
                self._watch_once()
            except Exception:  # noqa: BLE001 - the watchdog must outlive any one bad pass
                self.watchdog_errors += 1
                log.exception("ringkernel: watchdog pass failed (watchdog_errors = %d)", self.watchdog_errors)

    def _watch_once(self) -> None:
        now = time.time_ns()
        for h in self.handles:
            try:
                st = h.options.stall_timeout
                if st is None or h.state not in (KernelState.ACTIVE, KernelState.DRAINING):
                    continue
                # a block that never beat (never became resident, or hung before its first poll)
                # is counted from its launch
                beat = h.actor.heartbeat_ns or h.started_ns
                if beat and now - beat > st * 1e9:
                    h._stall()
            except Exception:  # noqa: BLE001 - one actor's trouble must not blind the watchdog
                self.watchdog_errors += 1
                log.exception("ringkernel: watchdog check of actor %s failed (watchdog_errors = %d)",
                              h.name, self.watchdog_errors)
        if self._orphans:
            self._drain_orphans()
