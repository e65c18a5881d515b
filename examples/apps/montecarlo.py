"""Monte Carlo option pricing under geometric Brownian motion, on any ringkernel backend.

European and arithmetic/geometric Asian calls with four estimators: plain, antithetic (each
path's normals also negated), control variate (the discounted terminal price, whose mean is S0,
for European calls; the geometric Asian, which has a closed form, for arithmetic Asians) and
importance sampling (the normal's mean shifted so a deep out-of-the-money call pays off about
half the time, each payoff weighted by the likelihood ratio).

Random numbers are Philox4x32-10 (`philox_normal_f64(seed, path, step)`): path p's numbers do not
depend on the launch shape. Each thread prices paths in a grid-stride loop and accumulates the
moments every estimator needs (sums of Y, Y^2, cross products); each block folds its threads' sums
through shared memory (one barrier) into one row of partial sums, and a second one-block kernel
folds the rows: the reduction happens on the device, only nine totals come back. Estimates and
standard errors come from those moments on the host (`estimates_*`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ringkernel_codegen import device, f64, i32, kernel, u64
from ringkernel_codegen.dsl import (
    block_dim_x, block_idx_x, global_id, global_size, philox_normal_f64, shared_array, sync_threads, thread_idx_x,
)

BLOCKS = 64
THREADS = 128  # the kernels' shared buffers have one row per thread: launch with exactly this many
MOMENTS = 9


@dataclass(frozen=True)
class Market:
    """Geometric Brownian motion dS = r S dt + sigma S dW under the pricing measure."""
    s0: float = 100.0
    r: float = 0.05
    sigma: float = 0.2
    t: float = 1.0


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo price, its standard error and the per-sample variance behind it."""
    price: float
    se: float
    variance: float
    samples: int


# --- closed forms ------------------------------------------------------------------------------

def _ncdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def black_scholes_call(m: Market, strike: float) -> float:
    """Black-Scholes price of a European call."""
    vol = m.sigma * math.sqrt(m.t)
    d1 = (math.log(m.s0 / strike) + (m.r + 0.5 * m.sigma ** 2) * m.t) / vol
    return m.s0 * _ncdf(d1) - strike * math.exp(-m.r * m.t) * _ncdf(d1 - vol)


def geometric_asian_call(m: Market, strike: float, steps: int) -> float:
    """Closed form of a call on the geometric average of S at t_j = j T / steps, j = 1..steps:
    log G is normal with the mean and variance below (Kemna and Vorst)."""
    n = steps
    mean = math.log(m.s0) + (m.r - 0.5 * m.sigma ** 2) * m.t * (n + 1) / (2 * n)
    var = m.sigma ** 2 * m.t * (n + 1) * (2 * n + 1) / (6 * n * n)
    sd = math.sqrt(var)
    d1 = (mean - math.log(strike) + var) / sd
    return math.exp(-m.r * m.t) * (math.exp(mean + 0.5 * var) * _ncdf(d1) - strike * _ncdf(d1 - sd))


def importance_shift(m: Market, strike: float) -> float:
    """The normal's mean that puts the median terminal price at the strike."""
    return (math.log(strike / m.s0) - (m.r - 0.5 * m.sigma ** 2) * m.t) / (m.sigma * math.sqrt(m.t))


# --- kernels -----------------------------------------------------------------------------------

@device
def fold_block(buf: f64[:, :], partials: f64[:, :], row: i32):
    """Every thread of the block calls it after writing its sums to buf[thread, :]: one barrier,
    then thread m adds column m over the block's threads into partials[row, m]."""
    sync_threads()
    m = thread_idx_x()
    if m < MOMENTS:
        total = 0.0
        for i in range(block_dim_x()):
            total += buf[i, m]
        partials[row, m] = total


