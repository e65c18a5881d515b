"""examples/apps/graph.py on random, grid, power-law, disconnected, edgeless, single-vertex and
empty graphs: BFS (level-synchronous and @persistent) against a Python queue BFS, connected components against a Python traversal,
SpMV against a dense NumPy product, PageRank against the linear system it solves
(np.linalg.solve, not a power iteration), SCC against Tarjan's algorithm; every kernel's CUDA C++
compiles."""
import os
import subprocess
import sys
from collections import deque

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from examples.apps import graph as G

GRAPHS = {
    "random": lambda: G.random_graph(300, 450, seed=1),
    "grid": lambda: G.grid_graph(17, 9),
    "power-law": lambda: G.power_law_graph(400, 2, seed=2),
    "disconnected": lambda: G.disconnected_graph(5, 20, 6, seed=3),
    "edgeless": lambda: G.csr_from_edges(7, [], []),
    "single vertex": lambda: G.csr_from_edges(1, [], []),
}


def neighbours(g):
    return [g.col[g.row_ptr[v]:g.row_ptr[v + 1]].tolist() for v in range(g.n)]


def ref_bfs(g, s):
    adj, dist = neighbours(g), [-1] * g.n
    dist[s] = 0
    q = deque([s])
    while q:
        v = q.popleft()
        for u in adj[v]:
            if dist[u] < 0:
                dist[u] = dist[v] + 1
                q.append(u)
    return dist


def ref_components(g):
    adj, label = neighbours(g), [-1] * g.n
    for s in range(g.n):  # increasing s: the first vertex met is the component's smallest
        if label[s] < 0:
            label[s], stack = s, [s]
            while stack:
                v = stack.pop()
                for u in adj[v]:
                    if label[u] < 0:
                        label[u] = s
                        stack.append(u)
    return label


def test_csr_from_edges_drops_duplicates_and_self_loops_and_sorts():
    g = G.csr_from_edges(4, [2, 0, 0, 1, 3, 0], [1, 2, 2, 1, 0, 1])
    assert g.row_ptr.tolist() == [0, 2, 2, 3, 4] and g.col.tolist() == [1, 2, 1, 0]


