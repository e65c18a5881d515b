"""The intrinsic registry: one entry per intrinsic, loaded from intrinsics/*.toml.

An entry says how to type-check a call and how to spell it per backend. Emitters look spellings
up here; they never special-case intrinsic names. Schema (see intrinsics/README.md):

    name, category, doc           str
    params                        list of param specs: T | E | array | index | int | dtype |
                                  shape | f32 | f64 | i32 | i64 | u32 | u64 | boolean
    returns                       T | E | void | a scalar name
    T, E                          allowed bindings of the generic T / array element type E
    kind                          expr (default) | barrier | warp_collective | block_collective |
                                  alloc | grid_barrier
    cuda, numba, cpu              spelling: a template string with {0}.. for args, {T}/{E} for
                                  type names; or a table keyed by the bound type name (or
                                  "default"); or "unsupported: <reason>". A column may be left
                                  out: that backend refuses the intrinsic (missing_spellings()
                                  lists them)
    aliases                       Python callables mapped to this intrinsic ("math.sqrt", "builtins.min")
    cuda_requires                 extra CUDA headers (e.g. "cooperative_groups")
    scope                         the one function kind whose body may call it: "stencil" (cell
                                  coordinates) or "ring" (reached as ctx.<name>() in a handler, not
                                  a dsl name); absent: any kernel or device function
"""
from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import RingKernelError
from .types import SCALARS

class IntrinsicKind(StrEnum):
    """How an intrinsic takes part in control flow (what fission and the emitters must know)."""

    EXPR = "expr"
    BARRIER = "barrier"
    GRID_BARRIER = "grid_barrier"
    WARP_COLLECTIVE = "warp_collective"
    BLOCK_COLLECTIVE = "block_collective"
    ALLOC = "alloc"


# A parameter spec / return spec of an entry (intrinsics/README.md): structural specs and the scalar
# type names. StrEnums: they compare and hash as their spelling, so tables keyed by it still work.
ParamSpec = StrEnum("ParamSpec", [(n.upper(), n) for n in ("T", "E", "array", "index", "int", "dtype", "shape",
                                                           *SCALARS)])
ReturnSpec = StrEnum("ReturnSpec", [(n.upper(), n) for n in ("T", "E", "void", "array", *SCALARS)])
KINDS = set(IntrinsicKind)
# scope -> (where such an intrinsic is defined, what to do elsewhere): errors quote both
SCOPES = {
    "stencil": ("a @stencil body", "in a @kernel, a thread's position is global_id_x(), global_id_y(), "
                                   "global_id_z()"),
    "ring": ("a @ring_kernel handler, as ctx.{name}()", "the actor context exists only in @ring_kernel handlers"),
}
# The spelling columns of the table, each with what errors call the code it spells (the emitters
# of backends.py's backends look up their own column; see ringkernel_codegen/backends.py).
COLUMNS = {"cuda": "CUDA C++", "numba": "numba.cuda", "cpu": "the CPU backend"}
BACKENDS = tuple(COLUMNS)


@dataclass(frozen=True, eq=False)
class Intrinsic:
    name: str
    category: str
    params: tuple  # of ParamSpec
    returns: "ReturnSpec"
    doc: str
    spellings: dict  # backend -> str | dict
    kind: "IntrinsicKind" = "expr"
    T: tuple = ()
    E: tuple = ()
    aliases: tuple = ()
    cuda_requires: tuple = ()
    scope: str = ""  # "" (anywhere), or the one function kind that may call it (SCOPES)
    source: str = ""

    def __call__(self, *args, **kwargs):
        raise RingKernelError(
            f"{self.name}() is a kernel intrinsic: call it inside a @kernel, @stencil or @ring_kernel "
            "function, not from Python")

    def __repr__(self) -> str:
        return f"<intrinsic {self.name}{self.signature()}>"

    def signature(self) -> str:
        return f"({', '.join(self.params)}) -> {self.returns}"

    def spelling(self, backend: str, bound: str | None = None) -> str:
        """The template for `backend`, picked by the bound type name where the entry has a table."""
        spell = self.spellings.get(backend, f"unsupported: {self.source or 'its table'} gives no {backend} spelling")
        if isinstance(spell, dict):
            if bound is not None and bound in spell:
                return spell[bound]
            if "default" in spell:
                return spell["default"]
            return f"unsupported: no {backend} spelling for {bound}"
        return spell

    def supported(self, backend: str, bound: str | None = None) -> bool:
        return not self.spelling(backend, bound).startswith("unsupported")


