"""Philox4x32-10's numba.cuda spelling (emit/numba_rt.py) in numba's CUDA simulator: the published
Random123 vectors and the pure-Python reference (tests/philox_ref.py). Own process: tests/test_sim.py."""
import os

import numpy as np
import pytest

pytestmark = pytest.mark.sim

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("run through tests/test_sim.py (needs NUMBA_ENABLE_CUDASIM=1 at import)", allow_module_level=True)

from tests import philox_ref as ref
from tests.kernels import random_kernels as R

SEED = 2**40 + 12345


def test_philox4x32_reproduces_the_published_vectors():
    ctr = np.array([w for c, _, _ in ref.KAT for w in c], np.uint32)
    key = np.array([w for _, k, _ in ref.KAT for w in k], np.uint32)
    out = np.zeros(12, np.uint32)
    R.philox_blocks.to("numba")[1, 4](ctr, key, out, 3)
    assert out.tolist() == [w for _, _, o in ref.KAT for w in o]


def test_draws_match_the_reference():
    shape = (3, 5)
    words, uf, ud = np.zeros(shape, np.uint32), np.zeros(shape, np.float32), np.zeros(shape, np.float64)
    nf, nd = np.zeros(shape, np.float32), np.zeros(shape, np.float64)
    R.draws.to("numba")[2, 2](np.uint64(SEED), words, uf, ud, nf, nd, 3, 5)
    cells = [(s, d) for s in range(3) for d in range(5)]
    assert words.ravel().tolist() == [ref.u32(SEED, s, d) for s, d in cells]
    assert uf.ravel().tolist() == [ref.uniform_f32(SEED, s, d) for s, d in cells]
    assert ud.ravel().tolist() == [ref.uniform_f64(SEED, s, d) for s, d in cells]
    np.testing.assert_allclose(nd.ravel(), [ref.normal_f64(SEED, s, d) for s, d in cells], rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(nf.ravel(), [ref.normal_f32(SEED, s, d) for s, d in cells], rtol=2e-6, atol=2e-5)
