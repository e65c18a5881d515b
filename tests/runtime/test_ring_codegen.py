"""Ring kernels written in the DSL run on the CPU actor runtime (references from NumPy)."""
import numpy as np
import pytest

import ring_kernels as rk
import ring_malformed as bad
from ringkernel_codegen import CodegenError, RingKernelError, ring_kernel
from ringkernel_runtime import LaunchOptions, OneForOne, Runtime

TIMEOUT = 10.0


@pytest.fixture
def rt():
    with Runtime(backend="cpu") as runtime:
        yield runtime


def test_adder_replies_match_numpy(rt):
    k = rt.launch(rk.adder, LaunchOptions(queue_capacity=4096))
    batch = rk.Add.zeros(3000)
    rng = np.random.default_rng(1)
    batch["a"] = rng.standard_normal(3000).astype(np.float32)
    batch["b"] = rng.standard_normal(3000).astype(np.float32)
    k.send_many(batch, timeout=TIMEOUT)
    out = k.receive_many(3000, timeout=TIMEOUT)
    assert len(out) == 3000
    np.testing.assert_array_equal(out["value"], batch["a"] + batch["b"])


def test_single_send_receive_reads_fields(rt):
    k = rt.launch(rk.adder, LaunchOptions(queue_capacity=64))
    k.send(rk.Add(a=1.5, b=2.25))
    assert k.receive(timeout=TIMEOUT).value == pytest.approx(3.75)


def test_state_persists_from_initial_value(rt):
    init = rk.Totals(count=10, total=100.0)
    k = rt.launch(rk.accumulate, LaunchOptions(queue_capacity=1024, state=init))
    values = np.arange(1, 501, dtype=np.float64)
    batch = rk.Item.zeros(500)
    batch["seq"] = np.arange(500)
    batch["value"] = values
    k.send_many(batch, timeout=TIMEOUT)
    out = k.receive_many(500, timeout=TIMEOUT)
    np.testing.assert_allclose(out["value"], 100.0 + np.cumsum(values))
    state = k.read_state()
    assert state.count == 510 and state.total == pytest.approx(100.0 + values.sum())


def test_fail_dead_letters_the_message_and_restart_continues(rt):
    k = rt.spawn(rk.accumulate, name="acc", restart=OneForOne(max_restarts=3, window=60.0),
                 options=LaunchOptions(queue_capacity=256))
    batch = rk.Item.zeros(10)
    batch["seq"] = np.arange(10)
    batch["value"] = 1.0
    batch["value"][4] = -1.0
    k.send_many(batch, timeout=TIMEOUT)
    out = k.receive_many(9, timeout=TIMEOUT)
    assert list(out["seq"]) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert k.restart_count == 1
    assert len(rt.dead_letters) == 1
    dead = rt.dead_letters[0]
    assert dead.reason == "failed" and dead.message.seq == 4


def test_k2k_send_chain_loses_and_duplicates_nothing(rt):
    sink = rt.launch(rk.accumulate, LaunchOptions(queue_capacity=1024))
    src = rt.launch(rk.double, LaunchOptions(queue_capacity=1024, peers={"next": sink}))
    n = 20_000
    batch = rk.Item.zeros(n)
    batch["seq"] = np.arange(n)
    batch["value"] = 1.0
    got = []
    for start in range(0, n, 1000):
        src.send_many(batch[start:start + 1000], timeout=TIMEOUT)
        got.append(sink.receive_many(1000, timeout=TIMEOUT))
    out = np.concatenate(got)
    assert len(out) == n
    np.testing.assert_array_equal(np.sort(out["seq"]), np.arange(n))
    assert out["value"][-1] == pytest.approx(2.0 * n)


def test_now_is_monotonic_and_actor_id_is_stable(rt):
    k = rt.launch(rk.stamp, LaunchOptions(queue_capacity=1024))
    batch = rk.Item.zeros(200)
    batch["seq"] = np.arange(200)
    k.send_many(batch, timeout=TIMEOUT)
    out = k.receive_many(200, timeout=TIMEOUT)
    assert np.all(np.diff(out["now"]) >= 0) and out["now"][0] > 0
    assert len(set(out["actor"].tolist())) == 1


