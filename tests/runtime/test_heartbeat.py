"""The resident actor loop's heartbeat during long batches (issue #16 item 5), and the scopes of its
K2K orderings.

A GPU actor beats `heartbeat_ns` in its control block (at most once per RK_BEAT_NS) and the host
watchdog fails it when the word stops changing for `stall_timeout`. The loop beats while it polls,
while parked and while a K2K send is blocked; it must also beat while it works through a batch
(per message, in order) and while a handler sends (a long run of successful K2K sends), or one
batch longer than the stall timeout is reported as a stall although every message finishes.

Run here on the CUDA C++ actor loop compiled for the host (`cuda-emu`, host_emu.py), with handlers
that busy-wait on the timer (ring_kernels.dawdle*): a batch of short messages that together outlast
the stall timeout is not a stall, a single long run of sends is not either, and a handler that
really does not return is still reported. The numba loop's counterpart runs in the simulator
(tests/sim/test_numba_actors.py). The text checks say which scope each K2K ordering uses: K2K
inboxes live in device memory (gpu scope), the host lanes and the control block in mapped host
memory (sys scope).
"""
import re
import subprocess
import threading
import time

import numpy as np
import pytest

import host_emu
import ring_kernels as rk
from ringkernel_runtime import KernelState, LaunchOptions
from ringkernel_runtime.layout import CB

TIMEOUT = 20.0
STALL = 0.4                 # the watchdog's stall timeout in these tests (default 2 s)
STEP_NS = 150_000_000       # one step of a slow handler: well under STALL; 8 steps: well over it


def _emu():
    if host_emu.compiler() is None:
        pytest.skip("g++ not found (the host emulation of the CUDA actor loop needs it)")
    return host_emu.emulated_runtime()


def work(n, wait_ns=0, loops=0, sends=0):
    b = rk.Work.zeros(n)
    b["seq"] = np.arange(n)
    b["wait_ns"], b["loops"], b["sends"], b["value"] = wait_ns, loops, sends, 1.0
    return b


class BeatWatch:
    """Samples an actor's control block from a host thread: the heartbeat values seen once the
    batch's handlers have `started()` and while messages_in (published once per batch) is still
    what it was, i.e. beats from inside the batch (not the idle loop's)."""

    def __init__(self, handle, started):
        self.ctrl, self.before = handle.actor.ctrl, int(handle.actor.ctrl[CB["messages_in"]])
        self.started = started
        self.inside: set[int] = set()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            beat = int(self.ctrl[CB["heartbeat_ns"]])
            if self.started() and int(self.ctrl[CB["messages_in"]]) == self.before:
                self.inside.add(beat)
            time.sleep(0.005)

    def stop(self):
        self._stop.set()
        self._t.join(TIMEOUT)
        return self


def _handling(handle):
    """started(): an in-order handler has begun (the loop stores last_correlation per message)."""
    ctrl, before = handle.actor.ctrl, int(handle.actor.ctrl[CB["last_correlation"]])
    return lambda: int(ctrl[CB["last_correlation"]]) != before


def _no_stall(rt, handle):
    assert handle.state == KernelState.ACTIVE, handle.state
    assert not [e for e in rt.supervisor.events if e.kind == "stalled"], rt.supervisor.events


def test_a_batch_longer_than_the_stall_timeout_beats_per_message():
    with _emu() as rt:
        k = rt.spawn(rk.dawdle, name="dawdle", options=LaunchOptions(queue_capacity=64, stall_timeout=STALL))
        k.send(rk.Work(seq=-1))                                   # resident and idle first
        assert k.receive(timeout=TIMEOUT).seq == -1
        watch = BeatWatch(k, _handling(k))
        t0 = time.monotonic()
        k.send_many(work(8, wait_ns=STEP_NS), timeout=TIMEOUT)    # one batch (8 threads, 8 staged)
        out = k.receive_many(8, timeout=TIMEOUT)
        took = time.monotonic() - t0
        watch.stop()
        assert list(out["seq"]) == list(range(8))
        assert took > 2 * STALL                                    # the batch did outlast the timeout
        _no_stall(rt, k)
        assert len(watch.inside) >= 4, watch.inside               # beats from inside the batch
        assert k.terminate(timeout=TIMEOUT)


