"""examples/apps/txmon.py: the 4-stage actor pipeline finds exactly the planted fraud (recall and
precision 1), dead-letters exactly the malformed transactions while its supervisor restarts the
failing stage, loses nothing (every transaction reaches the last stage or the dead letters), and
every stage's CUDA C++ compiles."""
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from examples.apps import txmon as tx


@pytest.fixture(scope="module")
def stream():
    return tx.generate(items_per_account=30, fraud_rate=0.15, malformed=4, seed=3)


def test_generator_plants_every_kind_of_fraud_and_the_reference_rules_find_exactly_it(stream):
    events, expected = stream
    assert np.all(np.diff(events["t"]) >= 0) and np.array_equal(events["seq"], np.arange(len(events)))
    kinds = np.bincount(expected[expected > 0], minlength=8)
    assert kinds[tx.VELOCITY] >= 10 and kinds[tx.AMOUNT] >= 10 and kinds[tx.GEO] >= 10, kinds
    assert (expected == -1).sum() == 4
    assert np.array_equal(tx.reference_flags(events), expected)


def test_the_rules_use_history_a_shuffled_stream_is_not_flagged_the_same(stream):
    """Velocity, z-score and travel speed are per-account history: out of time order they change."""
    events, expected = stream
    shuffled = events.copy()
    shuffled[["t", "account", "amount", "x", "y"]] = events[["t", "account", "amount", "x", "y"]][::-1]
    assert not np.array_equal(tx.reference_flags(shuffled), expected[::-1])


def test_a_shifted_copy_of_the_stream_raises_the_same_flags_after_the_original(stream):
    """What tools/bench/pipeline.py relies on to send one stream several times through one pipeline."""
    events, expected = stream
    both = np.concatenate([events, tx.shifted(events, 1)])
    assert np.array_equal(tx.reference_flags(both), np.concatenate([expected, expected]))


def test_pipeline_finds_exactly_the_planted_fraud_and_loses_nothing(stream):
    events, expected = stream
    r = tx.run_pipeline(events, backend="cpu")
    dead = sorted(int(d.message.seq) for d in r["dead_letters"])
    assert dead == np.flatnonzero(expected == -1).tolist()
    assert r["restarts"] == 4 and r["restarts_other"] == 0      # only ingest failed, once per malformed one
    assert r["processed"] + len(dead) == len(events)             # every transaction accounted for
    found = tx.flags_from_alerts(r["alerts"], dead, len(events))
    assert np.array_equal(found, expected)
    assert tx.recall_precision(found, expected) == (1.0, 1.0)
    assert len(np.unique(r["alerts"]["seq"])) == len(r["alerts"])  # no alert twice
    c = r["counts"]
    assert c.alerts == (expected > 0).sum()
    assert (c.velocity, c.amount, c.geo) == tuple(int(((expected > 0) & ((expected & f) != 0)).sum()) for f in (tx.VELOCITY, tx.AMOUNT, tx.GEO))
    assert np.all((r["alerts"]["risk"] > 0) & (r["alerts"]["risk"] <= 1))


def test_recall_and_precision_count_misses_and_false_alarms():
    expected = np.array([0, 1, 2, 0, 4, -1], np.int32)
    found = np.array([1, 1, 0, 0, 4, -1], np.int32)   # one false alarm, one miss
    assert tx.recall_precision(found, expected) == (2 / 3, 2 / 3)


@pytest.mark.nvcc
def test_every_stage_compiles_with_nvcc(nvcc):
    """The resident actor .cu of each stage (enrich: max() of an int64_t state field and a literal)."""
    proc = subprocess.run([sys.executable, "-m", "ringkernel_codegen.cli", "check", os.path.join(ROOT, "examples", "apps", "txmon.py"),
                           "--compiler", "nvcc"], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0 and "4 kernel(s) compiled" in proc.stdout, proc.stdout + proc.stderr
