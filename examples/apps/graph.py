"""Graph analytics on CSR graphs with @kernel: BFS, connected components, SpMV, PageRank, SCC.

    bfs                   level-synchronous: one launch per level; each frontier vertex claims its
                          unvisited neighbours with atomic_cas on the distance array and appends
                          them to the next frontier through an atomic_add queue counter
    connected_components  union-find: each edge hooks the larger of its two roots under the smaller
                          with atomic_cas (retrying from the parent the failed CAS returned, so a
                          stale cached read cannot make it spin), then pointer jumping
                          points every vertex at its root; labels are each component's smallest id
    spmv                  y = A x, one row per thread
    pagerank              power iteration on the in-edge CSR, dangling mass and the L1 change
                          reduced with atomic_add on the device; the host reads two numbers a step
    strongly_connected_components
                          colouring: forward max-id propagation with atomic_max, then backward
                          claims from each root, repeated on the vertices left

A CSR graph is (row_ptr, col) as i32 arrays (`CSR`); `csr_from_edges` builds one from edge lists
with NumPy (scipy.sparse is not needed). Generators for the usual test shapes are at the end.
    bfs_persistent        the same BFS as one resident `@persistent` launch: each step is one level
                          (expand with atomic_cas claims, grid_sync(), move the queue counters,
                          grid_sync()); the host runs a few steps at a time until the frontier is empty
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ringkernel_codegen import f64, i32, kernel, persistent
from ringkernel_codegen.dsl import atomic_add, atomic_cas, atomic_max, global_id, global_size, grid_sync

THREADS = 128


@dataclass(frozen=True)
class CSR:
    """Row r's neighbours are col[row_ptr[r]:row_ptr[r + 1]]."""
    row_ptr: np.ndarray
    col: np.ndarray

    @property
    def n(self) -> int:
        return len(self.row_ptr) - 1

    @property
    def m(self) -> int:
        return len(self.col)

    def edges(self) -> tuple:
        """(src, dst) arrays, one entry per stored edge."""
        return np.repeat(np.arange(self.n, dtype=np.int32), np.diff(self.row_ptr)), self.col

    def transpose(self) -> "CSR":
        src, dst = self.edges()
        return csr_from_edges(self.n, dst, src)


def csr_from_edges(n: int, src, dst, symmetric: bool = False) -> CSR:
    """CSR of the directed edges src[i] -> dst[i] (both directions with symmetric=True); duplicate
    edges and self-loops are dropped, neighbours sorted."""
    src, dst = np.asarray(src, np.int64), np.asarray(dst, np.int64)
    if symmetric:
        src, dst = np.concatenate([src, dst]), np.concatenate([dst, src])
    keep = src != dst
    key = np.unique(src[keep] * max(n, 1) + dst[keep])
    s, d = key // max(n, 1), key % max(n, 1)
    row_ptr = np.zeros(n + 1, np.int32)
    np.cumsum(np.bincount(s, minlength=n), out=row_ptr[1:])
    return CSR(row_ptr, d.astype(np.int32))