def test_a_long_run_of_k2k_sends_in_one_handler_call_beats():
    with _emu() as rt:
        sink = rt.launch(rk.accumulate, LaunchOptions(queue_capacity=64, stall_timeout=STALL))
        src = rt.spawn(rk.dawdle_fan_out, name="fan", options=LaunchOptions(
            queue_capacity=64, peers={"next": sink}, stall_timeout=STALL))
        watch = BeatWatch(src, _handling(src))
        src.send(rk.Work(seq=1, wait_ns=STEP_NS, sends=8))        # one handler call, ~1.2 s of sends
        out = sink.receive_many(8, timeout=TIMEOUT)
        watch.stop()
        assert sorted(out["seq"]) == [1000 + i for i in range(8)]
        _no_stall(rt, src)
        _no_stall(rt, sink)
        assert len(watch.inside) >= 4, watch.inside
        assert src.terminate(timeout=TIMEOUT) and sink.terminate(timeout=TIMEOUT)


def test_parallel_handlers_sending_for_long_beat_from_any_thread():
    with _emu() as rt:
        sink = rt.launch(rk.accumulate, LaunchOptions(queue_capacity=128, stall_timeout=STALL))
        src = rt.spawn(rk.dawdle_fan_out_parallel, name="fan", options=LaunchOptions(
            queue_capacity=64, peers={"next": sink}, stall_timeout=STALL))
        batch = work(8, wait_ns=STEP_NS, sends=8)
        batch["sends"][0] = 0                                      # thread 0 (the leader) is done at once
        watch = BeatWatch(src, lambda: int(sink.actor.ctrl[CB["messages_in"]]) > 0)   # sends arrive
        src.send_many(batch, timeout=TIMEOUT)
        out = sink.receive_many(56, timeout=TIMEOUT)
        watch.stop()
        assert sorted(out["seq"]) == sorted(1000 * s + i for s in range(1, 8) for i in range(8))
        _no_stall(rt, src)
        assert len(watch.inside) >= 4, watch.inside
        assert src.terminate(timeout=TIMEOUT) and sink.terminate(timeout=TIMEOUT)


def test_a_handler_that_does_not_return_is_still_reported():
    with _emu() as rt:
        k = rt.spawn(rk.dawdle, name="stuck", options=LaunchOptions(queue_capacity=64, stall_timeout=STALL))
        k.send(rk.Work(seq=-1))
        assert k.receive(timeout=TIMEOUT).seq == -1
        corr = k.send(rk.Work(seq=1, wait_ns=int(4 * STALL * 1e9)))   # one message, 4x the timeout
        assert k.lifecycle.wait_for((KernelState.FAILED,), TIMEOUT)
        report = next(e.detail for e in rt.supervisor.events if e.kind == "stalled")
        assert f"handling correlation id {corr}" in report, report
        assert k.terminate(timeout=TIMEOUT)                           # the loop exits once it returns
        stream = k.actor.stream
        assert stream is None or stream.done()


# -- scopes of the orderings in the emitted source ---------------------------------------------------
def _function(src, signature):
    start = src.index(signature)
    return src[start:src.index("\n}\n", start) + 2]


