"""examples/apps/montecarlo.py: the kernels' path sums against NumPy on the same Philox normals
(tests/philox_ref.py), every estimator within 3 standard errors of a closed form (Black-Scholes,
the geometric Asian) or of an independent NumPy Monte Carlo (arithmetic Asian), variance actually
reduced, and CUDA C++ that compiles."""
import math
import os
import subprocess

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from tests import philox_ref as ref
from examples.apps import montecarlo as mc

M = mc.Market(s0=100.0, r=0.05, sigma=0.2, t=1.0)
SEED = 11


def within(e: mc.Estimate, exact: float, k: float = 3.0) -> bool:
    return abs(e.price - exact) <= k * e.se


def numpy_european_sums(strike, n, shift):
    z = np.array([ref.normal_f64(SEED, p, 0) for p in range(n)])
    drift, vol, disc = (M.r - 0.5 * M.sigma ** 2) * M.t, M.sigma * math.sqrt(M.t), math.exp(-M.r * M.t)
    st = M.s0 * np.exp(drift + vol * z)
    x = disc * np.maximum(st - strike, 0)
    a = 0.5 * (x + disc * np.maximum(M.s0 * np.exp(drift - vol * z) - strike, 0))
    c = disc * st
    zs = z + shift
    w = disc * np.maximum(M.s0 * np.exp(drift + vol * zs) - strike, 0) * np.exp(-shift * zs + 0.5 * shift ** 2)
    return [v.sum() for v in (x, x * x, a, a * a, c, c * c, x * c, w, w * w)]


def numpy_asian_sums(strike, steps, n):
    z = np.array([[ref.normal_f64(SEED, p, j) for j in range(steps)] for p in range(n)])
    dt = M.t / steps
    drift, vol, disc = (M.r - 0.5 * M.sigma ** 2) * dt, M.sigma * math.sqrt(dt), math.exp(-M.r * M.t)
    out = []
    for sign in (1, -1):
        logs = math.log(M.s0) + np.cumsum(drift + sign * vol * z, axis=1)
        out.append((disc * np.maximum(np.exp(logs).mean(axis=1) - strike, 0),
                    disc * np.maximum(np.exp(logs.mean(axis=1)) - strike, 0)))
    (x, g), (xa, ga) = out
    a, b = 0.5 * (x + xa), 0.5 * (g + ga)
    return [v.sum() for v in (x, x * x, a, a * a, g, g * g, x * g, b, b * b)]


@pytest.mark.parametrize("blocks", [3, 64])
def test_european_path_sums_equal_numpy_on_the_same_normals(blocks):
    shift = mc.importance_shift(M, 130.0)
    got = mc.european_moments(M, 130.0, 500, SEED, shift, blocks=blocks)
    np.testing.assert_allclose(got, numpy_european_sums(130.0, 500, shift), rtol=1e-12)


def test_asian_path_sums_equal_numpy_on_the_same_normals():
    got = mc.asian_moments(M, 95.0, 6, 300, SEED, blocks=5)
    np.testing.assert_allclose(got, numpy_asian_sums(95.0, 6, 300), rtol=1e-12)


def test_european_estimators_are_within_3_se_of_black_scholes_and_reduce_variance():
    n = 1 << 16
    est = mc.estimates_european(mc.european_moments(M, 100.0, n, SEED), n, M)
    exact = mc.black_scholes_call(M, 100.0)
    assert abs(exact - 10.450583572185565) < 1e-12  # the textbook value (Hull: 10.45)
    for name in ("plain", "antithetic", "control variate"):
        assert within(est[name], exact), (name, est[name], exact)
    assert mc.variance_reduction(est["plain"], est["antithetic"]) > 2.0
    assert mc.variance_reduction(est["plain"], est["control variate"]) > 3.0


def test_importance_sampling_prices_a_deep_out_of_the_money_call():
    n, strike = 1 << 15, 180.0
    est = mc.estimates_european(mc.european_moments(M, strike, n, SEED, mc.importance_shift(M, strike)), n, M)
    exact = mc.black_scholes_call(M, strike)
    assert within(est["importance sampling"], exact) and within(est["plain"], exact)
    assert est["importance sampling"].se < exact / 100  # 1% relative error; plain is ~10%
    assert mc.variance_reduction(est["plain"], est["importance sampling"]) > 50


def test_asian_estimators_match_the_geometric_closed_form_and_an_independent_numpy_run():
    steps, n, strike = 8, 1 << 13, 100.0
    est = mc.estimates_asian(mc.asian_moments(M, strike, steps, n, SEED), n, M, strike, steps)
    geo = mc.geometric_asian_call(M, strike, steps)
    assert within(est["geometric plain"], geo) and within(est["geometric antithetic"], geo)
    # arithmetic: NumPy's own generator, 200,000 paths, plain estimator
    rng = np.random.default_rng(5)
    dt = M.t / steps
    logs = math.log(M.s0) + np.cumsum((M.r - 0.5 * M.sigma ** 2) * dt + M.sigma * math.sqrt(dt)
                                      * rng.standard_normal((200_000, steps)), axis=1)
    pay = math.exp(-M.r * M.t) * np.maximum(np.exp(logs).mean(axis=1) - strike, 0)
    ref_price, ref_se = pay.mean(), pay.std(ddof=1) / math.sqrt(pay.size)
    for name in ("arithmetic plain", "arithmetic antithetic", "arithmetic control variate"):
        e = est[name]
        assert abs(e.price - ref_price) <= 3 * math.hypot(e.se, ref_se), (name, e, ref_price, ref_se)
    assert mc.variance_reduction(est["arithmetic plain"], est["arithmetic control variate"]) > 100


def test_geometric_asian_closed_form_tends_to_black_scholes_with_one_date():
    """One averaging date at T: the geometric average is S_T itself."""
    assert abs(mc.geometric_asian_call(M, 97.0, 1) - mc.black_scholes_call(M, 97.0)) < 1e-12


@pytest.mark.nvcc
@pytest.mark.parametrize("k", mc.KERNELS, ids=lambda k: k.name)
def test_cuda_source_compiles_with_nvcc(nvcc, tmp_path, k):
    cu = tmp_path / f"{k.name}.cu"
    cu.write_text(k.cuda_source())
    proc = subprocess.run([nvcc, "-arch=sm_90", "-std=c++17", "-c", str(cu), "-o", str(tmp_path / "k.o")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
