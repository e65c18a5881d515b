"""NodeHost: the Ray actor that hosts one local Runtime in its own process (one per node or GPU).

The driver (ray_runtime.RayRuntime) calls these methods; none is for users. Every message enters
the cluster at the driver with a cluster-wide correlation id (ledger.py) and keeps it through K2K
hops, replies and dead letters, which is what makes the accounting exact across processes.

Incoming batches (from the driver or from another host's bridge) go into the target actor's host
lane with their headers kept (correlation id, HLC); per link they are applied in sequence order,
whatever order Ray's threads run the calls in. What cannot be delivered becomes a dead letter
here, with its correlation id; the driver collects them (drain_dead_letters).
"""
from __future__ import annotations

import dataclasses
import os
import threading
import time

import numpy as np

from ..deadletter import DeadLetter
from ..errors import CommandTimeout, RingKernelError
from ..lifecycle import KernelState
from ..queues import wait_until
from ..registry import compile_pattern
from .bridge import DEFAULT_LINGER, DEFAULT_MAX_BATCH, Outbox, peek_correlations, push_records
from .kernel_ref import resolve

_LINK_WAIT_S = 30.0          # how long a batch waits for the one before it on its link
_PAUSE_WAIT_S = 60.0         # how long an actor may take to acknowledge a pause (loaded machines)


def _record_array(msg) -> np.ndarray:
    rec = getattr(msg, "record", msg)
    return np.array(rec).reshape(1).copy()


