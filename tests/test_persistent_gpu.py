"""@persistent on a real GPU (cuda backend): the same simulation as on the cpu backend, steered the
same way, and an oversize grid refused with the numbers instead of deadlocking. Skipped without a
usable GPU (no GPU was available when these were written: they have not run yet)."""
import numpy as np
import pytest

from tests.kernels import persistent_kernels as K
from ringkernel_codegen import LaunchError, backends

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not backends.CUDA.available(),
                                 reason=f"no usable CUDA GPU: {backends.CUDA.unavailable_reason()}")]
T = 60.0


def _run(k, backend, steps, *args):
    """The wave's two fields after `steps` steps on `backend`."""
    with k.to(backend).start(*args) as sim:
        sim.run(steps, wait=True, timeout=T)
        return {name: sim.read(name) for name in ("p", "p_prev")}


@pytest.mark.parametrize("kernel", [K.wave, K.wave_cluster], ids=["grid", "cluster"])
def test_wave_on_the_gpu_equals_the_cpu_backend(kernel):
    rng = np.random.default_rng(0)
    p0, p1 = rng.random((40, 36, 33), dtype=np.float32), rng.random((40, 36, 33), dtype=np.float32)
    gpu = _run(kernel, "cuda", 25, p0.copy(), p1.copy(), 0.1)
    cpu = _run(K.wave, "cpu", 25, p0.copy(), p1.copy(), 0.1)
    for name in ("p", "p_prev"):
        np.testing.assert_allclose(gpu[name], cpu[name], rtol=1e-4, atol=1e-5)


def test_commands_on_the_gpu():
    a = np.zeros((64, 64), np.float32)
    with K.count.to("cuda").start(a, np.zeros_like(a)) as sim:
        sim.run(10, wait=True, timeout=T)
        assert sim.steps == 10
        step, f = sim.snapshot("a", "b")
        assert step == 10 and np.all(f["a"] == 10) and np.all(f["b"] == 9)
        assert sim.inject("a", np.s_[0, 0], 100.0) == 10
        sim.set()                                 # no scalars: a boundary round trip all the same
        sim.run(10**9)
        sim.pause(timeout=10)
        held = sim.steps
        step, f = sim.snapshot("a")
        assert step == held and np.all(f["a"][1:, :] == held)
        sim.resume(timeout=10)
    assert a[1, 1] > 0


def test_general_form_with_grid_sync_on_the_gpu():
    n = 1000
    x = np.linspace(-1, 1, n, dtype=np.float32)
    out = {}
    for backend in ("cuda", "cpu"):
        with K.relax.to(backend).start(x.copy(), np.zeros(n, np.float32), np.zeros(n, np.float32), n,
                                       grid=8, block=128) as sim:
            sim.run(12, wait=True, timeout=T)
            out[backend] = sim.read("x")
    np.testing.assert_allclose(out["cuda"], out["cpu"], rtol=1e-5)


def test_an_oversize_grid_is_refused_with_the_numbers():
    n = 1 << 24
    with pytest.raises(LaunchError, match=r"refused: .* only \d+ fit"):
        K.relax.to("cuda").start(np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(n, np.float32), n,
                                 grid=n // 32, block=32)