def data_dir(name: str) -> Path:
    """intrinsics/ or templates/: inside the installed package, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    raise RingKernelError(f"ringkernel data folder '{name}' not found next to {here}; reinstall the package")


@functools.lru_cache(maxsize=None)
def table() -> dict[str, Intrinsic]:
    """Every intrinsic by name, loaded once from intrinsics/*.toml, the dsl's described (describe).
    A process whose compiler files are those of an earlier one unpickles that one's table
    (diskcache.remembered): parsing the TOML was most of what `import ringkernel_codegen.dsl` cost."""
    from .diskcache import remembered

    return remembered("intrinsics", _described_table)


def _described_table() -> dict[str, Intrinsic]:
    out = load_table(data_dir("intrinsics"))
    for entry in out.values():
        if entry.scope != "ring":  # the dsl's names; the ring context's operations are ctx.<name>()
            describe(entry)
    return out


# Structural arguments keep their spec's name; value arguments are called x, y, z, w in order
# (then x4, x5, ...: philox4x32 takes six words).
_NAMED_SPECS = ("array", "index", "shape", "dtype")
_VALUE_NAMES = ("x", "y", "z", "w")


def _param_names(params: tuple) -> list:
    values = iter(_VALUE_NAMES + tuple(f"x{i}" for i in range(len(_VALUE_NAMES), len(params))))
    return [spec if spec in _NAMED_SPECS else next(values) for spec in params]


def _docstring(entry) -> str:
    """The entry's doc, then its table signature and the types its T and E may bind to."""
    import textwrap

    lines = [*textwrap.wrap(entry.doc, 96), "", f"Table signature: {entry.name}{entry.signature()}"]
    if entry.T:
        lines.append(f"T: {', '.join(entry.T)}")
    if entry.E:
        lines.append(f"E: {', '.join(entry.E)}")
    return "\n".join(lines)


def describe(entry: Intrinsic) -> None:
    """Give a dsl intrinsic what help(), inspect.signature() and notebooks read off a function.

    The entries are the registry's own objects (resolve.py recognises them by type), so the
    attributes are set on them rather than on wrappers; the dataclass is frozen, hence
    object.__setattr__.
    """
    import inspect  # here: a table remembered from an earlier process comes described

    params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_ONLY) for n in _param_names(entry.params)]
    for attr, value in (("__name__", entry.name), ("__qualname__", entry.name), ("__module__", f"{__package__}.dsl"),
                        ("__doc__", _docstring(entry)), ("__signature__", inspect.Signature(params))):
        object.__setattr__(entry, attr, value)


def load_table(folder: Path) -> dict[str, Intrinsic]:
    """Every intrinsic of the *.toml files in `folder`, by name; schema errors name file and entry."""
    import tomllib  # here: a process that unpickles the table (table()) never parses TOML

    out: dict[str, Intrinsic] = {}
    for path in sorted(Path(folder).glob("*.toml")):
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
        for raw in doc.get("intrinsic", []):
            entry = _entry(raw, path.name)
            if entry.name in out:
                raise RingKernelError(f"intrinsic {entry.name} defined twice ({out[entry.name].source}, {path.name})")
            out[entry.name] = entry
    return out


PARAM_SPECS = set(ParamSpec)
RETURNS = set(ReturnSpec)


def _check_values(raw: dict[str, Any], source: str) -> None:
    """The values of an entry's fields (intrinsics/README.md): what the binder and emitters rely on."""
    where = f"{source}: intrinsic {raw['name']}"

    def bad(field, why):
        raise RingKernelError(f"{where}: {field} {why}")

    if not isinstance(raw["doc"], str) or not raw["doc"].strip() or "\n" in raw["doc"]:
        bad("doc", "must be one non-empty line")
    params = raw["params"]
    if not isinstance(params, list) or not all(isinstance(p, str) and p in PARAM_SPECS for p in params):
        bad("params", f"= {params!r}: each must be one of {', '.join(sorted(PARAM_SPECS))}")
    if raw["returns"] not in RETURNS:
        bad("returns", f"= {raw['returns']!r}: must be one of {', '.join(sorted(RETURNS))}")
    for generic in ("T", "E"):
        allowed = raw.get(generic, [])
        if not isinstance(allowed, list) or not all(t in SCALARS for t in allowed):
            bad(generic, f"= {allowed!r}: must list scalar type names ({', '.join(SCALARS)})")
        if (generic in params or raw["returns"] == generic) and not allowed:
            bad(generic, f"is missing: the entry uses the generic {generic} and must list its allowed types")
    for backend in BACKENDS:
        spell = raw.get(backend)
        if spell is not None and not (isinstance(spell, str) or isinstance(spell, dict) and
                                      all(isinstance(k, str) and isinstance(v, str) for k, v in spell.items())):
            bad(backend, "must be a spelling string or a table of type -> spelling")


def _entry(raw: dict[str, Any], source: str) -> Intrinsic:
    known = {"name", "category", "params", "returns", "doc", "kind", "T", "E", "aliases",
             "cuda_requires", "scope", *BACKENDS}
    missing = [k for k in ("name", "params", "returns", "doc") if k not in raw]
    if missing:
        raise RingKernelError(f"{source}: intrinsic {raw.get('name', '?')} lacks {', '.join(missing)}")
    unknown = sorted(set(raw) - known)
    if unknown:
        raise RingKernelError(f"{source}: intrinsic {raw['name']} has unknown field(s) {', '.join(unknown)} "
                              f"(known: {', '.join(sorted(known))})")
    kind = raw.get("kind", "expr")
    if kind not in KINDS:
        raise RingKernelError(f"{source}: intrinsic {raw['name']} has unknown kind {kind!r}")
    _check_values(raw, source)
    scope = raw.get("scope", "")
    if scope and scope not in SCOPES:
        raise RingKernelError(f"{source}: intrinsic {raw['name']} has unknown scope {scope!r} "
                              f"(known: {', '.join(sorted(SCOPES))})")
    return Intrinsic(
        name=raw["name"], category=raw.get("category", "misc"), params=tuple(ParamSpec(p) for p in raw["params"]),
        returns=ReturnSpec(raw["returns"]), doc=raw["doc"], spellings={b: raw[b] for b in BACKENDS if b in raw},
        kind=IntrinsicKind(kind),
        T=tuple(raw.get("T", ())), E=tuple(raw.get("E", ())), aliases=tuple(raw.get("aliases", ())),
        cuda_requires=tuple(raw.get("cuda_requires", ())), scope=scope, source=source)


def dsl_names() -> dict[str, Intrinsic]:
    """The entries importable from ringkernel_codegen.dsl: all but the ring context's operations,
    which a handler reaches through its context argument (ctx.now())."""
    return {n: e for n, e in table().items() if e.scope != "ring"}


@functools.lru_cache(maxsize=None)
def alias_map() -> dict[int, Intrinsic]:
    """id(python callable) -> intrinsic, for math.* and builtins used inside kernels."""
    out: dict[int, Intrinsic] = {}
    for entry in table().values():
        for alias in entry.aliases:
            module, _, attr = alias.rpartition(".")
            try:
                obj = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError):
                continue
            out[id(obj)] = entry
    return out


def missing_spellings(entries: dict[str, Intrinsic] | None = None) -> dict[str, list[str]]:
    """Per spelling column, the intrinsics whose table leaves that column out (the backend refuses them)."""
    entries = table() if entries is None else entries
    return {col: sorted(n for n, e in entries.items() if col not in e.spellings) for col in COLUMNS}
