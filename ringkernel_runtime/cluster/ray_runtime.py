"""RayRuntime: the Runtime's methods over several processes (nodes, GPUs), with Ray underneath.

    with RayRuntime(backend="cpu", hosts=2) as rt:          # 2 hosting processes on this Ray cluster
        sink = rt.spawn(accumulate, name="pipe/sink", node=1)
        head = rt.launch(double, LaunchOptions(peers={"next": sink}), name="pipe/head", node=0)
        head.send_many(batch); replies = sink.receive_many(len(batch), timeout=5.0)

Why a separate class and not `Runtime(..., cluster="ray")`: a Runtime owns actor threads and
device memory in this process and its handles touch them directly; here every method is a Ray
call to another process, the handles are RemoteHandles, and supervision gains host loss. Same
method names and arguments, plus `node=` (which host) and `placement=` ("spread" or "pack").

Each host is a Ray actor (host.NodeHost, `num_cpus=0`, `num_gpus=gpus_per_host`) owning one local
Runtime of the chosen backend. A peer on the same host is wired as before (in-process K2K); a
peer on another host through a bridge (bridge.py: batches bounded by `max_batch` messages and
`linger` seconds, per-sender order, causal HLC).

Supervision across processes: each host's Runtime supervises its actors (ctx.fail, crashes,
stalls) as on one machine. A host that dies is noticed by a monitor thread here (and by any call
that fails); then, with every live actor paused: each actor it hosted is counted failed; its
restart policy (intensity window included) relaunches it on a live host, or it stays FAILED
(rt.launch, Temporary, or too many restarts); bridges are rerouted and ship their unacknowledged
batches to the new host; every accepted message neither settled nor held by a live process was
lost with the host: sent to an actor that was restarted, it is delivered again after the restart
(it enters at that actor), otherwise it is dead-lettered ("host_lost") with its correlation id.
Restart groups stay within one host: OneForAll / RestForOne siblings on live hosts are not
restarted when another host dies, and a parent and its children share a host (`parent=`).
"""
from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time

import numpy as np

from ..deadletter import DeadLetter, DeadLetterQueue
from ..errors import (InvalidArgumentError, InvalidOptionsError, LaunchError, LifecycleError, RuntimeClosedError,
                      check_int, check_name, check_timeout)
from ..hlc import HLC
from ..launch_options import LaunchOptions
from ..lifecycle import KernelState
from ..supervisor import OneForOne, RestartPolicy, SupervisorEvent, Temporary
from . import require_ray
from .bridge import DEFAULT_LINGER, DEFAULT_MAX_BATCH
from .kernel_ref import kernel_ref
from .ledger import Ledger
from .remote_handle import RemoteHandle, headers
from .gate import Gate

log = logging.getLogger("ringkernel_runtime")
S = KernelState
_PLACEMENTS = ("spread", "pack")
# threads per hosting process: receive calls may block (up to their timeout) and batches of one
# link wait for the one before them, so keep well above the calls a driver and the bridges have out
_HOST_THREADS = 64


class _Slot:
    """One hosting process."""

    def __init__(self, index: int, actor, pid: int):
        self.index, self.actor, self.pid = index, actor, pid
        self.dead = False
        self.seq = itertools.count(1)            # the driver's link to this host
        self.send_lock = threading.Lock()