def _blocks(count: int) -> int:
    return max(1, (count + THREADS - 1) // THREADS)


# --- BFS ---------------------------------------------------------------------------------------

@kernel
def bfs_level(row_ptr: i32[:], col: i32[:], frontier: i32[:], frontier_size: i32, next_frontier: i32[:],
              next_size: i32[:], dist: i32[:], level: i32):
    i = global_id()
    if i < frontier_size:
        v = frontier[i]
        for e in range(row_ptr[v], row_ptr[v + 1]):
            u = col[e]
            if dist[u] == -1:
                if atomic_cas(dist, u, -1, level + 1) == -1:  # this thread claimed u
                    next_frontier[atomic_add(next_size, 0, 1)] = u


def bfs(g: CSR, source: int, backend: str = "cpu") -> np.ndarray:
    """Hop distance from `source` to every vertex (-1: unreachable)."""
    if not 0 <= source < g.n:
        raise ValueError(f"source {source} is not a vertex of a graph with {g.n} vertices")
    dist = np.full(g.n, -1, np.int32)
    dist[source] = 0
    frontier, nxt = np.zeros(g.n, np.int32), np.zeros(g.n, np.int32)
    frontier[0], size, level = source, 1, 0
    count = np.zeros(1, np.int32)
    k = bfs_level.to(backend)
    col = g.col if g.m else np.zeros(1, np.int32)  # a launch needs a non-empty array
    while size:
        count[0] = 0
        k[_blocks(size), THREADS](g.row_ptr, col, frontier, size, nxt, count, dist, level)
        frontier, nxt, size, level = nxt, frontier, int(count[0]), level + 1
    return dist


@persistent(swap=("frontier", "next_frontier"))
def bfs_persistent_step(row_ptr: i32[:], col: i32[:], frontier: i32[:], next_frontier: i32[:], dist: i32[:],
                        state: i32[:]):
    """One BFS level over the whole grid. state = [frontier size, next frontier size, level]."""
    size = state[0]
    level = state[2]
    i = global_id()
    while i < size:  # grid-stride: the resident grid is smaller than a large frontier
        v = frontier[i]
        for e in range(row_ptr[v], row_ptr[v + 1]):
            u = col[e]
            if dist[u] == -1:
                if atomic_cas(dist, u, -1, level + 1) == -1:  # this thread claimed u
                    next_frontier[atomic_add(state, 1, 1)] = u
        i += global_size()
    grid_sync()  # every claim of this level is in: the next frontier and its size are complete
    if global_id() == 0:
        if state[1] > 0:
            state[2] = state[2] + 1
        state[0] = state[1]
        state[1] = 0
    grid_sync()  # the new counters are seen by every block before the frontiers swap roles


PERSISTENT_BLOCKS = 16  # resident blocks of bfs_persistent (grid-stride loops cover any frontier)


def bfs_persistent(g: CSR, source: int, backend: str = "cpu", steps_per_check: int = 8) -> np.ndarray:
    """Hop distance from `source` to every vertex (-1: unreachable), as `bfs`, from one resident launch.

    Each step of `bfs_persistent_step` is one level; `swap` makes the frontier it filled the one
    the next step reads. A step that starts with an empty frontier claims nothing and leaves
    `dist` and the counters as they were, so running steps past the last level is harmless: the
    host runs `steps_per_check` steps, reads the frontier size (state[0]) between two steps, and
    stops at the first check that finds it 0. No relaunch, and one small read per check. A graph
    of n vertices has at most n levels, so a frontier still busy after n steps is an error.
    """
    if not 0 <= source < g.n:
        raise ValueError(f"source {source} is not a vertex of a graph with {g.n} vertices")
    dist = np.full(g.n, -1, np.int32)
    dist[source] = 0
    frontier = np.zeros(g.n, np.int32)
    frontier[0] = source
    state = np.array([1, 0, 0], np.int32)
    col = g.col if g.m else np.zeros(1, np.int32)  # a launch needs a non-empty array
    grid = min(_blocks(g.n), PERSISTENT_BLOCKS)
    with bfs_persistent_step.to(backend).start(g.row_ptr, col, frontier, np.zeros(g.n, np.int32), dist, state,
                                               grid=grid, block=THREADS) as sim:
        while sim.steps <= g.n:  # a BFS has at most n levels: more steps mean a broken step
            sim.run(steps_per_check, wait=True, timeout=60.0)
            if sim.read("state")[0] == 0:
                return sim.read("dist")
    raise RuntimeError(f"bfs_persistent: the frontier was not empty after {g.n} levels of a {g.n}-vertex graph")


# --- connected components ----------------------------------------------------------------------

@kernel
def hook_edges(src: i32[:], dst: i32[:], m: i32, parent: i32[:]):
    e = global_id()
    if e < m:
        a = src[e]
        b = dst[e]
        while True:
            while parent[a] != a:
                a = parent[a]
            while parent[b] != b:
                b = parent[b]
            if a == b:
                break
            hi = max(a, b)
            lo = min(a, b)
            old = atomic_cas(parent, hi, hi, lo)
            if old == hi:  # hi was still a root: hooked
                break
            a = old  # another edge hooked hi first (under `old`, which the CAS read): climb from there
            b = lo


@kernel
def jump_to_roots(parent: i32[:], n: i32):
    v = global_id()
    if v < n:
        r = v
        while parent[r] != r:
            r = parent[r]
        parent[v] = r


def connected_components(g: CSR, backend: str = "cpu") -> np.ndarray:
    """Per vertex, the smallest vertex id of its component (edges taken as undirected)."""
    parent = np.arange(g.n, dtype=np.int32)
    if g.n == 0:
        return parent
    src, dst = g.edges()
    if g.m:
        hook_edges.to(backend)[_blocks(g.m), THREADS](src, dst, g.m, parent)
    jump_to_roots.to(backend)[_blocks(g.n), THREADS](parent, g.n)
    return parent


# --- SpMV and PageRank -------------------------------------------------------------------------

@kernel
def spmv_rows(row_ptr: i32[:], col: i32[:], values: f64[:], x: f64[:], y: f64[:], n: i32):
    r = global_id()
    if r < n:
        acc = 0.0
        for e in range(row_ptr[r], row_ptr[r + 1]):
            acc += values[e] * x[col[e]]
        y[r] = acc


def spmv(g: CSR, values: np.ndarray, x: np.ndarray, backend: str = "cpu") -> np.ndarray:
    """y = A x for the matrix with A[r, col[e]] = values[e]."""
    y = np.zeros(g.n, np.float64)
    if g.n:
        vals = values if g.m else np.zeros(1)
        col = g.col if g.m else np.zeros(1, np.int32)
        spmv_rows.to(backend)[_blocks(g.n), THREADS](g.row_ptr, col, np.ascontiguousarray(vals, np.float64),
                                                   np.ascontiguousarray(x, np.float64), y, g.n)
    return y


@kernel
def pagerank_share(rank: f64[:], out_degree: i32[:], share: f64[:], dangling: f64[:], n: i32):
    v = global_id()
    if v < n:
        if out_degree[v] > 0:
            share[v] = rank[v] / out_degree[v]
        else:
            share[v] = 0.0
            atomic_add(dangling, 0, rank[v])


@kernel
def pagerank_step(in_ptr: i32[:], in_col: i32[:], share: f64[:], dangling: f64[:], rank: f64[:],
                  new_rank: f64[:], change: f64[:], damping: f64, n: i32):
    v = global_id()
    if v < n:
        acc = 0.0
        for e in range(in_ptr[v], in_ptr[v + 1]):
            acc += share[in_col[e]]
        r = (1.0 - damping) / n + damping * (acc + dangling[0] / n)
        new_rank[v] = r
        atomic_add(change, 0, abs(r - rank[v]))


def pagerank(g: CSR, damping: float = 0.85, tol: float = 1e-12, max_iter: int = 500,
             backend: str = "cpu") -> tuple:
    """(ranks summing to 1, iterations): power iteration until the L1 change is below tol; a
    dangling vertex (no out-edges) spreads its rank over every vertex."""
    n = g.n
    if n == 0:
        return np.zeros(0), 0
    inc = g.transpose()
    in_col = inc.col if inc.m else np.zeros(1, np.int32)
    out_degree = np.diff(g.row_ptr).astype(np.int32)
    rank, new_rank, share = np.full(n, 1.0 / n), np.zeros(n), np.zeros(n)
    dangling, change = np.zeros(1), np.zeros(1)
    k_share, k_step = pagerank_share.to(backend), pagerank_step.to(backend)
    for it in range(1, max_iter + 1):
        dangling[0] = change[0] = 0.0
        k_share[_blocks(n), THREADS](rank, out_degree, share, dangling, n)
        k_step[_blocks(n), THREADS](inc.row_ptr, in_col, share, dangling, rank, new_rank, change, damping, n)
        rank, new_rank = new_rank, rank
        if change[0] < tol:
            break
    return rank, it


# --- strongly connected components (colouring: Orzan; Slota et al.) ---------------------------

@kernel
def scc_colour(color: i32[:], scc: i32[:], remaining: i32[:], n: i32):
    v = global_id()
    if v < n:
        if scc[v] == -1:
            color[v] = v
            atomic_add(remaining, 0, 1)


@kernel
def scc_spread(row_ptr: i32[:], col: i32[:], color: i32[:], scc: i32[:], changed: i32[:], n: i32):
    """Forward: each unassigned vertex's colour becomes the largest id that reaches it."""
    v = global_id()
    if v < n:
        if scc[v] == -1:
            c = color[v]
            for e in range(row_ptr[v], row_ptr[v + 1]):
                u = col[e]
                if scc[u] == -1 and color[u] < c:
                    atomic_max(color, u, c)
                    changed[0] = 1


@kernel
def scc_roots(color: i32[:], scc: i32[:], n: i32):
    v = global_id()
    if v < n:
        if scc[v] == -1 and color[v] == v:
            scc[v] = v


@kernel
def scc_claim(row_ptr: i32[:], col: i32[:], color: i32[:], scc: i32[:], changed: i32[:], n: i32):
    """Backward: a vertex of colour c that reaches a member of c's component joins it."""
    v = global_id()
    if v < n:
        if scc[v] == -1:
            c = color[v]
            for e in range(row_ptr[v], row_ptr[v + 1]):
                if scc[col[e]] == c:
                    scc[v] = c
                    changed[0] = 1


def strongly_connected_components(g: CSR, backend: str = "cpu") -> np.ndarray:
    """Per vertex, the largest vertex id of its strongly connected component (edges directed).

    Colouring: every unassigned vertex takes the largest id that reaches it (forward propagation
    to a fixed point); a vertex whose colour is its own id is a root, and the vertices of its
    colour that reach it form its component (backward propagation). Repeat on what is left."""
    n = g.n
    color, scc = np.zeros(n, np.int32), np.full(n, -1, np.int32)
    if n == 0:
        return scc
    col = g.col if g.m else np.zeros(1, np.int32)
    remaining, changed = np.zeros(1, np.int32), np.zeros(1, np.int32)
    grid = _blocks(n)
    k_colour, k_spread = scc_colour.to(backend)[grid, THREADS], scc_spread.to(backend)[grid, THREADS]
    k_roots, k_claim = scc_roots.to(backend)[grid, THREADS], scc_claim.to(backend)[grid, THREADS]
    while True:
        remaining[0] = 0
        k_colour(color, scc, remaining, n)
        if remaining[0] == 0:
            return scc
        changed[0] = 1
        while changed[0]:
            changed[0] = 0
            k_spread(g.row_ptr, col, color, scc, changed, n)
        k_roots(color, scc, n)
        changed[0] = 1
        while changed[0]:
            changed[0] = 0
            k_claim(g.row_ptr, col, color, scc, changed, n)


KERNELS = [bfs_level, bfs_persistent_step, hook_edges, jump_to_roots, spmv_rows, pagerank_share, pagerank_step,
           scc_colour, scc_spread, scc_roots, scc_claim]


# --- graphs to try it on -----------------------------------------------------------------------

def random_graph(n: int, m: int, seed: int = 0, symmetric: bool = True) -> CSR:
    """About m random edges (Erdos-Renyi style) among n vertices."""
    rng = np.random.default_rng(seed)
    return csr_from_edges(n, rng.integers(0, max(n, 1), m), rng.integers(0, max(n, 1), m), symmetric)


def grid_graph(width: int, height: int) -> CSR:
    """A width x height 4-neighbour grid; vertex y * width + x."""
    ids = np.arange(width * height).reshape(height, width)
    src = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    dst = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    return csr_from_edges(width * height, src, dst, symmetric=True)


def power_law_graph(n: int, per_vertex: int = 2, seed: int = 0, symmetric: bool = True) -> CSR:
    """Preferential attachment (Barabasi-Albert): vertex v links to `per_vertex` earlier vertices
    chosen in proportion to their degree; a few hubs, many leaves."""
    rng = np.random.default_rng(seed)
    targets = [0]
    src, dst = [], []
    for v in range(1, n):
        for _ in range(min(per_vertex, v)):
            u = targets[int(rng.integers(0, len(targets)))]
            src.append(v)
            dst.append(u)
            targets += [u, v]
    return csr_from_edges(n, src, dst, symmetric)


def disconnected_graph(parts: int = 4, size: int = 30, isolated: int = 5, seed: int = 0) -> CSR:
    """`parts` random connected pieces (a path plus random chords) and `isolated` lone vertices."""
    rng = np.random.default_rng(seed)
    src, dst = [], []
    for p in range(parts):
        base = p * size
        src += list(range(base, base + size - 1))
        dst += list(range(base + 1, base + size))
        src += (base + rng.integers(0, size, size)).tolist()
        dst += (base + rng.integers(0, size, size)).tolist()
    return csr_from_edges(parts * size + isolated, src, dst, symmetric=True)