@pytest.mark.parametrize("kernel", [rk.adder, rk.double, rk.square, rk.forward], ids=lambda k: k.name)
def test_k2k_lane_orders_at_gpu_scope_and_host_lanes_at_system_scope(kernel):
    src = kernel.cuda_source()
    # the helpers are what they say
    assert re.search(r"rk_poll_gpu\(const T\* p\) \{[^}]*ld\.relaxed\.gpu\.b64", src)
    assert re.search(r"rk_publish_gpu\(T\* p, T v\) \{[^}]*st\.release\.gpu\.b64", src)
    assert re.search(r"rk_fence_acquire_gpu\(\) \{[^}]*fence\.acq_rel\.gpu", src)
    assert re.search(r"rk_poll_system\(const T\* p\) \{[^}]*ld\.relaxed\.sys\.b64", src)
    # producer: rk_send_peer polls, acquires and publishes the peer's inbox at gpu scope only
    send = _function(src, "__device__ __noinline__ int rk_send_peer(")
    assert "rk_poll_gpu(&hdr->tail)" in send and "rk_poll_gpu(&hdr->head)" in send
    assert "rk_fence_acquire_gpu();" in send and "rk_publish_gpu(&hdr->tail" in send
    assert not re.search(r"rk_(poll|publish|fence_acquire)_system|__threadfence_system", send), send
    # consumer: the K2K lane (1) at gpu scope, the host lane (0) and the reply queue at system scope
    nxt = _function(src, "__device__ int rk_next(")
    assert "rk_poll_gpu(&L.lane[1].hdr->tail)" in nxt and "rk_poll_system(&L.lane[0].hdr->tail)" in nxt
    assert re.search(r"if \(pick == 0\) rk_fence_acquire_system\(\);.*\n.*else rk_fence_acquire_gpu\(\);", nxt)
    assert "rk_poll_system(&L.out.hdr->head)" in nxt
    pub = _function(src, "__device__ void rk_publish(")
    assert "rk_publish_system(&L.out.hdr->tail" in pub
    assert re.search(r"if \(lane == 0\) rk_publish_system\(&L\.lane\[0\]\.hdr->head", pub)
    assert re.search(r"else rk_publish_gpu\(&L\.lane\[1\]\.hdr->head", pub)
    # the heartbeat (control block, mapped) stays system scope
    assert "rk_store_system(peers->beat" in src


@pytest.mark.parametrize("kernel", [rk.dawdle, rk.dawdle_fan_out, rk.dawdle_fan_out_parallel],
                         ids=lambda k: k.name)
def test_the_handler_loop_and_sends_beat(kernel):
    src = kernel.cuda_source()
    send = _function(src, "__device__ __noinline__ int rk_send_peer(")
    assert "rk_beat_at(peers, " in send                    # every successful send may beat
    loop = src[src.index("extern \"C\" __global__"):]
    if not kernel.parallel:
        body = loop[loop.index("in order, one message after another"):]
        assert re.search(r"const long long now = rk_now\(\);\s*\n\s*rk_beat_at\(&s_peers, now\);", body)


SLOW = [rk.dawdle, rk.dawdle_fan_out, rk.dawdle_fan_out_parallel]


@pytest.mark.parametrize("kernel", SLOW, ids=lambda k: k.name)
def test_slow_handler_actors_compile_with_nvrtc(kernel):
    from ringkernel_runtime.backends.cuda import compile_cuda
    assert compile_cuda(kernel.cuda_source(), arch="sm_90").image


@pytest.mark.nvcc
@pytest.mark.parametrize("kernel", SLOW, ids=lambda k: k.name)
def test_slow_handler_actors_compile_with_nvcc(kernel, nvcc, tmp_path):
    cu = tmp_path / f"{kernel.name}.cu"
    cu.write_text(kernel.cuda_source())
    r = subprocess.run([nvcc, "-arch=sm_90", "-std=c++17", "-c", str(cu), "-o", str(tmp_path / "a.o")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_numba_k2k_helpers_order_at_gpu_scope():
    from ringkernel_runtime.backends import numba_ops
    cu = open(numba_ops.ops_source_path()).read()
    for name, insn in (("rk_nb_poll_u64_gpu", "ld.relaxed.gpu.b64"), ("rk_nb_publish_u64_gpu", "st.release.gpu.b64"),
                       ("rk_nb_fence_acq_rel_gpu", "fence.acq_rel.gpu"), ("rk_nb_poll_u64", "ld.relaxed.sys.b64"),
                       ("rk_nb_publish_u64", "st.release.sys.b64"), ("rk_nb_fence_acq_rel_sys", "fence.acq_rel.sys")):
        body = re.search(r"\b" + name + r"\(.*?\n\}", cu, re.S).group(0)
        assert insn in body, name
    src = rk.double.numba_source(threads=128)
    loop = src[src.index("# ---- resident actor loop"):]
    assert "_rko.k2k_tail(k_hdr)" in loop and "_rko.k2k_release_head(k_hdr, new_head)" in loop
    assert "_rko.fence_gpu()" in loop and "_rko.poll_u(h_hdr, _QH_TAIL)" in loop