class NodeHost:
    def __init__(self, host_name: str, backend: str, node_id: int, runtime_kwargs: dict,
                 max_batch: int = DEFAULT_MAX_BATCH, linger: float = DEFAULT_LINGER):
        from ..runtime import Runtime
        self.host_name = host_name
        self.rt = Runtime(backend=backend, node_id=node_id, **runtime_kwargs)
        self.max_batch, self.linger = max_batch, linger
        self._handles: dict = {}                 # name -> local KernelHandle (also terminated ones)
        self._outboxes: dict = {}                # remote target name -> Outbox
        self._expected: dict = {}                # link -> next sequence number
        self._links = threading.Condition()
        self._directory: dict = {}               # actor name -> host name, cluster-wide
        self._lock = threading.Lock()

    def ping(self) -> int:
        return os.getpid()

    # -- launching -------------------------------------------------------------------------------
    def start(self, ref, options, name: str, peers: dict, restart, supervised: bool, parent: str | None,
              count: int | None = None) -> list:
        """Launch (count=None: one actor; else a pool of `count`) with `peers` resolved here:
        {peer name: ("local", actor name) | ("remote", actor name, NodeHost, KernelRef)}."""
        kernel = resolve(ref)
        wired = {p: self._peer(spec) for p, spec in peers.items()}
        options = dataclasses.replace(options, peers=wired)
        parent_h = self._handles.get(parent) if parent else None
        if count is not None:
            hs = self.rt.launch_pool(kernel, count, options, name=name, restart=restart, parent=parent_h)
        elif supervised:
            hs = [self.rt.spawn(kernel, name, restart=restart, parent=parent_h, options=options)]
        else:
            hs = [self.rt.launch(kernel, options, name=name)]
        for h in hs:
            self._handles[h.name] = h
        return [h.name for h in hs]

    def _peer(self, spec):
        if spec[0] == "local":
            return self._handles[spec[1]]
        _, target, route, ref = spec
        with self._lock:
            box = self._outboxes.get(target)
            if box is None:
                capacity = 1 << max(15, (2 * self.max_batch - 1).bit_length())   # one batch filling, one leaving
                box = Outbox(self.rt, resolve(ref), target, route, self.host_name, capacity,
                             self.max_batch, self.linger)
                self._outboxes[target] = box
            return box

    def reroute(self, target: str, route) -> None:
        box = self._outboxes.get(target)
        if box is not None:
            box.reroute(route)

    # -- delivery --------------------------------------------------------------------------------
    def deliver(self, link: str, seq: int, target: str, recs: np.ndarray, meta: np.ndarray) -> int:
        """Apply one batch of `link` in order; returns how many went into the target's queue (the
        rest are dead letters here)."""
        deadline = time.monotonic() + _LINK_WAIT_S
        with self._links:
            while self._expected.get(link, 1) != seq:
                if not self._links.wait(max(0.0, deadline - time.monotonic())):
                    raise RuntimeError(f"link {link}: batch {seq} waited {_LINK_WAIT_S}s for batch "
                                       f"{self._expected.get(link, 1)}")
        try:
            return self._push(target, recs, meta)
        finally:
            with self._links:
                self._expected[link] = seq + 1
                self._links.notify_all()

    def _push(self, target: str, recs: np.ndarray, meta: np.ndarray) -> int:
        n = len(recs)
        if n == 0:
            return 0
        last = int(np.argmax(meta["hlc_physical"]))          # the receiver's clock passes every stamp
        self.rt.hlc.update(int(meta["hlc_physical"][last]), int(meta["hlc_logical"].max()))
        h = self._handles.get(target)
        if h is None or h.state is KernelState.TERMINATED:
            self._dead_letter("terminated", target, recs, meta, h)
            return 0
        lane, sent = h.actor.host_lane, 0
        deadline = time.monotonic() + h.options.send_timeout
        while True:
            with lane.send_lock:
                refusal = h._refusal()
                if refusal is None:
                    sent += push_records(lane, recs[sent:], meta[sent:])
            if sent == n:
                return n
            if refusal is not None:
                reason = "terminated" if h.state is KernelState.TERMINATED else "failed"
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not wait_until(lambda: lane.free() > 0 or h._refusal() is not None, remaining):
                reason = "queue_full"
                break
        self._dead_letter(reason, target, recs[sent:], meta[sent:], h)
        return sent

    def _dead_letter(self, reason, target, recs, meta, h) -> None:
        now = time.time()
        t = h.kernel.input_type if h is not None else None
        corr = meta["correlation_id"].tolist()
        self.rt.dead_letters.add_many(
            DeadLetter(reason, t.from_array(recs[i:i + 1].copy()) if t else recs[i:i + 1].copy(), target, now,
                       None, int(corr[i])) for i in range(len(recs)))

    # -- the handle's methods, by name -------------------------------------------------------------
    def receive_many(self, name: str, max_count: int, timeout):
        h = self._handles[name]
        recs, meta = h.receive_many(max_count, timeout=timeout, headers=True)
        return recs, meta, (len(recs) == 0 and h._replies_over())

    def command(self, name: str, op: str, timeout: float):
        h = self._handles[name]
        result = getattr(h, op)(timeout=timeout)
        return result, h.state

    def describe(self, name: str):
        h = self._handles[name]
        return h.state, h.stats, h.restart_count, h.failure

    def kill_tree(self, name: str, timeout: float):
        h = self._handles[name]
        gone = [d.name for d in self.rt.supervisor.descendants(h)] + [name]
        return self.rt.kill_tree(h, timeout=timeout), gone

    def drain_dead_letters(self) -> list:
        return [(d.reason, _record_array(d.message), d.destination, d.time, d.code, d.correlation_id)
                for d in self.rt.dead_letters.drain()]

    # -- the registry, answered here as at the driver ----------------------------------------------
    def set_directory(self, directory: dict) -> None:
        self._directory = dict(directory)

    def lookup(self, name: str):
        """(name, host) of the actor registered as `name` anywhere in the cluster, or None."""
        host = self._directory.get(name)
        return None if host is None else (name, host)

    def lookup_pattern(self, pattern: str) -> list:
        rx = compile_pattern(pattern)
        return [(n, self._directory[n]) for n in sorted(self._directory) if rx.match(n)]

    # -- recovery after another host died ---------------------------------------------------------
    def pause(self) -> list:
        """Deactivate every active actor (none is in a handler when this returns); their names."""
        paused = []
        for h in list(self.rt.handles):
            deadline = time.monotonic() + _PAUSE_WAIT_S
            while h.state is KernelState.ACTIVE:
                try:
                    h.deactivate(timeout=2.0)
                    paused.append(h.name)
                except CommandTimeout:        # a starved or busy loop: ask again (the last one counts)
                    if time.monotonic() < deadline:
                        continue
                    raise
                except RingKernelError:       # it failed or stopped meanwhile: it is not running
                    break
        return paused

    def resume(self, names: list) -> None:
        for name in names:
            h = self._handles.get(name)
            if h is not None and h.state is KernelState.DRAINING:
                h.activate(timeout=5.0)

    def bridge_stats(self) -> dict:
        """{remote peer: (messages shipped, batches, largest batch)} of this process's bridges."""
        return {t: (b.shipped, b.batches, b.largest) for t, b in list(self._outboxes.items())}

    def bridges_idle(self) -> bool:
        return all(box.idle() for box in list(self._outboxes.values()))

    def held(self) -> np.ndarray:
        """Every correlation id this process holds now: queued input, replies not yet received,
        bridge batches not yet acknowledged (call with the actors paused and the bridges idle)."""
        parts = [np.zeros(0, dtype=np.int64)]
        for h in list(self._handles.values()):
            if h.stopped and h.state is KernelState.TERMINATED:
                continue                              # its input was dead-lettered when it stopped
            parts += [peek_correlations(h.actor.host_lane), peek_correlations(h.actor.k2k_lane)]
            if h.kernel.output_type is not None:
                parts.append(peek_correlations(h.actor.out))
        for box in list(self._outboxes.values()):
            parts += box.held_correlations()
        return np.concatenate(parts)

    def close(self, timeout: float = 2.0) -> list:
        reports = self.rt.close(timeout=timeout)
        for box in list(self._outboxes.values()):
            box.close()
        return [r.actor for r in reports]