@kernel
def european_paths(seed: u64, s0: f64, strike: f64, r: f64, sigma: f64, t: f64, shift: f64,
                   npaths: i32, partials: f64[:, :]):
    """Per block, the sums of (x, x^2, a, a^2, c, c^2, x c, w, w^2) over its paths, where x is the
    discounted payoff, a the antithetic pair's mean, c the discounted S_T and w the payoff at
    z + shift times the likelihood ratio."""
    drift = (r - 0.5 * sigma * sigma) * t
    vol = sigma * math.sqrt(t)
    disc = math.exp(-r * t)
    sx = 0.0
    sxx = 0.0
    sa = 0.0
    saa = 0.0
    sc = 0.0
    scc = 0.0
    sxc = 0.0
    sw = 0.0
    sww = 0.0
    for p in range(global_id(), npaths, global_size()):
        z = philox_normal_f64(seed, p, 0)
        st = s0 * math.exp(drift + vol * z)
        x = disc * max(st - strike, 0.0)
        xa = disc * max(s0 * math.exp(drift - vol * z) - strike, 0.0)
        c = disc * st
        a = 0.5 * (x + xa)
        zs = z + shift
        w = disc * max(s0 * math.exp(drift + vol * zs) - strike, 0.0) * math.exp(-shift * zs + 0.5 * shift * shift)
        sx += x
        sxx += x * x
        sa += a
        saa += a * a
        sc += c
        scc += c * c
        sxc += x * c
        sw += w
        sww += w * w
    buf = shared_array((THREADS, MOMENTS), f64)
    tid = thread_idx_x()
    buf[tid, 0] = sx
    buf[tid, 1] = sxx
    buf[tid, 2] = sa
    buf[tid, 3] = saa
    buf[tid, 4] = sc
    buf[tid, 5] = scc
    buf[tid, 6] = sxc
    buf[tid, 7] = sw
    buf[tid, 8] = sww
    fold_block(buf, partials, block_idx_x())


@kernel
def asian_paths(seed: u64, s0: f64, strike: f64, r: f64, sigma: f64, t: f64, steps: i32,
                npaths: i32, partials: f64[:, :]):
    """Per block, the sums of (x, x^2, a, a^2, g, g^2, x g, b, b^2) over its paths: x the discounted
    arithmetic-average payoff, a the antithetic pair's mean of it, g the geometric-average payoff,
    b the antithetic pair's mean of g. The average is over S at t_j = j T / steps, j = 1..steps."""
    dt = t / steps
    drift = (r - 0.5 * sigma * sigma) * dt
    vol = sigma * math.sqrt(dt)
    disc = math.exp(-r * t)
    sx = 0.0
    sxx = 0.0
    sa = 0.0
    saa = 0.0
    sg = 0.0
    sgg = 0.0
    sxg = 0.0
    sb = 0.0
    sbb = 0.0
    for p in range(global_id(), npaths, global_size()):
        logs = math.log(s0)
        loga = logs
        arith = 0.0
        arith_a = 0.0
        logsum = 0.0
        logsum_a = 0.0
        for j in range(steps):
            z = philox_normal_f64(seed, p, j)
            logs += drift + vol * z
            loga += drift - vol * z
            arith += math.exp(logs)
            arith_a += math.exp(loga)
            logsum += logs
            logsum_a += loga
        x = disc * max(arith / steps - strike, 0.0)
        xa = disc * max(arith_a / steps - strike, 0.0)
        g = disc * max(math.exp(logsum / steps) - strike, 0.0)
        ga = disc * max(math.exp(logsum_a / steps) - strike, 0.0)
        a = 0.5 * (x + xa)
        b = 0.5 * (g + ga)
        sx += x
        sxx += x * x
        sa += a
        saa += a * a
        sg += g
        sgg += g * g
        sxg += x * g
        sb += b
        sbb += b * b
    buf = shared_array((THREADS, MOMENTS), f64)
    tid = thread_idx_x()
    buf[tid, 0] = sx
    buf[tid, 1] = sxx
    buf[tid, 2] = sa
    buf[tid, 3] = saa
    buf[tid, 4] = sg
    buf[tid, 5] = sgg
    buf[tid, 6] = sxg
    buf[tid, 7] = sb
    buf[tid, 8] = sbb
    fold_block(buf, partials, block_idx_x())


@kernel
def fold_partials(partials: f64[:, :], totals: f64[:, :], nblocks: i32):
    """One block: totals[0, m] = the sum over blocks of partials[:, m] (on the device)."""
    buf = shared_array((THREADS, MOMENTS), f64)
    tid = thread_idx_x()
    for m in range(MOMENTS):
        acc = 0.0
        for b in range(tid, nblocks, block_dim_x()):
            acc += partials[b, m]
        buf[tid, m] = acc
    fold_block(buf, totals, 0)


