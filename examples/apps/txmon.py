"""Transaction monitoring as a 4-stage actor pipeline: ingest -> enrich -> score -> alert.

    ingest   checks each transaction; a malformed one (unknown account, amount <= 0) makes it fail
             (ctx.fail): the supervisor restarts it, the transaction goes to rt.dead_letters, the
             stream carries on (ingest holds no state, so a restart loses nothing)
    enrich   per-account history in actor state: the times of the last VMAX transactions (velocity
             in a sliding window of WINDOW_S seconds), running mean and variance of the amount
             (Welford; the amount's z-score), the last location and time (speed of travel)
    score    turns the features into flags (VELOCITY, AMOUNT, GEO) and a risk score in [0, 1]
    alert    sends an Alert to the host for each flagged transaction and counts them in its state

Stages talk over K2K queues (ctx.send to a peer). A transaction that raised a flag does not enter
the account's history (the detector does not learn from what it flags), so one fraud does not
hide the next. `generate` makes a stream with planted fraud and knows which transactions must be
flagged, so recall and precision are checked exactly; `reference_flags` applies the same rules in
plain Python (the baseline of tools/bench/pipeline.py).
"""
from __future__ import annotations

import math
import time

import numpy as np

from ringkernel_codegen import Array, f64, i32, i64, message, ring_kernel

ACCOUNTS = 64
VMAX = 3                 # velocity: flag when VMAX earlier transactions fall in the window
WINDOW_S = 600           # sliding window, seconds
MIN_HISTORY = 8          # amount z-score only once the account has this many transactions
ZMAX = 6.0               # amount: flag when (amount - mean) / std > ZMAX
SPEED_KMH = 900.0        # geo: flag travel faster than an airliner ...
GEO_MIN_KM = 500.0       # ... over more than this distance

VELOCITY, AMOUNT, GEO = 1, 2, 4
FLAG_NAMES = {VELOCITY: "velocity", AMOUNT: "amount", GEO: "geo"}


@message
class Txn:
    seq: i64
    account: i32
    t: i64           # seconds
    amount: f64
    x: f64           # location, km on a plane
    y: f64


@message
class Enriched:
    seq: i64
    account: i32
    t: i64
    velocity: i32    # earlier transactions of the account within the window
    z: f64           # the amount's z-score against the account's history (0 without enough history)
    speed: f64       # km/h from the account's last location


@message
class Alert:
    seq: i64
    account: i32
    t: i64
    flags: i32
    risk: f64


@message
class History:
    times: Array(i64, ACCOUNTS * VMAX)   # a ring of the last VMAX unflagged times per account
    head: Array(i32, ACCOUNTS)
    count: Array(i64, ACCOUNTS)          # unflagged transactions seen
    mean: Array(f64, ACCOUNTS)
    m2: Array(f64, ACCOUNTS)
    last_x: Array(f64, ACCOUNTS)
    last_y: Array(f64, ACCOUNTS)
    last_t: Array(i64, ACCOUNTS)


@message
class AlertCounts:
    alerts: i64
    velocity: i64
    amount: i64
    geo: i64


# --- the stages --------------------------------------------------------------------------------

@ring_kernel(input=Txn, output=None, peers={"next": Txn})
def ingest(ctx, msg: Txn):
    if msg.account < 0 or msg.account >= ACCOUNTS or msg.amount <= 0.0:
        ctx.fail(1)  # malformed: dead-lettered, the supervisor restarts this stage
    ctx.send("next", Txn(seq=msg.seq, account=msg.account, t=msg.t, amount=msg.amount, x=msg.x, y=msg.y))


