"""The host send and receive paths of the CPU backend timed step by step (tools/bench/actors.py --steps).

Each step is the statement the path runs, timed alone in a loop of n on the objects of a live
actor (its queue, lock, clock, counter), minus the cost of the empty loop; the whole call is timed
on a warm ring of LaunchOptions' default size, so the table shows where each 100 ns goes and
what the steps leave out (the glue between them). Thread CPU time (what the calling thread spends; not the time it waits for a
core on a loaded machine), the fastest of 7 repetitions, ns per message.
"""
from __future__ import annotations

import struct
import time
import timeit

from ringkernel_runtime import LaunchOptions, Runtime
from ringkernel_runtime.layout import QH_HEAD, QH_TAIL


def _ns(stmt: str, env: dict, n: int, setup: str = "pass") -> float:
    # thread CPU time, not wall time: on a shared machine the wall clock also counts the time
    # this thread waited for a core
    t = timeit.Timer(stmt, setup=setup, globals=env, timer=time.thread_time_ns)
    empty = timeit.Timer("pass", globals=env, timer=time.thread_time_ns)
    # the fastest of 7: on a shared machine the slower repetitions measure other processes
    return min(t.timeit(n) / n for _ in range(7)) - min(empty.timeit(n) / n for _ in range(7))


class _Probe:
    """Empty methods with the signatures of the real ones: what a call costs by itself."""

    def send(self, msg, timeout=None):
        return 0

    def receive(self, timeout=1.0):
        return 0

    def push_one(self, record, correlation, physical, logical, source=0):
        return True

    def pop_record(self):
        return None

    def tick(self):
        return 0, 0


_LOCKED = "lock.acquire()\ntry: pass\nfinally: lock.release()"

SEND_STEPS = [
    ("call of a method send(self, msg, timeout=None)", "probe.send(m)"),
    ("message type check, .record, timeout is None",
     "r = m.record if type(m) is T else None\ntimeout = None\nif timeout is not None: pass"),
    ("send lock acquire + release (try/finally)", _LOCKED),
    ("lifecycle check (state is TERMINATED or FAILED)", "s = k.lifecycle._state\nif s is st_t or s is st_f: pass"),
    ("correlation id (next(counter))", "next(counter)"),
    ("HLC tick: time.time_ns()", "time_ns()"),
    ("HLC tick: the rest (call, clock lock, rule)", ("hlc.tick()", "time_ns()")),
    ("queue: call of push_one(rec, corr, physical, logical)", "probe.push_one(rec, 1, 2, 3)"),
    ("queue: its view tuple unpacked", "a, b, c, d, e = q.view"),
    ("queue: head/tail read, full check, slot index", "t = w[QH_TAIL]\nif t - w[QH_HEAD] >= 1: pass\nj = t & mask"),
    ("queue: payload store (payload[j] = record)", "payload[7] = rec"),
    ("queue: 32-byte header (struct.pack_into)", "pack(mb, 224, 1, 2, 3, 4)"),
    ("queue: tail publish (memoryview store)", "w[40] = 5"),
]

RECEIVE_STEPS = [
    ("call of a method receive(self, timeout=1.0)", "probe.receive(1.0)"),
    ("timeout check (a float in [0, inf))", "t = 1.0\nif type(t) is not float or not 0.0 <= t < inf: pass"),
    ("receive lock acquire + release (try/finally)", _LOCKED),
    ("queue: call of pop_record()", "probe.pop_record()"),
    ("queue: its view tuple unpacked", "a, b, c, d, e = q.view"),
    ("queue: head/tail read, empty check, slot index", "h = w[QH_HEAD]\nif w[QH_TAIL] == h: pass\nj = h & mask"),
    ("queue: copy the record out (pool[i] = payload[j])", "pool[5] = payload[7]"),
    ("queue: read the 32-byte header (struct.unpack_from)", "unpack(mb, 224)"),
    ("queue: head publish (memoryview store)", "w[40] = 5"),
    ("queue: the record as np.void (pool[i])", "pool[5]"),
    ("HLC receive rule: time.time_ns()", "time_ns()"),
    ("HLC receive rule: the rest (call, clock lock, rule)", ("hlc.observe(1, 0)", "time_ns()")),
    ("reply object (new + record slot)", "r = new(T)\nsetrec(r, rec)"),
]


