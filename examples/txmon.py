"""Transaction monitoring on four actors (examples/apps/txmon.py): ingest -> enrich -> score -> alert,
K2K between stages, per-account history in actor state, a supervisor restarting the stage that
fails on malformed input.

Generates a stream with planted fraud (card-testing bursts, outsized amounts, impossible travel)
and a few malformed transactions, runs it through the pipeline, and prints what was caught against
what was planted (recall and precision over transactions), what was dead-lettered, and the
throughput beside the same rules in a plain Python loop. Saves alerts over time as a picture.

    python examples/txmon.py [--items 40] [--backend cpu] [--png build/txmon.png]

Expected output on the CPU backend of a 2-core machine (about 20 s, nearly all of it starting the
four actors, ~5 s each on the cpu backend; a status line on stderr says what it is doing meanwhile):

    txmon on cpu: 2803 transactions, 64 accounts, planted: 120 velocity, 58 amount, 57 geo, 3 malformed
    alerts: 235 (velocity 120, amount 58, geo 57)
    recall 1.000, precision 1.000 (caught 235 of 235 planted, 0 false alarms)
    dead letters: 3 (seqs 115, 1039, 2360: malformed), ingest restarted 3 times; 2800 reached the alert stage
    nothing lost: 2800 + 3 = 2803 sent
    throughput: pipeline 81,520 transactions/s; same rules in a plain Python loop 624,335/s (flags agree)
    picture: build/txmon.png
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from apps import txmon as tx  # noqa: E402
from ringkernel_codegen.progress import heartbeat  # noqa: E402


def save_picture(events, alerts, path: str) -> str:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "not saved (matplotlib is not installed: pip install matplotlib)"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    hours = events["t"] / 3600.0
    bins = np.linspace(0.0, hours.max() + 1e-9, 41)
    fig, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
    ax.hist(hours, bins=bins, color="lightgray", label="transactions")
    at = alerts["t"] / 3600.0
    for flag, colour in ((tx.VELOCITY, "tab:orange"), (tx.AMOUNT, "tab:red"), (tx.GEO, "tab:purple")):
        pick = (alerts["flags"] & flag) != 0
        ax.hist(at[pick], bins=bins, histtype="step", lw=2, color=colour, label=f"{tx.FLAG_NAMES[flag]} alerts")
    ax.set_xlabel("time (hours)")
    ax.set_ylabel("count per bin")
    ax.set_yscale("log")
    ax.legend()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40, help="transactions (or fraud episodes) per account")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", default="cpu", help="cpu | cuda | auto")
    parser.add_argument("--png", default="build/txmon.png", help="where to save the picture ('' for none)")
    args = parser.parse_args()

    events, expected = tx.generate(items_per_account=args.items, seed=args.seed)
    status = heartbeat("txmon")
    status.say(f"starting the four actors on {args.backend} and streaming {len(events)} transactions")
    r = tx.run_pipeline(events, backend=args.backend)
    start = time.perf_counter()
    reference = tx.reference_flags(events)
    python_s = time.perf_counter() - start
    status.stop()

    dead = sorted(int(d.message.seq) for d in r["dead_letters"])
    found = tx.flags_from_alerts(r["alerts"], dead, len(events))
    recall, precision = tx.recall_precision(found, expected)
    planted = {f: int(((expected > 0) & ((expected & f) != 0)).sum()) for f in tx.FLAG_NAMES}
    c = r["counts"]
    caught = int(((found == expected) & (expected > 0)).sum())
    false_alarms = int(((found > 0) & (found != expected)).sum())
    print(f"txmon on {args.backend}: {len(events)} transactions, {tx.ACCOUNTS} accounts, planted: "
          + ", ".join(f"{planted[f]} {n}" for f, n in tx.FLAG_NAMES.items()) + f", {(expected == -1).sum()} malformed")
    print(f"alerts: {c.alerts} (velocity {c.velocity}, amount {c.amount}, geo {c.geo})")
    print(f"recall {recall:.3f}, precision {precision:.3f} (caught {caught} of {(expected > 0).sum()} planted, "
          f"{false_alarms} false alarms)")
    print(f"dead letters: {len(dead)} (seqs {', '.join(map(str, dead))}: malformed), ingest restarted "
          f"{r['restarts']} times; {r['processed']} reached the alert stage")
    print(f"nothing lost: {r['processed']} + {len(dead)} = {r['processed'] + len(dead)} sent")
    print(f"throughput: pipeline {len(events) / r['seconds']:,.0f} transactions/s; same rules in a plain Python "
          f"loop {len(events) / python_s:,.0f}/s (flags {'agree' if np.array_equal(reference, found) else 'DIFFER'})")
    if args.png:
        print(f"picture: {save_picture(events, r['alerts'], args.png)}")


if __name__ == "__main__":
    main()
