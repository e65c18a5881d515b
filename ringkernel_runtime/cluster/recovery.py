"""What RayRuntime does when a hosting process dies (called with no other driver call in progress).

    1. every actor the host ran is counted failed; its restart policy (intensity window included)
       relaunches it, paused, on a live host (its parent's, or the least loaded), or it stays FAILED
    2. bridges everywhere are rerouted to the new hosts (or, for an actor FAILED for good, turn
       what they carry into dead letters)
    3. every live actor is paused (deactivated: none is in a handler), the bridges drain
    4. the dead letters of the live hosts are collected; each live host lists the correlation ids
       it holds (queues, replies not yet received, unacknowledged bridge batches)
    5. every accepted message neither settled nor held was lost with the host: if it entered at an
       actor that was restarted, it is delivered to it again; otherwise it is dead-lettered
       ("host_lost", with its correlation id). Then the actors resume.

While the actors are paused, deliveries into a full queue wait up to the target's send_timeout
(then dead-letter "queue_full", as a send would): keep queues large enough for a recovery's pause.
"""
from __future__ import annotations

import time

import numpy as np

from ..deadletter import DeadLetter
from ..lifecycle import KernelState
from ..supervisor import SupervisorEvent, Temporary
from .remote_handle import headers

S = KernelState
_DRAIN_WAIT_S = 30.0


def recover(rt, dead) -> None:
    ray = rt._ray
    live = [s for s in rt._slots if not s.dead]
    rt.events.append(SupervisorEvent(time.time(), "host_lost", f"host{dead.index}", f"pid {dead.pid}"))
    hit = [h for h in rt._order if h.slot is dead and h._state is not S.TERMINATED and not h._failed_for_good]
    moved = []
    for h in hit:
        why = f"its hosting process (host {dead.index}, pid {dead.pid}) died"
        rt.events.append(SupervisorEvent(time.time(), "failed", h.name, why))
        h.failure = why
        if live and _may_restart(h):
            parent = h.parent if h.parent is not None and not h.parent.slot.dead else None
            target = parent.slot if parent is not None else min(live, key=lambda s: _load(rt, s))
            try:
                rt._launch_on(target, h.ref, h.options, h.name, h.restart_policy, h.supervised,
                              parent, None, activate=False)
            except Exception as exc:  # noqa: BLE001 - it cannot run anywhere: it stays FAILED
                _fail(rt, h, f"{why}; relaunching it on host {target.index} failed: {exc}")
                continue
            h.slot = target
            h.restart_count += 1
            h._state = S.ACTIVE if h.options.activate else S.DRAINING
            moved.append(h)
            rt.events.append(SupervisorEvent(time.time(), "restarted", h.name, f"on host {target.index} after: {why}"))
        else:
            _fail(rt, h, why)
    # 2. reroute every bridge that carried traffic to the dead host's actors
    ray.get([s.actor.reroute.remote(h.name, None if h._failed_for_good else h.slot.actor)
             for s in live for h in hit])
    # 3. pause, let the bridges drain
    paused = dict(zip([s.index for s in live], ray.get([s.actor.pause.remote() for s in live])))
    deadline = time.monotonic() + _DRAIN_WAIT_S
    while time.monotonic() < deadline and not all(ray.get([s.actor.bridges_idle.remote() for s in live])):
        time.sleep(0.01)
    # 4. what the live hosts hold
    rt.collect_dead_letters()
    held = np.concatenate([np.zeros(0, dtype=np.int64)] + ray.get([s.actor.held.remote() for s in live]))
    # 5. the rest was lost with the host
    by_name = {h.name: h for h in moved}
    letters, again = [], {}
    for corr, recs, entry in rt.ledger.unsettled():
        lost = ~np.isin(corr, held)
        if not lost.any():
            continue
        corr, recs = corr[lost], recs[lost]
        h = by_name.get(entry)
        if h is not None:
            again.setdefault(entry, []).append((corr, recs))
            continue
        dest = next((x for x in reversed(rt._order) if x.name == entry), None)
        t = dest.kernel.input_type if dest is not None else None
        now = time.time()
        letters += [DeadLetter("host_lost", t.from_array(recs[i:i + 1]) if t else recs[i:i + 1], entry, now,
                               None, int(corr[i])) for i in range(len(corr))]
    rt.ledger.settle([d.correlation_id for d in letters], replies=False)
    rt._dead_letters.add_many(letters)
    for entry, parts in again.items():
        h = by_name[entry]
        corr = np.concatenate([c for c, _ in parts])
        recs = np.concatenate([r for _, r in parts])
        ts = rt.hlc.reserve(len(corr))
        meta = headers(len(corr), 0, ts.physical, ts.logical, h.kernel.input_type.type_id)
        meta["correlation_id"] = corr.astype(np.uint64)
        with h.slot.send_lock:
            ray.get(h.slot.actor.deliver.remote("driver", next(h.slot.seq), h.name, recs, meta))
        rt.redelivered += len(corr)
    # resume: the paused actors, and the relaunched ones that were active
    for s in live:
        names = paused[s.index] + [h.name for h in moved if h.slot is s and h.options.activate]
        ray.get(s.actor.resume.remote(names))
    rt._publish_directory()


def _load(rt, slot) -> int:
    return sum(1 for h in rt._handles.values() if h.slot is slot)


def _may_restart(h) -> bool:
    policy = h.restart_policy
    if not h.supervised or policy is None or isinstance(policy, Temporary):
        return False
    now = time.monotonic()
    h._restart_times = [t for t in h._restart_times if now - t <= policy.window]
    if len(h._restart_times) >= policy.max_restarts:
        return False
    h._restart_times.append(now)
    return True


def _fail(rt, h, why: str) -> None:
    h._failed_for_good = True
    h._state = S.FAILED
    h.failure = why
    rt.events.append(SupervisorEvent(time.time(), "not_restarted", h.name, why))
