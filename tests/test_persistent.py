"""@persistent on the cpu backend: a resident step loop steered by host commands.

References are NumPy (written out below) or relaunching the same body as a @stencil once per step.
Every wait is bounded (timeouts); no test depends on timing beyond "eventually, within seconds".
"""
import threading
import time

import numpy as np
import pytest

from ringkernel_codegen import CodegenError, Field2D, LaunchError, RingKernelError, f32, i32, persistent
from ringkernel_codegen.dsl import global_id, shared_array, thread_idx_x
from ringkernel_runtime.errors import CommandTimeout, LifecycleError

from tests.kernels import persistent_kernels as K

T = 30.0  # seconds: the bound on every wait (compiles included)


# ---------------------------------------------------------------- NumPy references
def _pad(u, boundary):
    mode = {"clamp": "edge", "periodic": "wrap", "zero": "constant"}.get(boundary, "constant")
    return np.pad(u, 1, mode=mode)


def heat_ref(u, out, alpha, boundary, steps):
    u, out = u.copy(), out.copy()
    for _ in range(steps):
        if boundary == "skip":
            c = u[1:-1, 1:-1]
            out[1:-1, 1:-1] = c + alpha * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] - 4.0 * c)
        else:
            q = _pad(u, boundary)
            out[...] = u + alpha * (q[:-2, 1:-1] + q[2:, 1:-1] + q[1:-1, :-2] + q[1:-1, 2:] - 4.0 * u)
        u, out = out, u
    return u, out


def wave_ref(p, q, c2, steps, inject=None):
    p, q = p.astype(np.float64), q.astype(np.float64)
    for s in range(steps):
        if inject is not None and inject[0] == s:
            p[inject[1]] = inject[2]
        z = np.pad(p, 1)
        lap = (z[1:-1, 1:-1, 2:] + z[1:-1, 1:-1, :-2] + z[1:-1, 2:, 1:-1] + z[1:-1, :-2, 1:-1]
               + z[2:, 1:-1, 1:-1] + z[:-2, 1:-1, 1:-1] - 6.0 * p)
        q = 2.0 * p - q + c2 * lap
        p, q = q, p
    return p, q


