"""Ray, started once for the cluster tests (num_cpus=2, no dashboard), and stopped with no process left.

The ring kernels come from tests/runtime/ring_kernels.py (hosting processes import them by name).
"""
import os
import sys
import time

import pytest

RUNTIME_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "runtime")
sys.path.insert(0, RUNTIME_TESTS)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1].split()[0] != "Z"      # a zombie has exited
    except FileNotFoundError:
        return False


def children_of(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().split(") ")[-1].split()[1]) == pid and alive(int(d)):
                        out.append(int(d))
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                pass
    return out


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = children_of(todo.pop())
        out += kids
        todo += kids
    return out


@pytest.fixture(scope="session")
def ray_session():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    started = descendants(os.getpid())
    assert started, "ray.init started no process?"
    yield ray
    ray.shutdown()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and descendants(os.getpid()):
        time.sleep(0.1)
    left = descendants(os.getpid())
    assert not left, f"Ray processes left behind after ray.shutdown(): {left}"
