"""Transaction-monitoring pipeline benchmark (examples/apps/txmon.py): transactions per second end
to end through the four actors (ingest -> enrich -> score -> alert, K2K between them; from the
first send to the last alert received), beside the same rules in a plain Python loop
(`reference_flags`, one process, no queues) in the same run. Every pass's flags are checked
against the planted ones, so a fast wrong answer cannot pass.

The actors start once (about 5 s each on the cpu backend, not timed); then `--passes` copies of
the stream, each shifted past the previous one in time, go through one after another.

    .venv/bin/python tools/bench/pipeline.py [--items 500] [--passes 5] [--backend cpu]
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [ROOT, os.path.join(ROOT, "examples")]
from apps import txmon as tx  # noqa: E402
from ringkernel_codegen.progress import heartbeat  # noqa: E402


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500, help="transactions (or fraud episodes) per account")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--backend", default="cpu")
    args = parser.parse_args()

    events, expected = tx.generate(items_per_account=args.items, seed=7)
    status = heartbeat("bench/pipeline")
    status.say(f"starting the four actors on {args.backend}")
    load = os.getloadavg()[0]
    pipe, py = [], []
    with tx.Monitor(args.backend) as mon:
        for k in range(args.passes):
            status.say(f"pass {k + 1} of {args.passes}: {len(events)} transactions")
            batch = tx.shifted(events, k)
            r = mon.process(batch)
            dead = [int(d.message.seq) - k * len(events) for d in r["dead_letters"]]
            alerts = r["alerts"].copy()
            alerts["seq"] -= k * len(events)
            found = tx.flags_from_alerts(alerts, dead, len(events))
            assert np.array_equal(found, expected), f"pass {k}: the pipeline's flags differ from the planted ones"
            pipe.append(len(events) / r["seconds"])
            start = time.perf_counter()
            ref = tx.reference_flags(batch)
            py.append(len(events) / (time.perf_counter() - start))
            assert np.array_equal(ref, expected)
    status.stop()

    print(f"device: {cpu_model()} ({os.cpu_count()} logical CPUs), Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print(f"date: {datetime.date.today().isoformat()}; 1-minute load average at start {load:.1f}")
    print(f"stream: {len(events)} transactions, {tx.ACCOUNTS} accounts, {(expected > 0).sum()} planted fraud, "
          f"{(expected == -1).sum()} malformed; {args.passes} passes; flags checked every pass")
    print()
    print("| figure | ringkernel pipeline (4 actors, " + args.backend + ") | baseline: plain Python loop, same rules | ratio |")
    print("|---|---|---|---|")
    for name, f in (("median", statistics.median), ("best", max), ("worst", min)):
        a, b = f(pipe), f(py)
        print(f"| transactions/s, {name} of {args.passes} | {a:,.0f} | {b:,.0f} | {a / b:.2f}x |")


if __name__ == "__main__":
    main()
