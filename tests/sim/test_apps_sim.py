"""The applications' kernels (examples/apps/) on numba.cuda in the CUDA simulator, at small sizes:
BFS / components / PageRank / SCC against the cpu backend (the Monte Carlo kernels use max() on floats,
which the simulator cannot run: skipped, with the reason).
Own process: tests/test_sim.py."""
import os

import numpy as np
import pytest

pytestmark = pytest.mark.sim

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("run through tests/test_sim.py (needs NUMBA_ENABLE_CUDASIM=1 at import)", allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from examples.apps import graph as G
from examples.apps import montecarlo as mc


@pytest.mark.skip(reason="numba's simulator has no cuda.libdevice, which max() on floats is spelled with "
                         "(intrinsics/arith.toml); the Monte Carlo kernels are checked on cpu and with nvcc")
def test_montecarlo_path_sums_agree_with_the_cpu_backend():
    m = mc.Market()
    shift = mc.importance_shift(m, 130.0)
    got = mc.european_moments(m, 130.0, 300, 5, shift, backend="numba", blocks=2)
    np.testing.assert_allclose(got, mc.european_moments(m, 130.0, 300, 5, shift, backend="cpu", blocks=2), rtol=1e-12)
    got = mc.asian_moments(m, 100.0, 4, 200, 5, backend="numba", blocks=2)
    np.testing.assert_allclose(got, mc.asian_moments(m, 100.0, 4, 200, 5, backend="cpu", blocks=2), rtol=1e-12)


def test_graph_kernels_agree_with_the_cpu_backend():
    g = G.disconnected_graph(3, 12, 2, seed=1)
    assert np.array_equal(G.bfs(g, 0, "numba"), G.bfs(g, 0, "cpu"))
    assert np.array_equal(G.connected_components(g, "numba"), G.connected_components(g, "cpu"))
    d = G.random_graph(40, 80, seed=2, symmetric=False)
    r_sim, it_sim = G.pagerank(d, tol=1e-10, backend="numba")
    r_cpu, it_cpu = G.pagerank(d, tol=1e-10, backend="cpu")
    np.testing.assert_allclose(r_sim, r_cpu, rtol=1e-10)
    small = G.random_graph(16, 30, seed=3, symmetric=False)
    assert np.array_equal(G.strongly_connected_components(small, "numba"), G.strongly_connected_components(small, "cpu"))