KERNELS = [european_paths, asian_paths, fold_partials]


def _run(k, args, backend: str, blocks: int) -> np.ndarray:
    partials = np.zeros((blocks, MOMENTS), np.float64)
    totals = np.zeros((1, MOMENTS), np.float64)
    k.to(backend)[blocks, THREADS](*args, partials)
    fold_partials.to(backend)[1, THREADS](partials, totals, blocks)
    return totals[0]


def european_moments(m: Market, strike: float, npaths: int, seed: int = 1, shift: float = 0.0,
                     backend: str = "cpu", blocks: int = BLOCKS) -> np.ndarray:
    """The nine path sums of `european_paths` over `npaths` paths, folded on the device."""
    args = (np.uint64(seed), m.s0, strike, m.r, m.sigma, m.t, shift, npaths)
    return _run(european_paths, args, backend, blocks)


def asian_moments(m: Market, strike: float, steps: int, npaths: int, seed: int = 1,
                  backend: str = "cpu", blocks: int = BLOCKS) -> np.ndarray:
    """The nine path sums of `asian_paths` over `npaths` paths, folded on the device."""
    args = (np.uint64(seed), m.s0, strike, m.r, m.sigma, m.t, steps, npaths)
    return _run(asian_paths, args, backend, blocks)


# --- estimates from moments --------------------------------------------------------------------

def _mean_estimate(s: float, ss: float, n: int) -> Estimate:
    mean = s / n
    var = max(ss / n - mean * mean, 0.0) * n / (n - 1)
    return Estimate(mean, math.sqrt(var / n), var, n)


def _control_variate(sx, sxx, sc, scc, sxc, n: int, known_mean: float) -> Estimate:
    """x - beta (c - E[c]) with the sample-optimal beta = Cov(x, c) / Var(c)."""
    mx, mc = sx / n, sc / n
    cxx, ccc, cxc = sxx / n - mx * mx, scc / n - mc * mc, sxc / n - mx * mc
    beta = cxc / ccc if ccc > 0 else 0.0
    var = max(cxx - cxc * cxc / ccc if ccc > 0 else cxx, 0.0) * n / (n - 2)
    return Estimate(mx - beta * (mc - known_mean), math.sqrt(var / n), var, n)


def estimates_european(totals: np.ndarray, npaths: int, m: Market) -> dict:
    """plain / antithetic / control variate (c = discounted S_T, E[c] = S0) / importance sampling."""
    sx, sxx, sa, saa, sc, scc, sxc, sw, sww = (float(v) for v in totals)
    return {"plain": _mean_estimate(sx, sxx, npaths), "antithetic": _mean_estimate(sa, saa, npaths),
            "control variate": _control_variate(sx, sxx, sc, scc, sxc, npaths, m.s0),
            "importance sampling": _mean_estimate(sw, sww, npaths)}


def estimates_asian(totals: np.ndarray, npaths: int, m: Market, strike: float, steps: int) -> dict:
    """Arithmetic: plain / antithetic / control variate (the geometric Asian, closed form);
    geometric: plain / antithetic (checkable against the closed form)."""
    sx, sxx, sa, saa, sg, sgg, sxg, sb, sbb = (float(v) for v in totals)
    geo = geometric_asian_call(m, strike, steps)
    return {"arithmetic plain": _mean_estimate(sx, sxx, npaths),
            "arithmetic antithetic": _mean_estimate(sa, saa, npaths),
            "arithmetic control variate": _control_variate(sx, sxx, sg, sgg, sxg, npaths, geo),
            "geometric plain": _mean_estimate(sg, sgg, npaths),
            "geometric antithetic": _mean_estimate(sb, sbb, npaths)}


def variance_reduction(plain: Estimate, other: Estimate) -> float:
    """Var(plain) / Var(other) per path: how many times fewer paths `other` needs for the same error
    (an antithetic sample prices two paths from one set of normals)."""
    return plain.variance / other.variance if other.variance > 0 else math.inf
