"""Issue #11's chaos test at the simulator's size: random traffic, failures, restarts, pauses,
terminations and a close on the numba.cuda actor loop run by numba's CUDA simulator; every
accepted message must come back exactly once, as a reply or as a dead letter.

The simulator runs one kernel at a time (numba_actor: one numba actor per process), so the
graph of 8-16 actors with K2K edges of tests/runtime/test_edges.py cannot run here; this test
drives one actor at a time through the same edges (supervised restart after a poison message,
overflow with a short send timeout, deactivate/activate, terminate and a fresh spawn, close) with
~10^3 messages. K2K sends of the numba loop are covered by test_numba_actors.py. Seeded; the seed
is printed and named on failure (RK_CHAOS_SEED=... reruns it).
"""
import collections
import os
import random
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.sim

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("run through tests/test_sim.py (needs NUMBA_ENABLE_CUDASIM=1 at import)", allow_module_level=True)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "runtime"))

import ring_kernels as rk  # noqa: E402
from ringkernel_runtime import ActorTerminatedError, LaunchOptions, OneForOne, Runtime  # noqa: E402
from ringkernel_runtime.errors import LifecycleError, QueueFullError  # noqa: E402
from ringkernel_runtime.queues import wait_until  # noqa: E402

TIMEOUT = 20.0
CHAOS_SECONDS = 15.0          # the traffic phase; the whole test stays well under 60 s
TARGET_MESSAGES = 1_000


def items(lo, hi, value=1.0):
    b = rk.Item.zeros(hi - lo)
    b["seq"] = np.arange(lo, hi)
    b["value"] = value
    return b


def test_chaos_in_the_simulator_every_accepted_message_is_a_reply_or_a_dead_letter():
    seed = int(os.environ.get("RK_CHAOS_SEED", random.randrange(1 << 30)))
    print(f"chaos seed {seed} (rerun with RK_CHAOS_SEED={seed})")
    try:
        _chaos(seed)
    except AssertionError as exc:
        raise AssertionError(f"chaos seed {seed} (rerun with RK_CHAOS_SEED={seed}): {exc}") from exc


def _chaos(seed):
    rng = random.Random(seed)
    with Runtime(backend="numba", dead_letter_max=10**6) as rt:
        assert rt.backend == "numba"
        accepted, replies, actors = [], [], []
        seq = 0

        def spawn():
            h = rt.spawn(rk.accumulate, name=f"chaos{len(actors)}", restart=OneForOne(max_restarts=10**6, window=1.0),
                         options=LaunchOptions(queue_capacity=rng.choice([16, 64]), batch=rng.choice([1, 8])))
            actors.append(h)
            return h

        def collect(h):
            r = h.receive_many(1 << 12, timeout=0)
            if len(r):
                replies.append(r["seq"].copy())

        h = spawn()
        start = time.monotonic()
        while len(accepted) < TARGET_MESSAGES and time.monotonic() - start < CHAOS_SECONDS:
            op = rng.random()
            if op < 0.80:                                            # a batch; may overflow
                n = rng.randint(1, 24)
                try:
                    h.send_many(items(seq, seq + n), timeout=rng.choice([0.0, 0.05, 1.0]))
                    accepted.extend(range(seq, seq + n))
                except (QueueFullError, ActorTerminatedError) as exc:
                    accepted.extend(range(seq, seq + exc.sent))      # the first exc.sent went in
                seq += n
            elif op < 0.90:                                          # one message, sometimes poison
                try:
                    h.send(rk.Item(seq=seq, value=-1.0 if rng.random() < 0.5 else 2.0), timeout=0.05)
                    accepted.append(seq)
                except (QueueFullError, ActorTerminatedError):
                    pass
                seq += 1
            elif op < 0.95:                                          # pause, let input pile up, resume
                try:
                    h.deactivate(timeout=TIMEOUT)
                    collect(h)
                    h.activate(timeout=TIMEOUT)
                except LifecycleError:                               # failed, or restarting just now
                    pass
            else:                                                    # stop it; the next one takes over
                collect(h)
                h.terminate(timeout=TIMEOUT)
                assert wait_until(lambda: h.stopped, TIMEOUT), h     # the simulator's one kernel slot
                collect(h)
                h = spawn()
            collect(h)
        deadline = time.monotonic() + TIMEOUT                        # let the last one answer what it holds
        while h.stats.queue_depth and time.monotonic() < deadline:
            collect(h)
            time.sleep(0.01)
        assert rt.close(timeout=5.0) == [], rt.unfinished
        assert wait_until(lambda: all(a.stopped for a in actors), TIMEOUT), [a for a in actors if not a.stopped]
        for a in actors:
            collect(a)
        got = np.concatenate(replies).tolist() if replies else []
        dead = [d.message.seq for d in rt.dead_letters]
        assert len(accepted) > 100, len(accepted)          # it did exercise something, even loaded
        out, want = collections.Counter(got + dead), collections.Counter(accepted)
        assert out == want, (f"{len(accepted)} accepted, {len(got)} replies + {len(dead)} dead letters; "
                             f"missing {sorted(want - out)[:10]}, unexpected or duplicated {sorted(out - want)[:10]}")
        poison = {d.message.seq for d in rt.dead_letters if d.reason == "failed"}
        assert all(s not in poison for s in got)                     # a failed message never also replied
        assert rt.handles == [] and rt.supervisor.table_size() == 0 and rt.registry.names() == []
        print(f"chaos numba-sim: {len(accepted)} accepted = {len(got)} replies + {len(dead)} dead letters "
              f"over {len(actors)} actors ({collections.Counter(d.reason for d in rt.dead_letters)})")
