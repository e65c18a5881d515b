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
import threading
import time
import weakref
from dataclasses import dataclass, field

import numpy as np

from . import actor_abi as abi
from .deadletter import DeadLetterQueue
from ringkernel_codegen import backends
from ringkernel_codegen.errors import RingKernelError
from .errors import (BackendUnavailableError, CompileError, LaunchError, MessageTypeError,
                     UnknownPeerError)
from .handle import KernelHandle
from .hlc import HLC
from .layout import CB
from .lifecycle import KernelState
from .registry import Registry
from .supervisor import RestartPolicy, Supervisor, Temporary

_OVERFLOW = ("block", "dead_letter", "error")


@dataclass
class LaunchOptions:
    queue_capacity: int = 1024            # per lane, power of two
    peers: dict = field(default_factory=dict)   # peer name -> KernelHandle
    state: object = None                  # initial state: state_type instance, dict or None (zeros)
    overflow: str = "block"               # "block" (up to send_timeout) | "dead_letter" | "error"
    send_timeout: float = 5.0
    activate: bool = True                 # False: launch DRAINING (deactivated)
    spin_us: float = 200.0                # idle spinning before backing off to short sleeps
    peer_timeout: float = 1.0             # ctx.send blocks this long on a full peer inbox
    batch: int = 256                      # messages handled per lane per poll
    stall_timeout: float | None = 2.0     # watchdog: fail an actor silent this long (None: off)


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
                 dead_letter_max: int = 100_000, arena_mib: int | None = None, preload=()):
        """`arena_mib` (GPU backends): the size of the mapped and device memory arenas the actors'
        queues are carved from, allocated now, before any actor is resident (backends/cuda_resources.py;
        default 64 MiB each). `preload`: ring kernels to compile and load now, so that launching
        them later loads no module while other actors are resident."""
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
        self._ids = itertools.count(1)
        self._pool_ids = itertools.count(1)
        self._lock = threading.Lock()
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

    def close(self, timeout: float = 2.0) -> None:
        """Terminate every actor (children before parents) and stop the watchdog."""
        for h in reversed(list(self._handles)):
            h.terminate(timeout)
        self._closed.set()
        self._watchdog.join(timeout)
        _live_runtimes.discard(self)

    # -- launching -----------------------------------------------------------------------------
    def launch(self, kernel, options: LaunchOptions | None = None, name: str | None = None) -> KernelHandle:
        """Start an unsupervised actor (a failure leaves it FAILED)."""
        return self._start(kernel, options or LaunchOptions(), name, None, Temporary())

    def spawn(self, kernel, name: str, restart: RestartPolicy | None = None, parent: KernelHandle | None = None,
              options: LaunchOptions | None = None) -> KernelHandle:
        """Start a supervised actor registered as `name` (restart defaults to OneForOne())."""
        from .supervisor import OneForOne
        if parent is not None and not isinstance(parent, KernelHandle):
            raise LaunchError(f"parent must be a handle from rt.spawn/rt.launch, got {parent!r}")
        return self._start(kernel, options or LaunchOptions(), name, parent, restart or OneForOne())

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
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise LaunchError(f"launch_pool needs count >= 1 actors, got {count!r}")
        if parent is not None and not isinstance(parent, KernelHandle):
            raise LaunchError(f"parent must be a handle from rt.spawn/rt.launch, got {parent!r}")
        options = options or LaunchOptions()
        base = name or f"{getattr(kernel, 'name', 'pool')}-pool{next(self._pool_ids)}"
        policy = restart or Temporary()
        actors = [self._make(kernel, options) for _ in range(count)]
        make_pool = getattr(self._actors, "make_pool", None)
        if make_pool is not None:
            make_pool(actors)
        self._admit(actors)
        return [self._register(kernel, a, options, f"{base}/{i}", parent, policy) for i, a in enumerate(actors)]

    def _start(self, kernel, options, name, parent, policy) -> KernelHandle:
        actor = self._make(kernel, options)
        self._admit([actor])
        return self._register(kernel, actor, options, name or f"{kernel.name}#{actor.ctrl[CB['actor_id']]}",
                              parent, policy)

    def _make(self, kernel, options):
        """A compiled actor with its peers wired, not yet running."""
        abi.check_kernel(kernel)
        if options.overflow not in _OVERFLOW:
            raise LaunchError(f"overflow={options.overflow!r}; use one of {', '.join(_OVERFLOW)}")
        cap = options.queue_capacity
        if cap < 2 or cap & (cap - 1):
            raise LaunchError(f"queue_capacity={cap} must be a power of two >= 2 (e.g. 1024)")
        actor_id = next(self._ids)
        state = self._initial_state(kernel, options.state)
        args = (kernel, actor_id, cap, state, int(options.spin_us * 1e3), int(options.peer_timeout * 1e9),
                options.batch, self.node_id)
        actor = self._actors.make_actor(*args)
        actor.peers = self._wire_peers(kernel, options.peers)
        self._compile(kernel, actor)
        return actor

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

    def _register(self, kernel, actor, options, name, parent, policy) -> KernelHandle:
        handle = KernelHandle(self, kernel, actor, options, name, parent, policy)
        self.registry.register(name, handle)
        with self._lock:
            self._handles.append(handle)
        self.supervisor.add(handle)
        handle._start()
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
                arr[k] = v
        elif isinstance(init, st):
            arr[0] = init.record
        elif getattr(init, "dtype", None) == st.dtype:
            arr[0] = init
        else:
            raise MessageTypeError(f"LaunchOptions(state=...) must be a {st.__name__} or a dict of its fields")
        return arr

    @staticmethod
    def _wire_peers(kernel, peers: dict) -> tuple:
        declared = dict(kernel.peers)
        for pname in peers:
            if pname not in declared:
                raise UnknownPeerError(f"{kernel.name} declares no peer {pname!r}; declared peers: "
                                       f"{', '.join(sorted(declared)) or 'none'} (see @ring_kernel(peers=...))")
        lanes = []
        for pname in sorted(declared):
            if pname not in peers:
                raise UnknownPeerError(f"{kernel.name} sends to peer {pname!r} but LaunchOptions(peers=...) "
                                       f"does not wire it; pass peers={{'{pname}': handle}}")
            target = peers[pname]
            if not isinstance(target, KernelHandle):
                raise LaunchError(f"peer {pname!r} must be a handle from rt.launch/rt.spawn, got {target!r}")
            if target.kernel.input_type is not declared[pname]:
                raise MessageTypeError(f"peer {pname!r} ({target.name}) takes {target.kernel.input_type.__name__}, "
                                       f"but {kernel.name} sends it {declared[pname].__name__}")
            inbox = target.actor.k2k_lane
            lanes.append((inbox.hdr, inbox.meta, inbox.payload, np.zeros(1, dtype=inbox.dtype)))
        return tuple(lanes)

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
    def kill_tree(self, handle: KernelHandle, timeout: float = 2.0) -> None:
        """Terminate `handle` and every actor spawned under it (children first)."""
        for h in self.supervisor.descendants(handle) + [handle]:
            h.terminate(timeout)

    def _forget(self, handle: KernelHandle) -> None:
        self.registry.unregister(handle.name)

    @property
    def handles(self) -> list[KernelHandle]:
        return list(self._handles)

    def _watch(self, interval: float) -> None:
        while not self._closed.wait(interval):
            now = time.time_ns()
            for h in list(self._handles):
                st = h.options.stall_timeout
                if st is None or h.state not in (KernelState.ACTIVE, KernelState.DRAINING):
                    continue
                # a block that never beat (never became resident, or hung before its first poll)
                # is counted from its launch
                beat = h.actor.heartbeat_ns or h.started_ns
                if beat and now - beat > st * 1e9:
                    h._stall()
