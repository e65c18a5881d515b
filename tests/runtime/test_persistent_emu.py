"""The CUDA C++ @persistent loop (grid sync, one block) run on the CPU by g++ host emulation,
steered by the real Simulation host code: same results as the cpu backend, commands served at
boundaries the device parks at. Not the GPU memory model, not timing (persistent_emu.py)."""
import numpy as np
import pytest

import persistent_emu as E
from tests.kernels import persistent_kernels as K

pytestmark = pytest.mark.skipif(E.compiler() is None, reason="needs g++")
T = 60.0


def test_emulated_cuda_loop_equals_the_cpu_backend_and_serves_commands():
    rng = np.random.default_rng(0)
    p0, p1 = rng.random((9, 10, 11), dtype=np.float32), rng.random((9, 10, 11), dtype=np.float32)
    with K.wave.to("cpu").start(p0.copy(), p1.copy(), 0.1) as ref:
        ref.run(6, wait=True, timeout=T)
        expect = ref.snapshot("p", "p_prev")[1]
        ref.inject("p", np.s_[4, 4, 4], 2.0)
        ref.set(c2=0.05)
        ref.run(5, wait=True, timeout=T)
        expect_after = ref.read("p")
    with E.start(K.wave, p0.copy(), p1.copy(), 0.1) as sim:
        sim.run(6, wait=True, timeout=T)
        step, got = sim.snapshot("p", "p_prev")
        assert step == 6
        for name in ("p", "p_prev"):
            np.testing.assert_allclose(got[name], expect[name], rtol=1e-5, atol=1e-6)
        assert sim.inject("p", np.s_[4, 4, 4], 2.0) == 6
        sim.set(c2=0.05)
        sim.pause(timeout=T)
        sim.run(5)
        sim.resume(timeout=T)
        sim.wait(timeout=T)
        np.testing.assert_allclose(sim.read("p"), expect_after, rtol=1e-5, atol=1e-6)


def test_emulated_cuda_loop_applies_a_scheduled_inject_at_its_step():
    a = np.zeros((8, 8), np.float32)
    with E.start(K.count, a, np.zeros_like(a)) as sim:
        sim.inject("a", np.s_[0, 0], 100.0, step=3)
        sim.run(5, wait=True, timeout=T)
        got = sim.read("a")
    # after 3 steps a = 3 everywhere, then [0, 0] = 100; steps 4 and 5 add 1 each
    assert got[0, 0] == 102.0 and got[1, 1] == 5.0


def test_emulated_general_form_with_grid_sync():
    n = 40
    x = np.linspace(-1, 1, n, dtype=np.float32)
    with E.start(K.relax, x.copy(), np.zeros(n, np.float32), np.zeros(n, np.float32), n, grid=1, block=64) as sim:
        sim.run(4, wait=True, timeout=T)
        got = sim.read("x")
    ref = x.astype(np.float64)
    for _ in range(4):
        t = 0.5 * ref
        ref = t + 0.25 * (t[np.maximum(np.arange(n) - 1, 0)] + t[np.minimum(np.arange(n) + 1, n - 1)])
    np.testing.assert_allclose(got, ref, rtol=1e-5)
