"""@persistent on numba.cuda in the CUDA simulator (one block: the simulator's grid barrier cannot
span blocks): the same results and commands as the cpu backend, on tiny grids."""
import os

import numpy as np
import pytest

from tests.kernels import persistent_kernels as K

pytestmark = pytest.mark.sim

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("run through tests/test_sim.py (needs NUMBA_ENABLE_CUDASIM=1 at import)", allow_module_level=True)

T = 120.0


def test_persistent_stencil_in_the_simulator_matches_numpy_and_takes_commands():
    u = (np.linspace(0, 1, 20, dtype=np.float32) ** 2)
    ref = u.astype(np.float64)
    for _ in range(3):
        q = np.pad(ref, 1, mode="edge")
        ref = 0.25 * q[:-2] + 0.5 * ref + 0.25 * q[2:]
    with K.smooth_1d.to("numba").start(u.copy(), np.zeros_like(u)) as sim:
        sim.run(3, wait=True, timeout=T)
        assert sim.steps == 3
        np.testing.assert_allclose(sim.read("u"), ref, rtol=1e-5)
        assert sim.inject("u", np.s_[0], 5.0) == 3
        step, f = sim.snapshot("u")
        assert step == 3 and f["u"][0] == 5.0
        sim.pause(timeout=T)
        sim.resume(timeout=T)


def test_general_form_with_grid_sync_in_the_simulator():
    n = 12
    x = np.linspace(-1, 1, n, dtype=np.float32)
    with K.relax.to("numba").start(x.copy(), np.zeros(n, np.float32), np.zeros(n, np.float32), n,
                                   grid=1, block=16) as sim:
        sim.run(2, wait=True, timeout=T)
        got = sim.read("x")
    ref = x.astype(np.float64)
    for _ in range(2):
        t = 0.5 * ref
        ref = t + 0.25 * (t[np.maximum(np.arange(n) - 1, 0)] + t[np.minimum(np.arange(n) + 1, n - 1)])
    np.testing.assert_allclose(got, ref, rtol=1e-5)
