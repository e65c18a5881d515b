"""Monte Carlo option pricing with Philox random numbers (examples/apps/montecarlo.py): European and
Asian calls under geometric Brownian motion, four estimators, each checked against a closed form.

Prints each estimate with its standard error, how many standard errors it lies from the closed form
(Black-Scholes; the geometric Asian's), and each estimator's variance reduction factor (Var(plain) /
Var(estimator) per path: how many times fewer paths it needs for the same error). Saves the price
convergence of the European estimators as a picture (needs matplotlib).

    python examples/montecarlo.py [--paths 262144] [--backend cpu] [--png build/montecarlo.png]

Expected output on the CPU backend of a 2-core machine (about 2 s once the kernels are compiled,
~30 s the first time; a status line on stderr says what it is doing meanwhile):

    montecarlo on cpu: S0=100 r=0.05 sigma=0.2 T=1, 262144 paths, seed 2026
    option                     estimator                       price      s.e.  closed form  |err|/se      VRF
    European call K=100        plain                        10.42961   0.02868     10.45058      0.73      1.0
    European call K=100        antithetic                   10.45512   0.01434     10.45058      0.32      4.0
    European call K=100        control variate              10.45551   0.01095     10.45058      0.45      6.9
    European call K=180        plain                         0.02870   0.00155      0.02864      0.04      1.0
    European call K=180        importance sampling           0.02861   0.00007      0.02864      0.52    492.2
    Asian call (12 dates)      arithmetic plain              6.25295   0.05857            -         -      1.0
    Asian call (12 dates)      arithmetic antithetic         6.18953   0.02859            -         -      4.2
    Asian call (12 dates)      arithmetic control variate    6.15581   0.00160            -         -   1344.8
    Asian call (12 dates)      geometric plain               6.03437   0.05676      5.94020      1.66      1.0
    Asian call (12 dates)      geometric antithetic          5.97212   0.02779      5.94020      1.15      4.2
    picture: build/montecarlo.png

The arithmetic Asian has no closed form: its control variate is the geometric Asian's closed form.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from apps import montecarlo as mc  # noqa: E402
from ringkernel_codegen import default_backend  # noqa: E402
from ringkernel_codegen.progress import heartbeat  # noqa: E402

ASIAN_STEPS = 12
DEEP_OTM = 180.0


def rows(market: mc.Market, paths: int, seed: int, backend: str) -> list:
    """(option, estimator, Estimate, closed form or None, VRF) for every case."""
    out = []
    bs = mc.black_scholes_call(market, 100.0)
    est = mc.estimates_european(mc.european_moments(market, 100.0, paths, seed, backend=backend), paths, market)
    for name in ("plain", "antithetic", "control variate"):
        out.append(("European call K=100", name, est[name], bs, mc.variance_reduction(est["plain"], est[name])))
    shift = mc.importance_shift(market, DEEP_OTM)
    otm = mc.estimates_european(mc.european_moments(market, DEEP_OTM, paths, seed, shift, backend), paths, market)
    bs_otm = mc.black_scholes_call(market, DEEP_OTM)
    for name in ("plain", "importance sampling"):
        out.append((f"European call K={DEEP_OTM:.0f}", name, otm[name], bs_otm, mc.variance_reduction(otm["plain"], otm[name])))
    apaths = paths // ASIAN_STEPS
    asian = mc.estimates_asian(mc.asian_moments(market, 100.0, ASIAN_STEPS, apaths, seed, backend), apaths,
                               market, 100.0, ASIAN_STEPS)
    geo = mc.geometric_asian_call(market, 100.0, ASIAN_STEPS)
    for name in ("arithmetic plain", "arithmetic antithetic", "arithmetic control variate"):
        out.append((f"Asian call ({ASIAN_STEPS} dates)", name, asian[name], None,
                    mc.variance_reduction(asian["arithmetic plain"], asian[name])))
    for name in ("geometric plain", "geometric antithetic"):
        out.append((f"Asian call ({ASIAN_STEPS} dates)", name, asian[name], geo,
                    mc.variance_reduction(asian["geometric plain"], asian[name])))
    return out


def convergence(market: mc.Market, seed: int, backend: str, top: int) -> list:
    """European K=100 estimates for 2^10 .. top paths: (paths, {estimator: Estimate})."""
    points, n = [], 1 << 10
    while n <= top:
        points.append((n, mc.estimates_european(mc.european_moments(market, 100.0, n, seed, backend=backend), n, market)))
        n *= 4
    return points


def save_picture(points: list, exact: float, path: str) -> str:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "not saved (matplotlib is not installed: pip install matplotlib)"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
    for k, (name, colour) in enumerate((("plain", "tab:blue"), ("antithetic", "tab:orange"), ("control variate", "tab:green"))):
        xs = [n * (1.0 + 0.08 * (k - 1)) for n, _ in points]  # side by side, not on top of each other
        ys = [e[name].price for _, e in points]
        err = [3 * e[name].se for _, e in points]
        ax.errorbar(xs, ys, yerr=err, fmt="o-", capsize=3, color=colour, label=f"{name} (±3 s.e.)")
    ax.axhline(exact, color="black", lw=1, ls="--", label=f"Black-Scholes {exact:.4f}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("paths")
    ax.set_ylabel("price of the European call, K = 100")
    ax.legend()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=1 << 18, help="paths per European estimate")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--backend", default=None, help="cpu | cuda | numba (default: the default backend)")
    parser.add_argument("--png", default="build/montecarlo.png", help="where to save the picture ('' for none)")
    args = parser.parse_args()
    backend = args.backend or default_backend()
    market = mc.Market()

    status = heartbeat("montecarlo")
    status.say(f"compiling the kernels on {backend} and pricing")
    table = rows(market, args.paths, args.seed, backend)
    status.say("convergence runs")
    points = convergence(market, args.seed, backend, args.paths) if args.png else []
    status.stop()

    print(f"montecarlo on {backend}: S0={market.s0:g} r={market.r:g} sigma={market.sigma:g} T={market.t:g}, "
          f"{args.paths} paths, seed {args.seed}")
    print(f"{'option':26} {'estimator':26} {'price':>10} {'s.e.':>9} {'closed form':>12} {'|err|/se':>9} {'VRF':>8}")
    for option, name, e, exact, vrf in table:
        closed = f"{exact:12.5f}" if exact is not None else f"{'-':>12}"
        off = f"{abs(e.price - exact) / e.se:9.2f}" if exact is not None else f"{'-':>9}"
        print(f"{option:26} {name:26} {e.price:10.5f} {e.se:9.5f} {closed} {off} {vrf:8.1f}")
    if args.png:
        print(f"picture: {save_picture(points, mc.black_scholes_call(market, 100.0), args.png)}")


if __name__ == "__main__":
    main()