def _rows(steps, env, n):
    out = []
    for name, stmt in steps:
        if isinstance(stmt, tuple):               # a step minus a part already listed
            out.append((name, _ns(stmt[0], env, n) - _ns(stmt[1], env, n)))
        else:
            out.append((name, _ns(stmt, env, n)))
    return out


def _common_env(q, hlc):
    return dict(time_ns=time.time_ns, q=q, hlc=hlc, probe=_Probe(), w=q._words, payload=q.payload,
                mb=q._meta_bytes, mask=q.mask, QH_TAIL=QH_TAIL, QH_HEAD=QH_HEAD)


RING = 1024            # LaunchOptions' default queue_capacity: a ring that stays in cache
ROUNDS = 40            # rounds of RING - 24 calls per repetition


def _whole_call(call, between, per_round=RING - 24):
    """Thread CPU ns of one call, the fastest of 7 repetitions of ROUNDS x per_round calls;
    `between()` runs between rounds, untimed (it empties or refills the ring)."""
    best = float("inf")
    for _ in range(7):
        spent = 0
        for _ in range(ROUNDS):
            between()
            c0 = time.thread_time_ns()
            for _ in range(per_round):
                call()
            spent += time.thread_time_ns() - c0
        best = min(best, spent / (ROUNDS * per_round))
    return best


def send_steps(rt, ping_type, sink, n):
    """The whole send measured into a paused actor (DRAINING: it holds its input) whose ring the
    benchmark empties between rounds from the consumer's side, untimed: the ring stays warm, as
    a running actor's does, and no actor thread competes for the core."""
    k = rt.launch(sink, LaunchOptions(queue_capacity=RING, activate=False))
    q, m = k._lane, ping_type(seq=1)
    env = _common_env(q, rt.hlc)
    env.update(k=k, lock=q.send_lock, m=m, rec=m.record, T=ping_type, counter=iter(range(1 << 62)),
               st_t=type(k.lifecycle._state).TERMINATED, st_f=type(k.lifecycle._state).FAILED,
               pack=struct.Struct("<QQQQ").pack_into)
    rows = _rows(SEND_STEPS, env, n)

    def empty_ring():
        with q.send_lock:
            q.pop_many(RING)

    total = _whole_call(lambda: k.send(m), empty_ring)
    k.terminate()
    return rows, total


def receive_steps(rt, ping_type, echo, n):
    """The whole receive measured on replies already waiting: between rounds (untimed) the actor
    answers a batch that refills its reply ring."""
    k = rt.launch(echo, LaunchOptions(queue_capacity=RING, batch=1024))
    q, out_t = k._replies, k._output_type
    pool = q.payload.copy()
    env = _common_env(q, rt.hlc)
    env.update(k=k, lock=q.receive_lock, pool=pool, rec=pool[0], new=object.__new__, T=out_t,
               setrec=out_t.record.__set__, unpack=struct.Struct("<QQQQ").unpack_from, inf=float("inf"))
    rows = _rows(RECEIVE_STEPS, env, n)
    batch = ping_type.zeros(RING - 24)

    def refill():
        k.send_many(batch, timeout=30.0)
        deadline = time.monotonic() + 60
        while k.stats.reply_depth < len(batch) and time.monotonic() < deadline:
            time.sleep(0.0005)

    total = _whole_call(lambda: k.receive(1.0), refill)
    k.terminate()
    return rows, total


def print_steps(ping_type, echo, sink, n):
    with Runtime(backend="cpu") as rt:
        for what, (rows, total) in (("send()", send_steps(rt, ping_type, sink, n)),
                                    ("receive() of a waiting reply", receive_steps(rt, ping_type, echo, n))):
            print(f"\n{what}, step by step (thread CPU ns per message, fastest of 7 x {n:,}):")
            print("| step | ns |\n|---|---|")
            for name, ns in rows:
                print(f"| {name} | {ns:.0f} |")
            steps = sum(ns for _, ns in rows)
            print(f"| sum of the steps | {steps:.0f} |")
            print(f"| the whole call, measured ({RING}-slot ring, warm) | {total:.0f} |")
            print(f"| glue (whole call minus the steps: local names, try/finally, returns) | {total - steps:.0f} |")