@ring_kernel(input=Txn, output=None, state=History, peers={"next": Enriched})
def enrich(ctx, msg: Txn):
    a = msg.account
    recent = 0
    seen = ctx.state.count[a]
    for k in range(VMAX):
        if k < seen and msg.t - ctx.state.times[a * VMAX + k] < WINDOW_S:
            recent += 1
    z = 0.0
    if seen >= MIN_HISTORY:
        std = math.sqrt(ctx.state.m2[a] / (seen - 1))
        if std > 0.0:
            z = (msg.amount - ctx.state.mean[a]) / std
    speed = 0.0
    dist = 0.0
    if seen > 0:
        dist = math.hypot(msg.x - ctx.state.last_x[a], msg.y - ctx.state.last_y[a])
        speed = dist * 3600.0 / max(msg.t - ctx.state.last_t[a], 1)
    flagged = recent >= VMAX or z > ZMAX or (dist > GEO_MIN_KM and speed > SPEED_KMH)
    if not flagged:
        h = ctx.state.head[a]
        ctx.state.times[a * VMAX + h] = msg.t
        ctx.state.head[a] = (h + 1) % VMAX
        n = seen + 1
        delta = msg.amount - ctx.state.mean[a]
        ctx.state.mean[a] += delta / n
        ctx.state.m2[a] += delta * (msg.amount - ctx.state.mean[a])
        ctx.state.count[a] = n
        ctx.state.last_x[a] = msg.x
        ctx.state.last_y[a] = msg.y
        ctx.state.last_t[a] = msg.t
    if dist <= GEO_MIN_KM:
        speed = 0.0  # a short hop is never a geo jump, however quick
    ctx.send("next", Enriched(seq=msg.seq, account=a, t=msg.t, velocity=recent, z=z, speed=speed))


@ring_kernel(input=Enriched, output=None, peers={"next": Alert})
def score(ctx, msg: Enriched):
    flags = 0
    if msg.velocity >= VMAX:
        flags |= VELOCITY
    if msg.z > ZMAX:
        flags |= AMOUNT
    if msg.speed > SPEED_KMH:
        flags |= GEO
    risk = min(1.0, 0.4 * msg.velocity / VMAX + 0.3 * max(msg.z, 0.0) / ZMAX + 0.3 * msg.speed / SPEED_KMH)
    ctx.send("next", Alert(seq=msg.seq, account=msg.account, t=msg.t, flags=flags, risk=risk))


@ring_kernel(input=Alert, output=Alert, state=AlertCounts)
def alert(ctx, msg: Alert) -> Alert:
    if msg.flags != 0:
        ctx.state.alerts += 1
        if msg.flags & VELOCITY:
            ctx.state.velocity += 1
        if msg.flags & AMOUNT:
            ctx.state.amount += 1
        if msg.flags & GEO:
            ctx.state.geo += 1
        return Alert(seq=msg.seq, account=msg.account, t=msg.t, flags=msg.flags, risk=msg.risk)


STAGES = [ingest, enrich, score, alert]


# --- a stream with planted fraud ---------------------------------------------------------------

BURST = 5            # a card-testing burst: BURST transactions 5 s apart at one place
FRAUD_AMOUNT = 10.0  # an amount fraud spends this many times the account's usual amount
GEO_JUMP_KM = 2500.0