def test_bare_return_sends_no_reply(rt):
    k = rt.launch(rk.evens_only, LaunchOptions(queue_capacity=256))
    batch = rk.Item.zeros(20)
    batch["seq"] = np.arange(20)
    k.send_many(batch, timeout=TIMEOUT)
    out = k.receive_many(20, timeout=1.0)
    assert list(out["seq"]) == list(range(0, 20, 2))


MALFORMED = [
    ("unknown_peer", dict(input=rk.Add, output=None), "unknown peer 'nobody'"),
    ("wrong_peer_type", dict(input=rk.Item, peers={"next": rk.Item}), "receives Item messages"),
    ("wrong_reply_type", dict(input=rk.Add, output=rk.Sum), "returns its reply as Sum"),
    ("writes_message", dict(input=rk.Add, output=rk.Sum), "read-only"),
    ("state_without_state", dict(input=rk.Add, output=rk.Sum), "has no state"),
    ("uses_lambda", dict(input=rk.Add, output=rk.Sum), "lambda"),
    ("unknown_field", dict(input=rk.Add, output=rk.Sum), "has no field 'c'"),
    ("three_params", dict(input=rk.Add, output=rk.Sum), "takes (ctx, msg)"),
    ("wrong_annotation", dict(input=rk.Add, output=rk.Sum), "annotated Item but input=Add"),
    ("bare_context", dict(input=rk.Add, output=rk.Sum), "actor context"),
    ("unknown_method", dict(input=rk.Add, output=rk.Sum), "no method 'reply'"),
    ("send_as_value", dict(input=rk.Add, peers={"next": rk.Sum}), "ctx.send(...) is a statement"),
    ("fail_as_value", dict(input=rk.Add), "ctx.fail(...) is a statement"),
]


@pytest.mark.parametrize("name,options,needle", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_handler_raises_codegen_error(name, options, needle):
    with pytest.raises(CodegenError) as info:
        ring_kernel(**options)(getattr(bad, name))
    text = str(info.value)
    assert needle in text
    assert "ring_malformed.py:" in text and "^" in text


def test_non_message_types_are_refused():
    with pytest.raises(RingKernelError, match="must be a @message class"):
        ring_kernel(input=int)(bad.unknown_peer)


def test_context_operations_are_ir_nodes_and_table_intrinsics():
    """ctx.send / ctx.fail are statements of their own in the IR (ir.Send, ir.Fail) and ctx.now() /
    ctx.actor_id() calls of the ring-scoped table entries, whatever the backend."""
    from ringkernel_codegen.intrinsics import table
    from ringkernel_codegen.ir import nodes as ir

    sends = [n for n in ir.walk(rk.double._f.body) if isinstance(n, ir.Send)]
    assert [(s.peer, s.peer_name, s.msg_type) for s in sends] == [(0, "next", rk.Item)]
    fails = [n for n in ir.walk(rk.accumulate._f.body) if isinstance(n, ir.Fail)]
    assert len(fails) == 1 and fails[0].value.type.name == "i64"
    calls = {n.callee.name for n in ir.walk(rk.stamp._f.body) if isinstance(n, ir.Call) and n.callee in
             table().values()}
    assert {"now", "actor_id"} <= calls
    assert "send peer 0 (next)" in rk.double.ir() and "fail " in rk.accumulate.ir()


def test_a_handler_may_use_a_fixed_shared_array():
    """A statement the ring hooks have nothing to type (an allocation) is not refused, and the CPU
    handler allocates it (its CUDA spelling is compiled by test_gpu_actors' nvcc test)."""
    with Runtime(backend="cpu") as rt:
        h = rt.launch(rk.scratch)
        h.send(rk.Item(seq=7, value=1.25))
        reply = h.receive(timeout=10.0)
    assert (reply.seq, reply.value) == (7, 2.5)
