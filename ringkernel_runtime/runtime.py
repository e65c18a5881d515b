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
"""
from __future__ import annotations

import atexit
import itertools
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from . import actor_abi as abi
from .deadletter import DeadLetterQueue
from ringkernel_codegen import backends
from ringkernel_codegen.errors import RingKernelError
from .errors import (BackendUnavailableError, CompileError, InvalidArgumentError, InvalidOptionsError,
                     LaunchError, MessageTypeError, RuntimeClosedError, UnknownPeerError, check_int,
                     check_name, check_timeout)
from .handle import ActorRecord, KernelHandle, StopReport
from .hlc import HLC
from .layout import CB
from .lifecycle import KernelState
from .registry import Registry
from .supervisor import RestartPolicy, Supervisor, Temporary

_OVERFLOW = ("block", "dead_letter", "error")
MAX_QUEUE_CAPACITY = 1 << 26          # messages per lane
MAX_BATCH = 1 << 20
log = logging.getLogger("ringkernel_runtime")


@dataclass
class LaunchOptions:
    queue_capacity: int = 1024            # per lane, power of two
    peers: dict = field(default_factory=dict)   # peer name -> KernelHandle
    state: object = None                  # initial state: state_type instance, dict or None (zeros)
    overflow: str = "block"               # "block" (up to send_timeout) | "dead_letter" | "error"
    send_timeout: float = 5.0
    activate: bool = True                 # False: launch DRAINING (deactivated)
    spin_us: float = 200.0                # idle spinning before backing off to short sleeps
    # ctx.send blocks this long on a full peer inbox, then gives up: the message is dead-lettered
    # ("peer_full:<peer>") and the sender FAILS like ctx.fail (restarted if supervised; an
    # unsupervised rt.launch actor stays FAILED). A consumer paused longer than this fails its
    # producers, and a failed producer no longer drains its own inbox, so the failure walks up an
    # unsupervised chain. Supervise the actors, or raise peer_timeout above the longest pause (on the
    # cpu backend a send blocked longer than stall_timeout is taken for a stall: raise both).
    peer_timeout: float = 1.0
    batch: int = 256                      # messages handled per lane per poll (>= 1)
    stall_timeout: float | None = 2.0     # watchdog: fail an actor silent this long (None: off)

    def __post_init__(self):
        self.validate()

    def validate(self) -> "LaunchOptions":
        """Check every field (also done at launch: the fields may be changed after construction);
        raises InvalidOptionsError (a LaunchError and a ValueError) naming the field."""
        E = InvalidOptionsError
        cap = check_int(self.queue_capacity, "LaunchOptions(queue_capacity)", error=E)
        if cap < 2 or cap & (cap - 1) or cap > MAX_QUEUE_CAPACITY:
            raise E(f"LaunchOptions(queue_capacity={cap}) must be a power of two >= 2 and <= "
                    f"{MAX_QUEUE_CAPACITY} (e.g. 1024)")
        if not isinstance(self.peers, Mapping):
            raise E(f"LaunchOptions(peers={self.peers!r}) must be a dict of peer name -> handle")
        for pname in self.peers:
            if not isinstance(pname, str):
                raise E(f"LaunchOptions(peers=...): peer name {pname!r} must be a str")
        if not isinstance(self.overflow, str) or self.overflow not in _OVERFLOW:
            raise E(f"overflow={self.overflow!r}; use one of {', '.join(_OVERFLOW)}")
        check_timeout(self.send_timeout, "LaunchOptions(send_timeout)", allow_none=False, error=E)
        if not isinstance(self.activate, (bool, np.bool_)):
            raise E(f"LaunchOptions(activate={self.activate!r}) must be True or False")
        spin = check_timeout(self.spin_us, "LaunchOptions(spin_us)", allow_none=False, error=E)
        if spin > 1e7:
            raise E(f"LaunchOptions(spin_us={self.spin_us!r}) must be <= 1e7 (10 s of spinning)")
        pt = check_timeout(self.peer_timeout, "LaunchOptions(peer_timeout)", allow_none=False, error=E)
        if pt > 1e8:
            raise E(f"LaunchOptions(peer_timeout={self.peer_timeout!r}) must be <= 1e8 seconds")
        check_int(self.batch, "LaunchOptions(batch)", lo=1, hi=MAX_BATCH, error=E)
        st = check_timeout(self.stall_timeout, "LaunchOptions(stall_timeout)", error=E)
        if st == 0:
            raise E("LaunchOptions(stall_timeout=0) must be > 0 seconds (None: no watchdog)")
        return self


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


class Runtime:
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

    # -- launching -----------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closing:
            raise RuntimeClosedError("this Runtime is closed (its `with` block ended or close() was called); "
                                     "it launches no more actors. Make a new Runtime.")

    @staticmethod
    def _options(options) -> "LaunchOptions":
        if options is None:
            return LaunchOptions()
        if not isinstance(options, LaunchOptions):
            raise InvalidOptionsError(f"options={options!r} must be a LaunchOptions")
        return options.validate()

    def launch(self, kernel, options: LaunchOptions | None = None, name: str | None = None) -> KernelHandle:
        """Start an unsupervised actor (a failure leaves it FAILED); it is its own supervision group."""
        self._check_open()
        name = check_name(name, allow_none=True, error=InvalidOptionsError)
        return self._start(kernel, self._options(options), name, None, Temporary(), supervised=False)

    def spawn(self, kernel, name: str, restart: RestartPolicy | None = None, parent: KernelHandle | None = None,
              options: LaunchOptions | None = None) -> KernelHandle:
        """Start a supervised actor registered as `name` (restart defaults to OneForOne()), in the
        supervision group of `parent` (None: the root group of spawned actors)."""
        from .supervisor import OneForOne
        self._check_open()
        name = check_name(name, error=InvalidOptionsError)
        self._check_parent(parent)
        if restart is not None and not isinstance(restart, RestartPolicy):
            raise InvalidOptionsError(f"restart={restart!r} must be a restart policy such as OneForOne()")
        return self._start(kernel, self._options(options), name, parent, restart or OneForOne(), supervised=True)

    def _check_parent(self, parent) -> None:
        if parent is not None and not isinstance(parent, KernelHandle):
            raise LaunchError(f"parent must be a handle from rt.spawn/rt.launch, got {parent!r}")
        if parent is not None and parent.runtime is not self:
            raise LaunchError(f"parent {parent.name} belongs to another Runtime")

    def launch_pool(self, kernel, count: int, options: LaunchOptions | None = None, name: str | None = None,
                    restart: RestartPolicy | None = None, parent: KernelHandle | None = None) -> list[KernelHandle]:
        """Start `count` actors of one ring kernel as a pool; returns their handles.

        On the cuda backend the pool is ONE launch of `count` resident blocks (block i runs
        member i); each member keeps its own queues and control block, so it is sent to,
        supervised, failed, restarted (without a relaunch) and terminated on its own. On the cpu
        backend the members are `count` actor threads, and on the numba backend `count` separate
        launches: the same behaviour. Members are registered as "<name>/<i>"; `restart=None`
        leaves them unsupervised (like `launch`), a policy supervises each (like `spawn`).
        """
        self._check_open()
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise LaunchError(f"launch_pool needs count >= 1 actors, got {count!r}")
        self._check_parent(parent)
        name = check_name(name, allow_none=True, error=InvalidOptionsError)
        if restart is not None and not isinstance(restart, RestartPolicy):
            raise InvalidOptionsError(f"restart={restart!r} must be a restart policy such as OneForOne()")
        options = self._options(options)
        base = name or f"{getattr(kernel, 'name', 'pool')}-pool{next(self._pool_ids)}"
        policy = restart or Temporary()
        made = [self._make(kernel, options) for _ in range(count)]
        actors = [a for a, _ in made]
        make_pool = getattr(self._actors, "make_pool", None)
        if make_pool is not None:
            make_pool(actors)
        self._admit(actors)
        return [self._register(kernel, a, options, f"{base}/{i}", parent, policy, restart is not None, peers)
                for i, (a, peers) in enumerate(made)]

    def _start(self, kernel, options, name, parent, policy, supervised) -> KernelHandle:
        actor, peers = self._make(kernel, options)
        self._admit([actor])
        return self._register(kernel, actor, options, name or f"{kernel.name}#{actor.ctrl[CB['actor_id']]}",
                              parent, policy, supervised, peers)

    def _make(self, kernel, options):
        """A compiled actor with its peers wired, not yet running; and the peer handles."""
        abi.check_kernel(kernel)
        options.validate()
        cap = options.queue_capacity
        state = self._initial_state(kernel, options.state)
        lanes, peers = self._wire_peers(kernel, options.peers)
        actor_id = next(self._ids)
        args = (kernel, actor_id, int(cap), state, int(options.spin_us * 1e3), int(options.peer_timeout * 1e9),
                int(options.batch), self.node_id)
        try:
            actor = self._actors.make_actor(*args)
        except MemoryError:
            need = int(cap) * (kernel.input_type.dtype.itemsize + 32) * 2
            raise InvalidOptionsError(f"LaunchOptions(queue_capacity={cap}): not enough memory for the "
                                      f"actor's queues (about {need / 2**20:.0f} MiB of input lanes alone); "
                                      "use a smaller queue_capacity") from None
        actor.peers = lanes
        self._compile(kernel, actor)
        return actor, peers

    def _admit(self, actors: list) -> None:
        """GPU backends: refuse here, in the caller's thread, actors whose blocks could not all be
        resident beside the running ones (backends/cuda_resident.admit), before any is started."""
        admit = getattr(self._actors, "admit", None)
        if admit is not None:
            try:
                admit(actors)
            except BaseException:
                for actor in actors:
                    getattr(actor, "close", lambda: None)()
                raise

    def _register(self, kernel, actor, options, name, parent, policy, supervised=True, peers=()) -> KernelHandle:
        handle = KernelHandle(self, kernel, actor, options, name, parent, policy, supervised, peers)
        self.supervisor.add(handle)                  # (never under self._lock: callbacks may launch)
        try:
            with self._lock:
                if self._closing:                    # close() began after this launch did
                    getattr(actor, "close", lambda: None)()
                    self._check_open()
                self.registry.register(name, handle)
                self._handles.append(handle)
                for target in peers:
                    target._producers.add(handle)
                    if target._retired:              # stopped meanwhile: drain what we send it
                        self._orphans.add(target)
                handle._start()                      # under the lock: close() sees it running or not at all
        except BaseException:
            if handle._thread is None:
                self.supervisor.remove(handle)
            raise
        return handle

    @staticmethod
    def _initial_state(kernel, init) -> np.ndarray:
        st = kernel.state_type
        arr = np.zeros(1, dtype=st.dtype if st is not None else abi.NO_STATE_DTYPE)
        if init is None:
            return arr
        if st is None:
            raise LaunchError(f"LaunchOptions(state=...) given but {kernel.name} declares no state=")
        if isinstance(init, dict):
            for k, v in init.items():
                if k not in st.dtype.names:
                    raise LaunchError(f"state field {k!r} is not in {st.__name__} ({', '.join(st.dtype.names)})")
                try:
                    arr[k] = v
                except (TypeError, ValueError, OverflowError) as exc:
                    raise InvalidOptionsError(f"LaunchOptions(state={{{k!r}: {v!r}}}): {exc}") from None
        elif isinstance(init, st):
            arr[0] = init.record
        elif getattr(init, "dtype", None) == st.dtype:
            arr[0] = init
        else:
            raise MessageTypeError(f"LaunchOptions(state=...) must be a {st.__name__} or a dict of its fields")
        return arr

    def _wire_peers(self, kernel, peers: dict) -> tuple:
        declared = dict(kernel.peers)
        for pname in peers:
            if pname not in declared:
                raise UnknownPeerError(f"{kernel.name} declares no peer {pname!r}; declared peers: "
                                       f"{', '.join(sorted(declared)) or 'none'} (see @ring_kernel(peers=...))")
        lanes, handles = [], []
        for pname in sorted(declared):
            if pname not in peers:
                raise UnknownPeerError(f"{kernel.name} sends to peer {pname!r} but LaunchOptions(peers=...) "
                                       f"does not wire it; pass peers={{'{pname}': handle}}")
            target = peers[pname]
            if not isinstance(target, KernelHandle):
                raise LaunchError(f"peer {pname!r} must be a handle from rt.launch/rt.spawn, got {target!r}")
            if target.runtime is not self:
                raise LaunchError(f"peer {pname!r} ({target.name}) belongs to another Runtime")
            refusal = target._refusal()
            if refusal is not None:
                raise LaunchError(f"peer {pname!r}: {refusal}")
            if target.kernel.input_type is not declared[pname]:
                raise MessageTypeError(f"peer {pname!r} ({target.name}) takes {target.kernel.input_type.__name__}, "
                                       f"but {kernel.name} sends it {declared[pname].__name__}")
            inbox = target.actor.k2k_lane
            lanes.append((inbox.hdr, inbox.meta, inbox.payload, np.zeros(1, dtype=inbox.dtype)))
            handles.append(target)
        return tuple(lanes), tuple(handles)

    @staticmethod
    def _compile(kernel, actor) -> None:
        try:
            actor.compile()
        except RingKernelError:
            raise
        except Exception as exc:
            where = getattr(actor, "where", None) or type(actor).__module__.rsplit(".", 1)[-1]
            raise CompileError(f"ring kernel {kernel.name} failed to compile for the {where} backend "
                               f"(handler contract: ringkernel_runtime.actor_abi): {exc}") from exc

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