def generate(items_per_account: int = 40, fraud_rate: float = 0.1, malformed: int = 3, seed: int = 0):
    """(transactions as a Txn batch in time order, expected flags per seq: 0, a flag mask, or -1 for
    a malformed transaction that must be dead-lettered).

    Honest transactions are built so that no rule can fire on them: an account's transactions are
    2-4 windows apart, within 5 km of home, amounts alternate around the account's usual amount
    (+-30%, so the z-score stays below 2). Planted fraud, only after MIN_HISTORY honest ones and
    never twice in a row: a burst (its transactions from the (VMAX+1)-th on are VELOCITY), a
    FRAUD_AMOUNT-times amount (AMOUNT), a transaction GEO_JUMP_KM from home 20-40 minutes after the
    last one (GEO)."""
    rng = np.random.default_rng(seed)
    rows = []  # (t, account, amount, x, y, expected)
    for a in range(ACCOUNTS):
        base = rng.uniform(20.0, 200.0)
        hx, hy = rng.uniform(0.0, 4000.0, 2)
        t = int(rng.integers(0, 4 * WINDOW_S))
        k = 0
        prev_honest = True

        def usual():
            nonlocal k
            k += 1
            return base * (0.7 if k % 2 else 1.3) * rng.uniform(0.97, 1.03)

        def near():
            return hx + rng.uniform(-5.0, 5.0), hy + rng.uniform(-5.0, 5.0)

        for i in range(items_per_account):
            kind = "honest"
            if i > MIN_HISTORY and prev_honest and rng.random() < fraud_rate:
                kind = ("burst", "amount", "geo")[int(rng.integers(0, 3))]
            if kind == "burst":
                x, y = near()
                for b in range(BURST):
                    rows.append((t + 5 * b, a, usual(), x, y, VELOCITY if b >= VMAX else 0))
                t += 5 * (BURST - 1)
            elif kind == "amount":
                rows.append((t, a, base * FRAUD_AMOUNT * rng.uniform(0.9, 1.1), *near(), AMOUNT))
            elif kind == "geo":
                angle = rng.uniform(0.0, 2 * math.pi)
                rows.append((t, a, usual(), hx + GEO_JUMP_KM * math.cos(angle), hy + GEO_JUMP_KM * math.sin(angle), GEO))
            else:
                rows.append((t, a, usual(), *near(), 0))
            prev_honest = kind == "honest"
            t += int(rng.integers(2 * WINDOW_S, 4 * WINDOW_S))
    horizon = max(r[0] for r in rows)
    for j in range(malformed):  # an unknown account, or a non-positive amount
        bad = (ACCOUNTS + j, 50.0) if j % 2 == 0 else (int(rng.integers(0, ACCOUNTS)), -1.0)
        rows.append((int(rng.integers(0, horizon)), bad[0], bad[1], 0.0, 0.0, -1))
    rows.sort(key=lambda r: (r[0], r[1]))
    events = Txn.zeros(len(rows))
    events["seq"] = np.arange(len(rows))
    for name, col in zip(("t", "account", "amount", "x", "y"), zip(*rows)):
        events[name] = col
    return events, np.array([r[5] for r in rows], np.int32)


# --- the same rules in plain Python: the baseline ----------------------------------------------

def reference_flags(events: np.ndarray) -> np.ndarray:
    """Flags per transaction (-1: malformed), the pipeline's rules in a plain Python loop."""
    times = [[] for _ in range(ACCOUNTS)]
    count, mean, m2 = [0] * ACCOUNTS, [0.0] * ACCOUNTS, [0.0] * ACCOUNTS
    last = [None] * ACCOUNTS
    out = np.zeros(len(events), np.int32)
    for i, (a, t, amount, x, y) in enumerate(zip(events["account"].tolist(), events["t"].tolist(),
                                                 events["amount"].tolist(), events["x"].tolist(), events["y"].tolist())):
        if a < 0 or a >= ACCOUNTS or amount <= 0.0:
            out[i] = -1
            continue
        recent = sum(1 for s in times[a] if t - s < WINDOW_S)
        z = 0.0
        if count[a] >= MIN_HISTORY:
            std = math.sqrt(m2[a] / (count[a] - 1))
            z = (amount - mean[a]) / std if std > 0 else 0.0
        dist = speed = 0.0
        if last[a] is not None:
            lx, ly, lt = last[a]
            dist = math.hypot(x - lx, y - ly)
            speed = dist * 3600.0 / max(t - lt, 1)
        flags = (VELOCITY if recent >= VMAX else 0) | (AMOUNT if z > ZMAX else 0) | \
                (GEO if dist > GEO_MIN_KM and speed > SPEED_KMH else 0)
        if not flags:
            times[a] = (times[a] + [t])[-VMAX:]
            count[a] += 1
            delta = amount - mean[a]
            mean[a] += delta / count[a]
            m2[a] += delta * (amount - mean[a])
            last[a] = (x, y, t)
        out[i] = flags
    return out