@pytest.mark.parametrize("name", GRAPHS)
def test_bfs_matches_a_queue_bfs(name):
    g = GRAPHS[name]()
    for s in sorted({0, g.n // 2, g.n - 1}):
        assert G.bfs(g, s).tolist() == ref_bfs(g, s), (name, s)


def test_bfs_levels_of_a_grid_are_manhattan_distances():
    d = G.bfs(G.grid_graph(6, 4), 0).reshape(4, 6)
    y, x = np.indices((4, 6))
    assert np.array_equal(d, x + y)


def test_bfs_refuses_a_source_outside_the_graph():
    with pytest.raises(ValueError, match="not a vertex"):
        G.bfs(G.csr_from_edges(0, [], []), 0)


@pytest.mark.parametrize("name", ["random", "grid", "disconnected", "single vertex"])
def test_persistent_bfs_matches_a_queue_bfs(name):
    g = GRAPHS[name]()
    for s in sorted({0, g.n - 1}):  # the grid's corner-to-corner run is 24 levels: 3 checks of 8 steps
        assert G.bfs_persistent(g, s).tolist() == ref_bfs(g, s), (name, s)


def test_persistent_bfs_is_unchanged_by_steps_past_the_last_level():
    g = G.grid_graph(5, 3)  # 7 levels from a corner
    y, x = np.indices((3, 5))
    for per_check in (1, 3, 50):
        assert np.array_equal(G.bfs_persistent(g, 0, steps_per_check=per_check).reshape(3, 5), x + y)


def test_persistent_bfs_refuses_a_source_outside_the_graph():
    with pytest.raises(ValueError, match="not a vertex"):
        G.bfs_persistent(G.csr_from_edges(0, [], []), 0)


@pytest.mark.parametrize("name", list(GRAPHS) + ["empty"])
def test_connected_components_match_a_traversal(name):
    g = GRAPHS[name]() if name != "empty" else G.csr_from_edges(0, [], [])
    assert G.connected_components(g).tolist() == ref_components(g)


def test_components_of_the_disconnected_graph_are_its_pieces():
    labels = G.connected_components(G.disconnected_graph(5, 20, 6, seed=3))
    assert sorted(set(labels.tolist())) == [0, 20, 40, 60, 80] + list(range(100, 106))


@pytest.mark.parametrize("name", list(GRAPHS) + ["empty"])
def test_spmv_matches_a_dense_product(name):
    g = GRAPHS[name]() if name != "empty" else G.csr_from_edges(0, [], [])
    rng = np.random.default_rng(4)
    values, x = rng.normal(size=g.m), rng.normal(size=g.n)
    dense = np.zeros((g.n, g.n))
    src, dst = g.edges()
    dense[src, dst] = values
    np.testing.assert_allclose(G.spmv(g, values, x), dense @ x, rtol=1e-12, atol=1e-12)


def ref_pagerank(g, d):
    """The fixed point r = (1-d)/n + d (P^T r + (dangling mass)/n) as one linear solve."""
    n = g.n
    out = np.diff(g.row_ptr)
    m = np.zeros((n, n))
    src, dst = g.edges()
    m[dst, src] = 1.0 / out[src]
    m[:, out == 0] = 1.0 / n
    return np.linalg.solve(np.eye(n) - d * m, np.full(n, (1 - d) / n))


@pytest.mark.parametrize("name,directed", [("random", True), ("power-law", True), ("grid", False),
                                           ("disconnected", False), ("edgeless", False), ("single vertex", False)])
def test_pagerank_solves_its_linear_system(name, directed):
    g = GRAPHS[name]()
    if directed:  # keep one direction of each edge, so some vertices dangle
        src, dst = g.edges()
        g = G.csr_from_edges(g.n, src[src < dst], dst[src < dst])
    ranks, iterations = G.pagerank(g, damping=0.85, tol=1e-13)
    assert iterations < 500
    np.testing.assert_allclose(ranks, ref_pagerank(g, 0.85), rtol=1e-8, atol=1e-12)
    assert abs(ranks.sum() - 1.0) < 1e-10


def test_pagerank_of_the_empty_graph_is_empty():
    ranks, iterations = G.pagerank(G.csr_from_edges(0, [], []))
    assert ranks.size == 0 and iterations == 0


@pytest.mark.nvcc
def test_every_kernel_compiles_with_nvcc(nvcc):
    proc = subprocess.run([sys.executable, "-m", "ringkernel_codegen.cli", "check",
                           os.path.join(ROOT, "examples", "apps", "graph.py"), "--compiler", "nvcc"],
                          capture_output=True, text=True, timeout=600, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0 and f"{len(G.KERNELS)} kernel(s) compiled" in proc.stdout, proc.stdout + proc.stderr


def ref_scc(g):
    """Tarjan's algorithm (iterative); per vertex the largest id of its component."""
    adj = neighbours(g)
    index, low, on, stack, out = [None] * g.n, [0] * g.n, [False] * g.n, [], [-1] * g.n
    counter = 0
    for root in range(g.n):
        if index[root] is not None:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on[v] = True
            if i < len(adj[v]):
                work.append((v, i + 1))
                u = adj[v][i]
                if index[u] is None:
                    work.append((u, 0))
                elif on[u]:
                    low[v] = min(low[v], index[u])
                continue
            if low[v] == index[v]:
                members = []
                while True:
                    w = stack.pop()
                    on[w] = False
                    members.append(w)
                    if w == v:
                        break
                for w in members:
                    out[w] = max(members)
            parent = work[-1][0] if work else None  # the frame below v's is its parent's
            if parent is not None and on[parent]:
                low[parent] = min(low[parent], low[v])
    return out


def directed(name):
    g = GRAPHS[name]() if name != "empty" else G.csr_from_edges(0, [], [])
    rng = np.random.default_rng(len(name))
    src, dst = g.edges()
    keep = (src < dst) | (rng.random(len(src)) < 0.3)  # mostly one direction: several components
    return G.csr_from_edges(g.n, src[keep], dst[keep])


@pytest.mark.parametrize("name", list(GRAPHS) + ["empty"])
def test_strongly_connected_components_match_tarjan(name):
    g = directed(name)
    assert G.strongly_connected_components(g).tolist() == ref_scc(g)


def test_scc_of_two_cycles_joined_one_way():
    g = G.csr_from_edges(6, [0, 1, 2, 2, 3, 4, 5], [1, 2, 0, 3, 4, 5, 3])
    assert G.strongly_connected_components(g).tolist() == [2, 2, 2, 5, 5, 5]
