"""Dependencies point one way (shared/DESIGN.md §2): the runtime uses the compiler, the compiler
never imports the runtime, and neither package has an import cycle.

The import graph is read from the source with `ast`, nothing is imported: every `import a.b`,
`from a.b import c` and relative `from ..a import b` anywhere in a module (module level, inside
functions, under `if TYPE_CHECKING:`) counts, relative imports resolved against the module's package.
Generated source held in strings (RING_HEADER, ...) is not an import of the compiler: the runtime
executes it.

Edges of the graph, for an import statement in module M:
    `import a.b.c`          -> a.b.c, and the packages a.b and a (their __init__ runs first)
    `from a.b import c`     -> a.b.c when that is a module (a submodule), else a.b; and a
The packages an import also runs are counted, with two exceptions:
    - the root packages `ringkernel_codegen` and `ringkernel_runtime`: their __init__ imports
      the public API from everywhere, so every module would sit in a cycle with the root; what
      matters is the graph of the modules below it;
    - packages that contain M itself: M runs only after its package's __init__ started, so the
      import adds no new dependency (the package importing its submodule M is the one edge).
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPILER, RUNTIME = "ringkernel_codegen", "ringkernel_runtime"
ROOTS = (COMPILER, RUNTIME)

# Compiler modules that still import the runtime -- to be removed by the backend registry.
# (ringkernel_codegen.kernel and .ring were here; the registry, ringkernel_codegen/backends.py,
# reaches the runtime by provider name and took them off. Keep it empty.)
PENDING_RUNTIME_IMPORTS: frozenset[str] = frozenset()

# The compiler core: what emits code and the contracts it shares with the runtime.
CORE_PACKAGES = ("frontend", "ir", "passes", "emit", "abi", "nvrtc")
CORE_MODULES = ("types", "intrinsics", "errors", "message", "loader")


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package __init__) for both packages."""
    out = {}
    for root in ROOTS:
        for path in sorted((ROOT / root).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts.pop()
            out[".".join(parts)] = (path, is_pkg)
    return out


MODULES = _modules()


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imports(module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import in `module`, packages an import also runs included."""
    path, is_pkg = MODULES[module]
    package = module if is_pkg else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
            found += [(node.lineno, t) for t in (subs or [target])]
    own = set(_ancestors(module))
    out = []
    for line, target in found:
        for t in _ancestors(target) + [target]:
            if t in ROOTS and t != target:
                continue                      # the root package's __init__ (see the docstring)
            if t in own:
                continue                      # a package M is inside of has started already
            out.append((line, t))
    return out


def _internal(name: str) -> bool:
    return name in ROOTS or name.startswith(tuple(r + "." for r in ROOTS))


GRAPH: dict[str, list[tuple[int, str]]] = {m: [(ln, t) for ln, t in _imports(m) if _internal(t)]
                                           for m in MODULES}


def _runtime_imports() -> dict[str, list[str]]:
    """Compiler module -> ["line: target", ...] of its imports of the runtime."""
    out = defaultdict(list)
    for m, edges in GRAPH.items():
        if m == COMPILER or m.startswith(COMPILER + "."):
            for line, t in sorted(set(edges)):
                if t == RUNTIME or t.startswith(RUNTIME + "."):
                    out[m].append(f"{line}: {t}")
    return dict(out)


def _cycles(nodes: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), among `nodes`."""
    succ = {n: sorted({t for _, t in GRAPH[n] if t in nodes and t != n}) for n in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.append(sorted(scc))

    for n in sorted(nodes):
        if n not in index:
            visit(n)
    return out


def _describe(scc: list[str]) -> str:
    members = set(scc)
    lines = [f"{m}:{ln} imports {t}" for m in scc for ln, t in sorted(set(GRAPH[m])) if t in members and t != m]
    return "cycle among " + ", ".join(scc) + "\n    " + "\n    ".join(lines)


def _core(name: str) -> bool:
    sub = name[len(COMPILER) + 1:] if name.startswith(COMPILER + ".") else ""
    head = sub.split(".")[0]
    return head in CORE_PACKAGES or sub in CORE_MODULES


# ---------------------------------------------------------------------------------------- tests
def test_the_graph_sees_both_packages_and_function_local_imports():
    assert {"ringkernel_codegen.abi.layout", "ringkernel_runtime.layout", "ringkernel_codegen.emit.cuda_ring",
            "ringkernel_runtime.backends"} <= set(MODULES)
    # relative and function-local imports are resolved: the runtime's layout re-exports the contract
    assert "ringkernel_codegen.abi.layout" in {t for _, t in GRAPH["ringkernel_runtime.layout"]}
    src = "def f():\n    from ..abi import layout\n"
    assert any(isinstance(n, ast.ImportFrom) and n.level == 2 for n in ast.walk(ast.parse(src)))


def test_the_compiler_does_not_import_the_runtime():
    found = _runtime_imports()
    offending = {m: v for m, v in found.items() if m not in PENDING_RUNTIME_IMPORTS}
    assert not offending, "the compiler imports the runtime (shared contracts go in ringkernel_codegen.abi):\n" + \
        "\n".join(f"  {m}:{where}" for m, v in sorted(offending.items()) for where in v)


def test_the_pending_allow_list_is_not_stale():
    found = _runtime_imports()
    stale = sorted(PENDING_RUNTIME_IMPORTS - set(found))
    assert not stale, f"no longer import the runtime; remove from PENDING_RUNTIME_IMPORTS: {stale}"


def test_no_import_cycle_in_the_runtime():
    cycles = _cycles({m for m in MODULES if m.startswith(RUNTIME + ".")})
    assert not cycles, "\n".join(map(_describe, cycles))


def test_no_import_cycle_in_the_compiler_core():
    core = {m for m in MODULES if _core(m)}
    assert {"ringkernel_codegen.errors", "ringkernel_codegen.abi", "ringkernel_codegen.nvrtc.compiler"} <= core
    cycles = _cycles(core)
    assert not cycles, "\n".join(map(_describe, cycles))