class RayRuntime:
    def __init__(self, backend: str = "cpu", hosts: int = 2, placement: str = "spread", gpus_per_host: float = 0,
                 max_batch: int = DEFAULT_MAX_BATCH, linger: float = DEFAULT_LINGER, monitor_interval: float = 0.2,
                 ray_init: dict | None = None, dead_letter_max: int = 10**7, **runtime_kwargs):
        """`hosts`: hosting processes to start (Ray places them: one per node, or per GPU with
        gpus_per_host=1). Ray is started here (`ray.init(**ray_init)`, no dashboard) unless it runs
        already; then close() leaves it running. Other keywords go to each host's Runtime."""
        ray = require_ray()
        hosts = check_int(hosts, "hosts", lo=1)
        if placement not in _PLACEMENTS:
            raise InvalidArgumentError(f"placement={placement!r}; use one of {', '.join(_PLACEMENTS)}")
        check_int(max_batch, "max_batch", lo=1)
        check_timeout(linger, "linger", allow_none=False)
        self._ray = ray
        self._own_ray = not ray.is_initialized()
        if self._own_ray:
            ray.init(**{"include_dashboard": False, "log_to_driver": False, **(ray_init or {})})
        from .host import NodeHost
        actor_cls = ray.remote(NodeHost).options(num_cpus=0, num_gpus=gpus_per_host, max_concurrency=_HOST_THREADS,
                                                 max_restarts=0)
        self.backend, self.placement, self._gpus_per_host = backend, placement, gpus_per_host
        actors = [actor_cls.remote(f"host{i}", backend, i + 1, runtime_kwargs, max_batch, linger)
                  for i in range(hosts)]
        pids = ray.get([a.ping.remote() for a in actors])
        self._slots = [_Slot(i, a, pid) for i, (a, pid) in enumerate(zip(actors, pids))]
        self.hlc = HLC(0)
        self.ledger = Ledger()
        self._dead_letters = DeadLetterQueue(dead_letter_max)
        self.events: list[SupervisorEvent] = []
        self.redelivered = 0                     # messages delivered again after a host died
        self._handles: dict[str, RemoteHandle] = {}   # the cluster's registry (live actors)
        self._order: list[RemoteHandle] = []           # every actor, in launch order
        self._ids = itertools.count(1)
        self._gate = Gate()
        self._lock = threading.RLock()
        self._recover_lock = threading.Lock()
        self._closed = threading.Event()
        self._monitor = threading.Thread(target=self._watch, args=(monitor_interval,), daemon=True,
                                         name="ringkernel-ray-monitor")
        self._monitor.start()

    # -- context manager -----------------------------------------------------------------------
    def __enter__(self) -> "RayRuntime":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def hosts(self) -> list[int]:
        """The process id of each hosting process (index = `node`)."""
        return [s.pid for s in self._slots]

    def bridge_stats(self, node: int) -> dict:
        """Host `node`'s bridges: {remote peer: (messages shipped, batches, largest batch)}."""
        return self._ray.get(self._slots[node].actor.bridge_stats.remote())

    def live_hosts(self) -> list[int]:
        return [s.index for s in self._slots if not s.dead]

    # -- launching -----------------------------------------------------------------------------
    def launch(self, kernel, options: LaunchOptions | None = None, name: str | None = None,
               node: int | None = None, gpu: int | None = None) -> RemoteHandle:
        """An unsupervised actor (a failure leaves it FAILED; so does its host's death)."""
        name = check_name(name, allow_none=True, error=InvalidOptionsError)
        return self._start(kernel, options, name, self._node(node, gpu), Temporary(), False, None, None)[0]

    def spawn(self, kernel, name: str, restart: RestartPolicy | None = None, parent: RemoteHandle | None = None,
              options: LaunchOptions | None = None, node: int | None = None, gpu: int | None = None) -> RemoteHandle:
        """A supervised actor (restart defaults to OneForOne()); `parent`'s host hosts it too."""
        name = check_name(name, error=InvalidOptionsError)
        if restart is not None and not isinstance(restart, RestartPolicy):
            raise InvalidOptionsError(f"restart={restart!r} must be a restart policy such as OneForOne()")
        return self._start(kernel, options, name, self._node(node, gpu), restart or OneForOne(), True, parent,
                           None)[0]

    def launch_pool(self, kernel, count: int, options: LaunchOptions | None = None, name: str | None = None,
                    restart: RestartPolicy | None = None, parent: RemoteHandle | None = None,
                    node: int | None = None, gpu: int | None = None) -> list[RemoteHandle]:
        """`count` actors of one kernel on one host, registered as "<name>/<i>"."""
        count = check_int(count, "count", lo=1, error=LaunchError)
        name = check_name(name, allow_none=True, error=InvalidOptionsError)
        return self._start(kernel, options, name or f"{getattr(kernel, 'name', 'pool')}-pool{next(self._ids)}",
                           self._node(node, gpu), restart or Temporary(), restart is not None, parent, count)

    def _node(self, node, gpu):
        """`gpu=i`: the host of the i-th GPU (with gpus_per_host=1 each host owns one GPU)."""
        if gpu is None:
            return node
        if not self._gpus_per_host:
            raise InvalidOptionsError(f"gpu={gpu!r}: this RayRuntime's hosts own no GPU; make it with "
                                      "RayRuntime(backend='cuda', gpus_per_host=1) (or place with node=)")
        if node is not None and node != gpu:
            raise InvalidOptionsError(f"node={node} and gpu={gpu} name different hosts; give one of them")
        return gpu

    def _start(self, kernel, options, name, node, restart, supervised, parent, count) -> list[RemoteHandle]:
        if self._closed.is_set():
            raise RuntimeClosedError("this RayRuntime is closed; it launches no more actors. Make a new one.")
        options = LaunchOptions() if options is None else options
        if not isinstance(options, LaunchOptions):
            raise InvalidOptionsError(f"options={options!r} must be a LaunchOptions")
        options.validate()
        if parent is not None and not isinstance(parent, RemoteHandle):
            raise LaunchError(f"parent must be a handle from this RayRuntime, got {parent!r}")
        ref = kernel_ref(kernel)
        for pname, target in options.peers.items():
            if not isinstance(target, RemoteHandle) or target.runtime is not self:
                raise LaunchError(f"peer {pname!r} must be a handle from this RayRuntime, got {target!r}")
        slot = self._place(node, parent)
        name = name or f"{kernel.name}#{next(self._ids)}"
        with self._gate.traffic():
            names = self._launch_on(slot, ref, options, name, restart, supervised, parent, count)
        hs = [RemoteHandle(self, kernel, ref, options, n, slot, restart, supervised, parent, options.peers)
              for n in names]
        with self._lock:
            for h in hs:
                self._handles[h.name] = h
                self._order.append(h)
        self._publish_directory()
        return hs

    def _launch_on(self, slot, ref, options, name, restart, supervised, parent, count, activate=None):
        peers = {p: self._peer_spec(slot, t) for p, t in options.peers.items()}
        state = options.state
        if state is not None and hasattr(state, "record"):
            state = np.array(state.record)
        opts = dataclasses.replace(options, peers={}, state=state,
                                   activate=options.activate if activate is None else activate)
        return self._ray.get(slot.actor.start.remote(ref, opts, name, peers, restart, supervised,
                                                     parent.name if parent is not None else None, count))

    @staticmethod
    def _peer_spec(slot, target: RemoteHandle):
        if target.slot is slot:
            return ("local", target.name)
        return ("remote", target.name, None if target._failed_for_good else target.slot.actor, target.ref)

    def _place(self, node, parent) -> _Slot:
        live = [s for s in self._slots if not s.dead]
        if not live:
            raise LaunchError("no hosting process is alive; make a new RayRuntime")
        if parent is not None:
            return parent.slot
        if node is not None:
            node = check_int(node, "node", lo=0, hi=len(self._slots) - 1, error=InvalidOptionsError)
            if self._slots[node].dead:
                raise LaunchError(f"host {node} has died; live hosts: {self.live_hosts()}")
            return self._slots[node]
        if self.placement == "pack":
            return live[0]
        load = {s.index: 0 for s in live}
        for h in self._handles.values():
            if h.slot.index in load:
                load[h.slot.index] += 1
        return min(live, key=lambda s: (load[s.index], s.index))

    # -- the registry --------------------------------------------------------------------------
    def lookup(self, name: str) -> RemoteHandle | None:
        if not isinstance(name, str):
            raise InvalidArgumentError(f"lookup needs a name (str), got {name!r}")
        return self._handles.get(name)

    def lookup_pattern(self, pattern: str) -> list[RemoteHandle]:
        from ..registry import compile_pattern
        if not isinstance(pattern, str):
            raise InvalidArgumentError(f"lookup_pattern needs a pattern (str), got {pattern!r}")
        rx = compile_pattern(pattern)
        with self._lock:
            return [self._handles[n] for n in sorted(self._handles) if rx.match(n)]

    def lookup_from(self, node: int, pattern: str) -> list[tuple[str, int]]:
        """Ask hosting process `node` (its own copy of the registry): [(name, node)] matching `pattern`."""
        got = self._ray.get(self._slots[node].actor.lookup_pattern.remote(pattern))
        return [(n, int(h[4:])) for n, h in got]

    def _publish_directory(self) -> None:
        with self._lock:
            directory = {n: f"host{h.slot.index}" for n, h in self._handles.items()}
        live = [s for s in self._slots if not s.dead]
        self._ray.get([s.actor.set_directory.remote(directory) for s in live])

    def _unregister(self, name: str) -> None:
        with self._lock:
            self._handles.pop(name, None)
        self._publish_directory()

    # -- messaging (RemoteHandle calls these) ----------------------------------------------------
    def _send(self, h: RemoteHandle, recs: np.ndarray, timeout) -> int:
        err = h._refusal()
        if err is not None:
            raise err
        n = len(recs)
        if n == 0:
            return 0
        while True:
            with self._gate.traffic():               # a recovery in progress finishes first
                err = h._refusal()
                if err is not None:
                    raise err
                slot = h.slot
                if slot.dead:
                    continue
                with slot.send_lock:                 # the driver's link to a host stays in order
                    first = self.ledger.open(h.name, recs)
                    ts = self.hlc.reserve(n)
                    meta = headers(n, first, ts.physical, ts.logical, h.kernel.input_type.type_id)
                    ref = slot.actor.deliver.remote("driver", next(slot.seq), h.name, recs, meta)
                try:
                    self._ray.get(ref)
                    return first
                except self._ray.exceptions.RayActorError:
                    pass                              # accepted: the recovery settles each message
            self._recover(slot)
            return first

    def _receive(self, h: RemoteHandle, max_count: int, timeout):
        for _ in range(3):
            slot = h.slot
            try:
                with self._gate.traffic():
                    recs, meta, over = self._ray.get(slot.actor.receive_many.remote(h.name, max_count, timeout))
                    self.ledger.settle(meta["correlation_id"].astype(np.int64), replies=True)
            except self._ray.exceptions.RayActorError:
                self._recover(slot)
                continue
            if len(meta):
                last = int(np.argmax(meta["hlc_physical"]))
                self.hlc.update(int(meta["hlc_physical"][last]), int(meta["hlc_logical"].max()))
            return recs, meta, over or (h._failed_for_good and len(recs) == 0)
        return h.kernel.output_type.zeros(0), np.zeros(0, dtype=headers(0, 0, 0, 0).dtype), True

    def _command(self, h: RemoteHandle, op: str, timeout: float):
        timeout = check_timeout(timeout, allow_none=False)
        if op == "terminate" and (h._state is S.TERMINATED or h._failed_for_good):
            h._state = S.TERMINATED
            self._unregister(h.name)
            return True
        err = h._refusal()
        if err is not None:
            raise LifecycleError(f"cannot {op} actor {h.name}: {err}")
        slot = h.slot
        try:
            with self._gate.traffic():
                result, state = self._ray.get(slot.actor.command.remote(h.name, op, timeout))
        except self._ray.exceptions.RayActorError:
            self._recover(slot)                       # then it runs elsewhere, or failed for good
            return self._command(h, op, timeout)
        h._state = state
        if op == "terminate":
            self._unregister(h.name)
        return result

    def _describe(self, h: RemoteHandle):
        try:
            state, stats, _, failure = self._ray.get(h.slot.actor.describe.remote(h.name))
        except self._ray.exceptions.RayActorError:
            self._recover(h.slot)
            return h._state, None
        h._state = state
        h.failure = failure or h.failure
        return state, stats

    def kill_tree(self, handle: RemoteHandle, timeout: float = 2.0) -> list:
        """Terminate `handle` and the actors spawned under it (they share its host)."""
        if not isinstance(handle, RemoteHandle) or handle.runtime is not self:
            raise InvalidArgumentError(f"kill_tree needs a handle of this RayRuntime, got {handle!r}")
        with self._gate.traffic():
            reports, gone = self._ray.get(handle.slot.actor.kill_tree.remote(handle.name, timeout))
        for n in gone:
            h = self._handles.get(n)
            if h is not None:
                h._state = S.TERMINATED
            with self._lock:
                self._handles.pop(n, None)
        self._publish_directory()
        return reports

    # -- dead letters ----------------------------------------------------------------------------
    @property
    def dead_letters(self) -> DeadLetterQueue:
        """Every host's dead letters, collected here (with their correlation ids)."""
        self.collect_dead_letters()
        return self._dead_letters

    def in_flight(self) -> int:
        """How many accepted messages are not settled yet (no reply received here, no dead letter):
        0 once everything sent has been answered or dead-lettered (dead letters are collected first)."""
        self.collect_dead_letters()
        return self.ledger.open_count

    def collect_dead_letters(self) -> int:
        """Move every host's new dead letters here (settling them in the ledger); returns how many."""
        if self._closed.is_set():
            return 0
        with self._gate.traffic():
            live = [s for s in self._slots if not s.dead]
            got = []
            for s, ref in [(s, s.actor.drain_dead_letters.remote()) for s in live]:
                try:
                    got += self._ray.get(ref)
                except self._ray.exceptions.RayActorError:
                    pass                                  # the monitor recovers it
            self._take_letters(got)
        return len(got)

    def _take_letters(self, raw) -> None:
        letters = []
        for reason, rec, dest, when, code, corr in raw:
            h = self._handles.get(dest) or next((x for x in self._order if x.name == dest), None)
            msg = h.kernel.input_type.from_array(rec) if h is not None else rec
            letters.append(DeadLetter(reason, msg, dest, when, code, corr))
        self.ledger.settle([d.correlation_id for d in letters], replies=False)
        self._dead_letters.add_many(letters)

    # -- host loss -----------------------------------------------------------------------------
    def _watch(self, interval: float) -> None:
        while not self._closed.wait(interval):
            for s in [s for s in self._slots if not s.dead]:
                try:
                    self._ray.get(s.actor.ping.remote(), timeout=30.0)
                except self._ray.exceptions.RayActorError:
                    if not self._closed.is_set():
                        self._recover(s)
                except Exception:  # noqa: BLE001 - a slow ping (loaded machine): try again later
                    pass

    def _recover(self, slot: _Slot) -> None:
        from .recovery import recover
        with self._recover_lock:
            if slot.dead or self._closed.is_set():
                return
            slot.dead = True
            with self._gate.exclusive():
                recover(self, slot)

    # -- closing ---------------------------------------------------------------------------------
    def close(self, timeout: float = 2.0) -> list[str]:
        """Terminate every actor on every host (queued input becomes dead letters, collected here),
        stop the hosting processes, and stop Ray if this RayRuntime started it. Returns the names
        of actors still in a handler at the deadline."""
        if self._closed.is_set():
            return []
        with self._recover_lock:
            live = [s for s in self._slots if not s.dead]
            unfinished = []
            for s, ref in [(s, s.actor.close.remote(timeout)) for s in live]:
                try:
                    unfinished += self._ray.get(ref)
                except self._ray.exceptions.RayActorError:
                    pass
            try:
                self.collect_dead_letters()
            finally:
                self._closed.set()
            for h in self._order:
                if h._state is not S.TERMINATED and not h._failed_for_good:
                    h._state = S.TERMINATED
            self._handles.clear()
            for s in self._slots:
                self._ray.kill(s.actor, no_restart=True)
        self._monitor.join(5.0)
        if self._own_ray:
            self._ray.shutdown()
        return unfinished

    @property
    def closed(self) -> bool:
        return self._closed.is_set()
