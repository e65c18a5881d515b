"""The per-message host path (issue #11): what send / receive / send_many / receive_many give back
is right when slots, reply pools and the ring wrap around. References are NumPy or hand values."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import Add, Seq, adder, counter
from ringkernel_runtime import LaunchOptions, Runtime
from ringkernel_runtime.hlc import HLC, tick_rule, update_rule


@pytest.fixture
def rt():
    with Runtime(backend="cpu") as r:
        yield r


def test_replies_received_one_by_one_are_private_copies(rt):
    """600 round trips through a 4-slot queue: every slot is reused ~150 times and the replies'
    record pool (256 records of 64 B) is replaced twice; every reply kept keeps its own values."""
    k = rt.launch(counter, LaunchOptions(queue_capacity=4))
    kept = []
    for i in range(600):
        k.send(Seq(seq=i, producer=7))
        kept.append(k.receive(timeout=10.0))
    assert [r.seq for r in kept] == list(range(600))
    assert [r.count for r in kept] == list(range(1, 601))        # the actor's running count
    assert all(r.producer == 7 for r in kept)
    kept[0].seq = -5                                              # a reply's fields are its own
    assert kept[0].seq == -5 and kept[1].seq == 1 and kept[256].seq == 256
    stamps = [(r.hlc_physical, r.hlc_logical) for r in kept]
    assert stamps == sorted(stamps) and len(set(stamps)) == 600


def test_send_many_wraps_the_ring_and_takes_strided_batches(rt):
    """Batches of 5 into an 8-slot queue (every other batch straddles the ring's end) and a strided
    batch (b[::2], copied field by field) arrive whole and in order, with consecutive correlation ids."""
    k = rt.launch(adder, LaunchOptions(queue_capacity=8))
    rng = np.random.default_rng(11)
    sent, got, metas = [], [], []
    for _ in range(40):
        b = Add.zeros(10)
        b["a"] = rng.standard_normal(10).astype(np.float32)
        b["b"] = rng.standard_normal(10).astype(np.float32)
        part = b[::2] if rng.random() < 0.5 else b[:5]
        assert k.send_many(part, timeout=10.0) == 5
        sent.append(part.copy())
        out, meta = k.receive_many(5, timeout=10.0, headers=True)
        got.append(out)
        metas.append(meta)
    sent, got, meta = np.concatenate(sent), np.concatenate(got), np.concatenate(metas)
    np.testing.assert_array_equal(got["value"], sent["a"] + sent["b"])      # float32 sums, as NumPy
    corr = meta["correlation_id"].astype(np.int64)
    assert list(corr) == list(range(int(corr[0]), int(corr[0]) + 200))
    stamps = list(zip(meta["hlc_physical"].tolist(), meta["hlc_logical"].tolist()))
    assert stamps == sorted(stamps) and len(set(stamps)) == 200


def test_a_send_after_a_reply_is_stamped_after_it(rt):
    """HLC causality through the fast paths: receive's clock update, then send's tick."""
    a = rt.launch(counter, LaunchOptions(queue_capacity=4))
    b = rt.launch(counter, LaunchOptions(queue_capacity=4))
    for i in range(200):
        a.send(Seq(seq=i))
        r = a.receive(timeout=10.0)
        b.send(Seq(seq=i))
        s = b.receive(timeout=10.0)
        # b handled a message sent after a's reply was received: its clock is past that reply's
        assert (s.hlc_physical, s.hlc_logical) > (r.hlc_physical, r.hlc_logical)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["tick", "observe"]), st.integers(0, 50), st.integers(0, 60),
                          st.integers(0, 9)), min_size=1, max_size=60))
def test_the_clock_fast_paths_follow_the_hlc_rules(events):
    """HLC.tick (send) and HLC.observe (receive) against tick_rule / update_rule, with a physical
    clock that stalls and goes backwards."""
    phys = [0]
    clock = HLC(clock=lambda: phys[0])
    l, c = 0, 0
    for kind, pt, lm, cm in events:
        phys[0] = pt
        if kind == "tick":
            assert clock.tick() == tick_rule(l, c, pt)
            l, c = tick_rule(l, c, pt)
        else:
            clock.observe(lm, cm)
            l, c = update_rule(l, c, lm, cm, pt)
        assert tuple(clock.peek())[:2] == (l, c)