def _fields(shape, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return rng.random(shape).astype(dtype), rng.random(shape).astype(dtype)


# ---------------------------------------------------------------- results
def test_wave_equals_relaunching_the_same_stencil_and_numpy():
    p0, p1 = _fields((10, 9, 12))
    with K.wave.to("cpu").start(p=p0.copy(), p_prev=p1.copy(), c2=0.1) as sim:
        sim.run(9, wait=True, timeout=T)
        assert sim.steps == 9
        got_p, got_prev = sim.read("p"), sim.read("p_prev")
    a, b = p0.copy(), p1.copy()
    for _ in range(9):
        K.wave_stencil.to("cpu")(a, b, np.float32(0.1))
        a, b = b, a
    np.testing.assert_array_equal(got_p, a)
    np.testing.assert_array_equal(got_prev, b)
    ref_p, _ = wave_ref(p0, p1, 0.1, 9)
    np.testing.assert_allclose(got_p, ref_p, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("boundary", ["skip", "clamp", "periodic", "zero"])
def test_every_stencil_boundary_mode_matches_numpy(boundary):
    u0, o0 = _fields((11, 13), seed=1, dtype=np.float64)
    with K.heat[boundary].to("cpu").start(u0.copy(), o0.copy(), 0.2) as sim:
        sim.run(6, wait=True, timeout=T)
        got = sim.snapshot("u", "out")
    ref_u, ref_out = heat_ref(u0, o0, 0.2, boundary, 6)
    assert got[0] == 6
    np.testing.assert_allclose(got[1]["u"], ref_u, rtol=1e-12)
    np.testing.assert_allclose(got[1]["out"], ref_out, rtol=1e-12)


def test_cluster_sync_runs_the_same_steps_on_the_cpu():
    p0, p1 = _fields((6, 7, 8), seed=4)
    out = {}
    for k in (K.wave, K.wave_cluster):
        with k.to("cpu").start(p0.copy(), p1.copy(), 0.1) as sim:
            sim.run(4, wait=True, timeout=T)
            out[k.sync] = sim.read("p")
    np.testing.assert_array_equal(out["cluster"], out["grid"])


def test_1d_clamp_and_terminate_writes_fields_back_by_role():
    u = np.linspace(0, 1, 37, dtype=np.float32) ** 2
    out = np.zeros_like(u)
    ref = u.astype(np.float64)
    for _ in range(5):
        q = np.pad(ref, 1, mode="edge")
        ref = 0.25 * q[:-2] + 0.5 * ref + 0.25 * q[2:]
    sim = K.smooth_1d.to("cpu").start(u, out)
    sim.run(5, wait=True, timeout=T)
    sim.terminate()
    # after an odd number of steps the roles have swapped: the array given as `u` still gets u
    np.testing.assert_allclose(u, ref, rtol=1e-5)


def test_several_fields_and_scalars_of_two_types():
    u0, u1 = _fields((8, 12), seed=2)
    k = np.full((8, 12), 0.5, dtype=np.float32)
    with K.several.to("cpu").start(u0.copy(), u1, k, np.float32(0.1), 2) as sim:
        sim.run(4, wait=True, timeout=T)
        got = sim.read("u")
    u = u0.astype(np.float64)
    for _ in range(4):
        q = np.pad(u, 1, mode="wrap")
        u = u + 0.1 * 0.5 * (q[:-2, 1:-1] + q[2:, 1:-1] + q[1:-1, :-2] + q[1:-1, 2:] - 4.0 * u) + 2 * 0.5
    np.testing.assert_allclose(got, u, rtol=1e-5)


def test_general_form_with_grid_sync_matches_numpy():
    n = 100
    x = np.linspace(-1, 1, n, dtype=np.float32)
    with K.relax.to("cpu").start(x.copy(), np.zeros(n, np.float32), np.zeros(n, np.float32), n, grid=4, block=32) as sim:
        sim.run(7, wait=True, timeout=T)
        got = sim.read("x")
    ref = x.astype(np.float64)
    for _ in range(7):
        t = 0.5 * ref
        ref = t + 0.25 * (t[np.maximum(np.arange(n) - 1, 0)] + t[np.minimum(np.arange(n) + 1, n - 1)])
    np.testing.assert_allclose(got, ref, rtol=1e-5)


# ---------------------------------------------------------------- commands at step boundaries
def test_read_is_always_a_whole_step_while_running():
    a = np.zeros((32, 32), np.float32)
    with K.count.to("cpu").start(a, np.zeros_like(a)) as sim:
        sim.run(200_000)
        seen = []
        for _ in range(50):
            step, fields = sim.snapshot("a", "b")
            # each step adds 1 everywhere: a whole step means every cell equals the step count
            assert np.all(fields["a"] == step), "a read saw part of a step"
            # and b holds the step before (or its initial zeros)
            assert np.all(fields["b"] == max(step - 1, 0))
            seen.append(step)
        assert seen == sorted(seen)
        sim.pause(timeout=T)
    assert seen[-1] > 0


def test_inject_and_set_take_effect_at_the_named_step():
    p0, p1 = np.zeros((9, 9, 9), np.float32), np.zeros((9, 9, 9), np.float32)
    with K.wave.to("cpu").start(p0.copy(), p1.copy(), 0.1) as sim:
        assert sim.inject("p", np.s_[4, 4, 4], 1.0, step=3) == 3
        sim.run(8, wait=True, timeout=T)
        got = sim.read("p")
    ref, _ = wave_ref(p0, p1, 0.1, 8, inject=(3, np.s_[4, 4, 4], 1.0))
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)

    with K.heat["zero"].to("cpu").start(*_fields((6, 7), 3, np.float64), 0.1) as sim:
        u0 = sim.read("u")
        sim.set(alpha=0.0, step=2)
        sim.run(5, wait=True, timeout=T)
        got = sim.read("u")
    ref, _ = heat_ref(u0, np.zeros_like(u0), 0.1, "zero", 2)
    np.testing.assert_allclose(got, ref, rtol=1e-12)   # alpha = 0 after step 2: nothing changes


def test_inject_now_returns_the_step_it_applied_at():
    a = np.zeros((16, 16), np.float32)
    with K.count.to("cpu").start(a, np.zeros_like(a)) as sim:
        sim.run(3, wait=True, timeout=T)
        assert sim.inject("a", np.s_[0, 0], 100.0) == 3
        sim.run(2, wait=True, timeout=T)
        got = sim.read("a")
    # step 4 writes b = a + 1 (101 at [0, 0]), step 5 a = b + 1
    assert got[0, 0] == 102.0 and got[1, 1] == 5.0


def test_pause_resume_terminate_are_prompt():
    a = np.zeros((16, 16), np.float32)
    sim = K.count.to("cpu").start(a, np.zeros_like(a))
    sim.run(10**9)
    deadline = time.monotonic() + T
    while sim.steps < 10 and time.monotonic() < deadline:
        time.sleep(0.001)
    sim.pause(timeout=5)
    assert sim.paused
    held = sim.steps
    time.sleep(0.05)
    assert sim.steps == held
    with pytest.raises(LifecycleError, match="paused"):
        sim.wait(timeout=1)
    sim.resume(timeout=5)
    deadline = time.monotonic() + T
    while sim.steps == held and time.monotonic() < deadline:
        time.sleep(0.001)
    assert sim.steps > held
    t0 = time.monotonic()
    sim.terminate(timeout=5)
    assert time.monotonic() - t0 < 5
    assert a[0, 0] == float(sim.steps)
    with pytest.raises(LifecycleError, match="terminated"):
        sim.run(1)


def test_wait_is_bounded():
    a = np.zeros((8, 8), np.float32)
    with K.count.to("cpu").start(a, np.zeros_like(a)) as sim:
        sim.run(10**12)
        with pytest.raises(CommandTimeout, match="did not reach step"):
            sim.wait(timeout=0.2)


def test_a_step_counter_that_stops_moving_is_reported():
    x = np.zeros(1, np.float32)
    with K.slow.to("cpu").start(x, 100_000_000, grid=1, block=1) as sim:
        sim.run(2)
        with pytest.raises(CommandTimeout, match="stalled: its step counter has not moved"):
            sim.wait(stall=0.02, timeout=T)


def test_commands_from_several_threads_are_each_acknowledged():
    a = np.zeros((8, 8), np.float32)
    errors = []
    with K.count.to("cpu").start(a, np.zeros_like(a)) as sim:
        sim.run(10**9)

        def reader():
            try:
                for _ in range(20):
                    step, f = sim.snapshot("a")
                    assert np.all(f["a"] == step)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(T)
    assert not errors


# ---------------------------------------------------------------- bad input
def test_bad_input_is_refused_with_a_ringkernel_error():
    a = np.zeros((8, 8), np.float32)
    with K.count.to("cpu").start(a, np.zeros_like(a)) as sim:
        with pytest.raises(LaunchError, match="no array parameter 'c'"):
            sim.read("c")
        with pytest.raises(LaunchError, match="no scalar parameter"):
            sim.set(alpha=1.0)
        with pytest.raises(LaunchError, match="steps >= 0"):
            sim.run(-1)
        with pytest.raises(LaunchError, match="inject"):
            sim.inject("a", np.s_[9, 9], 1.0)
        sim.run(2, wait=True, timeout=T)
        with pytest.raises(LifecycleError, match="already completed"):
            sim.inject("a", np.s_[0, 0], 1.0, step=1)
    with pytest.raises(LaunchError, match="grid"):
        K.count.to("cpu").start(a, a.copy(), grid=1, block=1)
    with pytest.raises(LaunchError, match="needs a grid"):
        K.relax.to("cpu").start(a[0], a[1].copy(), a[2].copy(), 8)
    with pytest.raises(LaunchError, match="dtype"):
        K.count.to("cpu").start(a.astype(np.float64), a.copy())
    with pytest.raises(LaunchError, match="started once"):
        K.count(a, a)
    with pytest.raises(LaunchError, match="started once"):
        K.count.to("cpu")(a, a.copy())


def test_bad_decorations_are_refused():
    def f(u: Field2D[f32], v: Field2D[f32]):
        v[0, 0] = u[0, 0]

    with pytest.raises(CodegenError, match="not a parameter"):
        persistent(swap=("u", "w"))(f)
    with pytest.raises(RingKernelError, match="sync"):
        persistent(sync="block")(f)
    with pytest.raises(RingKernelError, match="pair"):
        persistent(swap="u")(f)
    with pytest.raises(RingKernelError, match="boundary"):
        persistent(boundary="wrap")(f)

    def g(grid: Field2D[f32], v: Field2D[f32]):
        v[0, 0] = grid[0, 0]

    with pytest.raises(CodegenError, match="cannot be called 'grid'"):
        persistent(g)


def _dynamic_shared_step(a: f32[:], n: i32):
    buf = shared_array(0, f32)
    i = global_id()
    if i < n:
        buf[thread_idx_x()] = a[i]
        a[i] = buf[thread_idx_x()] + 1.0


def test_dynamic_shared_memory_is_refused():
    """A persistent kernel is started once, with no launch to size shared_array(0, ...) by."""
    with pytest.raises(CodegenError, match="cannot use dynamic shared memory") as info:
        persistent(halo=0)(_dynamic_shared_step)
    assert "buf = shared_array(0, f32)" in str(info.value)


def test_an_immediate_action_posted_while_a_scheduled_one_is_being_applied_is_served_not_lost():
    """A CMD_BOUNDARY posted while the loop was applying another action at a boundary was
    acknowledged without its action: inject() returned None and the inject landed at a later step.
    The boundary now acknowledges only the command it read before taking its actions."""
    u = np.zeros(64, np.float32)
    sim = K.smooth_1d.to("cpu").start(u, np.zeros(64, np.float32))
    try:
        sim._act(0, lambda s: time.sleep(0.8) or s, "slow action", 10.0)   # scheduled at step 0, slow
        time.sleep(0.2)                                                     # being applied now
        assert sim.inject("u", 3, 5.0, timeout=5.0) == 0                    # served at step 0
        assert sim.read("u")[3] == 5.0 and not sim._pending
    finally:
        sim.terminate()


@pytest.mark.parametrize("name", ["bump", "bump_strided"])
def test_general_form_without_barriers_steps_on_cpu(name):
    """Found by review: the njit step once called the plain-Python small-launch dispatcher."""
    from tests.kernels import persistent_map as M

    n = 1000  # 96 threads: bump covers x[:96], bump_strided all of x
    with getattr(M, name).to("cpu").start(np.zeros(n, np.float32), n, grid=3, block=32) as sim:
        sim.run(5, wait=True, timeout=T)
        want = np.zeros(n, np.float32)
        want[:96 if name == "bump" else n] = 5.0
        np.testing.assert_array_equal(sim.read("x"), want)
