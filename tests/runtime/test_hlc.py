"""HLC rules (Kulkarni et al.) by hand, and properties: monotonic, causal across send/receive."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ringkernel_runtime.hlc import HLC, hlc_tick, hlc_update, tick_rule, update_rule


def test_tick_with_advancing_physical_resets_logical():
    assert tick_rule(100, 5, 200) == (200, 0)


def test_tick_with_equal_or_older_physical_counts_up():
    assert tick_rule(100, 5, 100) == (100, 6)
    assert tick_rule(100, 5, 50) == (100, 6)


def test_receive_cases_by_hand():
    assert update_rule(100, 3, 100, 7, 50) == (100, 8)     # l == lm: max(c, cm) + 1
    assert update_rule(100, 3, 90, 7, 50) == (100, 4)      # local ahead: c + 1
    assert update_rule(90, 3, 100, 7, 50) == (100, 8)      # message ahead: cm + 1
    assert update_rule(90, 3, 100, 7, 150) == (150, 0)     # physical ahead: 0
    assert update_rule(100, 3, 100, 7, 100) == (100, 8)    # all equal


def test_njit_rules_equal_python_rules():
    clock = np.zeros(4, np.int64)
    clock[1], clock[2] = 100, 5
    hlc_tick(clock, 1, 2, 100)
    assert (clock[1], clock[2]) == tick_rule(100, 5, 100)
    hlc_update(clock, 1, 2, 50, 100, 9)
    assert (clock[1], clock[2]) == update_rule(100, 6, 100, 9, 50)


events = st.lists(st.tuples(st.sampled_from(["tick", "send", "recv"]), st.integers(0, 2),
                            st.integers(-5, 5)), min_size=1, max_size=200)


@settings(max_examples=200, deadline=None)
@given(events)
def test_hlc_is_monotonic_and_causal_under_skew(evs):
    """Three nodes with skewed, sometimes stalled clocks; every receive is after its send."""
    phys = [1000, 1000, 1000]
    clocks = [HLC(i, clock=lambda i=i: phys[i]) for i in range(3)]
    last = [(0, 0)] * 3
    in_flight = []
    for kind, node, dt in evs:
        phys[node] = max(0, phys[node] + dt)          # clocks may even go backwards
        if kind == "recv" and in_flight:
            sent = in_flight.pop(0)
            ts = clocks[node].update(sent[0], sent[1])
            assert (ts.physical, ts.logical) > sent
        else:
            ts = clocks[node].now()
            if kind == "send":
                in_flight.append((ts.physical, ts.logical))
        assert (ts.physical, ts.logical) > last[node]
        last[node] = (ts.physical, ts.logical)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 50),
                          st.integers(0, 10**6)), min_size=1, max_size=50))
def test_njit_update_matches_python_everywhere(cases):
    clock = np.zeros(2, np.int64)
    l, c = 0, 0
    for lm, pt, cm, pt2 in cases:
        hlc_update(clock, 0, 1, pt, lm, cm)
        l, c = update_rule(l, c, lm, cm, pt)
        assert (clock[0], clock[1]) == (l, c)
        hlc_tick(clock, 0, 1, pt2)
        l, c = tick_rule(l, c, pt2)
        assert (clock[0], clock[1]) == (l, c)