# --- running the pipeline ----------------------------------------------------------------------

class Monitor:
    """The four stages started on one Runtime; `process(events)` streams a batch through them.

        with Monitor("cpu") as mon:
            result = mon.process(events)

    History stays in `enrich` between batches (a later batch continues the same accounts)."""

    def __init__(self, backend: str = "cpu", fail_budget: int = 100):
        from ringkernel_runtime import LaunchOptions, OneForOne, Runtime  # the runtime only where it runs
        self.rt = Runtime(backend=backend)
        policy = OneForOne(max_restarts=fail_budget, window=60.0)
        spawn = self.rt.spawn
        self.sink = spawn(alert, name="txmon/alert", restart=policy, options=LaunchOptions(queue_capacity=1 << 14))
        self.scorer = spawn(score, name="txmon/score", restart=policy, options=LaunchOptions(peers={"next": self.sink}))
        self.enricher = spawn(enrich, name="txmon/enrich", restart=policy,
                              options=LaunchOptions(peers={"next": self.scorer}))
        self.head = spawn(ingest, name="txmon/ingest", restart=policy, options=LaunchOptions(peers={"next": self.enricher}))

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc) -> None:
        self.rt.close()

    def process(self, events: np.ndarray, timeout: float = 60.0) -> dict:
        """Send the batch and collect its alerts. Returns alerts (an Alert batch), dead_letters (the
        DeadLetters of this batch), restarts (of ingest, so far), restarts_other (of the other
        stages), processed (of this batch, reached the alert stage), counts (the alert stage's
        state, so far) and seconds (first send to last alert)."""
        rt, sink = self.rt, self.sink
        n, dead0, in0 = len(events), len(rt.dead_letters), sink.stats.messages_in
        parts = []
        start = time.perf_counter()
        self.head.send_many(events, timeout=timeout)
        while time.perf_counter() < start + timeout:
            chunk = sink.receive_many(1 << 14, timeout=0.01)
            parts.append(chunk)
            done = sink.stats.messages_in - in0 + len(rt.dead_letters) - dead0 >= n
            if done and len(chunk) == 0 and sink.stats.reply_depth == 0:
                break
        seconds = time.perf_counter() - start
        return {"alerts": np.concatenate(parts), "seconds": seconds, "dead_letters": list(rt.dead_letters)[dead0:],
                "restarts": self.head.restart_count, "processed": sink.stats.messages_in - in0,
                "counts": sink.read_state(),
                "restarts_other": self.enricher.restart_count + self.scorer.restart_count + sink.restart_count}


def run_pipeline(events: np.ndarray, backend: str = "cpu", timeout: float = 60.0) -> dict:
    """Start the four stages, stream `events` through them once (Monitor.process), stop them."""
    with Monitor(backend) as mon:
        return mon.process(events, timeout)


def shifted(events: np.ndarray, k: int) -> np.ndarray:
    """The same stream k horizons later (times and seqs moved on): processed after the original,
    it raises the same flags (honest history only grows; every gap stays over the window)."""
    out = events.copy()
    span = int(events["t"].max()) + 4 * WINDOW_S
    out["t"] += k * span
    out["seq"] += k * len(events)
    return out


def flags_from_alerts(alerts: np.ndarray, dead_seqs, n: int) -> np.ndarray:
    """Per seq: the alert's flags, -1 for a dead-lettered transaction, else 0."""
    out = np.zeros(n, np.int32)
    out[alerts["seq"]] = alerts["flags"]
    out[list(dead_seqs)] = -1
    return out


def recall_precision(found: np.ndarray, expected: np.ndarray) -> tuple:
    """Over transactions: recall = flagged and planted / planted, precision = flagged and planted /
    flagged (a transaction counts as caught only with exactly the planted flags)."""
    planted, flagged = expected > 0, found > 0
    hit = planted & flagged & (found == expected)
    return hit.sum() / max(planted.sum(), 1), hit.sum() / max(flagged.sum(), 1)
