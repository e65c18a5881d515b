"""Applications built on ringkernel with only its public decorators and intrinsics (issue #14).

    montecarlo   option pricing under geometric Brownian motion with Philox random numbers
    txmon        transaction monitoring on four @ring_kernel actors, with planted fraud
    graph        BFS, connected components, SpMV and PageRank on CSR graphs

The examples (examples/montecarlo.py, ...) and tests/test_apps_*.py import these modules; they
are application code, not part of the toolkit.
"""
