"""Registry patterns and the supervisor's restart decisions (no threads, a fake clock)."""
from collections import deque

import pytest

from ringkernel_runtime.errors import LaunchError
from ringkernel_runtime.registry import Registry
from ringkernel_runtime.supervisor import OneForAll, OneForOne, RestForOne, Supervisor, Temporary


def test_lookup_patterns():
    r = Registry()
    for n in ("a/b", "a/c", "a/b/c", "ab", "x/a/b"):
        r.register(n, n)
    assert r.lookup("a/b") == "a/b" and r.lookup("nope") is None
    assert r.lookup_pattern("a/*") == ["a/b", "a/c"]
    assert r.lookup_pattern("a/**") == ["a/b", "a/b/c", "a/c"]
    assert r.lookup_pattern("a?") == ["ab"]
    assert r.lookup_pattern("**/b") == ["a/b", "x/a/b"]


def test_duplicate_name_is_refused():
    r = Registry()
    r.register("a", 1)
    with pytest.raises(LaunchError, match="already registered"):
        r.register("a", 2)


class Fake:
    def __init__(self, name, policy, parent=None):
        self.name, self.restart_policy, self.parent = name, policy, parent
        self._restart_times = deque()
        self.escalated = False
        self.escalations = []
        self.restartable = True


def group(policy, n=3, clock=None):
    sup = Supervisor(clock=clock or (lambda: 0.0))
    parent = Fake("p", OneForOne())
    kids = [Fake(f"p/{i}", policy, parent) for i in range(n)]
    for k in kids:
        sup.add(k)
    return sup, parent, kids


def test_one_for_one_restarts_only_the_failed_actor():
    sup, _, kids = group(OneForOne())
    assert sup.on_failure(kids[1], "x") == [kids[1]]


def test_one_for_all_restarts_every_sibling():
    sup, _, kids = group(OneForAll())
    assert sup.on_failure(kids[1], "x") == kids


def test_rest_for_one_restarts_the_failed_and_later_siblings():
    sup, _, kids = group(RestForOne())
    assert sup.on_failure(kids[1], "x") == kids[1:]


def test_temporary_is_never_restarted_nor_escalated():
    sup, parent, kids = group(Temporary())
    assert sup.on_failure(kids[0], "x") == [] and not kids[0].escalated and parent.escalations == []


def test_more_than_max_restarts_within_window_escalates_to_parent():
    now = [0.0]
    sup, parent, kids = group(OneForOne(max_restarts=2, window=10.0), clock=lambda: now[0])
    assert sup.on_failure(kids[0], "x") == [kids[0]]
    now[0] = 1.0
    assert sup.on_failure(kids[0], "x") == [kids[0]]
    now[0] = 2.0
    assert sup.on_failure(kids[0], "x") == []
    assert kids[0].escalated and parent.escalations[0][1] == "p/0"


def test_restarts_outside_the_window_do_not_count():
    now = [0.0]
    sup, parent, kids = group(OneForOne(max_restarts=1, window=5.0), clock=lambda: now[0])
    for t in (0.0, 6.0, 12.0):
        now[0] = t
        assert sup.on_failure(kids[0], "x") == [kids[0]]
    assert not kids[0].escalated
