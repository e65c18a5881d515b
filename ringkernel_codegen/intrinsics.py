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
                                  "default"); or "unsupported: <reason>"
    aliases                       Python callables mapped to this intrinsic ("math.sqrt", "builtins.min")
    cuda_requires                 extra CUDA headers (e.g. "cooperative_groups")
"""
from __future__ import annotations

import functools
import importlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import RingKernelError

KINDS = {"expr", "barrier", "warp_collective", "block_collective", "alloc", "grid_barrier"}
BACKENDS = ("cuda", "numba", "cpu")


@dataclass(frozen=True, eq=False)
class Intrinsic:
    name: str
    category: str
    params: tuple
    returns: str
    doc: str
    spellings: dict  # backend -> str | dict
    kind: str = "expr"
    T: tuple = ()
    E: tuple = ()
    aliases: tuple = ()
    cuda_requires: tuple = ()
    source: str = ""
    extra: dict = field(default_factory=dict)

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
        spell = self.spellings.get(backend, "unsupported: no spelling given")
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
    """Every intrinsic by name, loaded once from intrinsics/*.toml."""
    out: dict[str, Intrinsic] = {}
    for path in sorted(data_dir("intrinsics").glob("*.toml")):
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
        for raw in doc.get("intrinsic", []):
            entry = _entry(raw, path.name)
            if entry.name in out:
                raise RingKernelError(f"intrinsic {entry.name} defined twice ({out[entry.name].source}, {path.name})")
            out[entry.name] = entry
    return out


def _entry(raw: dict[str, Any], source: str) -> Intrinsic:
    known = {"name", "category", "params", "returns", "doc", "kind", "T", "E", "aliases",
             "cuda_requires", *BACKENDS}
    missing = [k for k in ("name", "params", "returns", "doc", *BACKENDS) if k not in raw]
    if missing:
        raise RingKernelError(f"{source}: intrinsic {raw.get('name', '?')} lacks {', '.join(missing)}")
    kind = raw.get("kind", "expr")
    if kind not in KINDS:
        raise RingKernelError(f"{source}: intrinsic {raw['name']} has unknown kind {kind!r}")
    return Intrinsic(
        name=raw["name"], category=raw.get("category", "misc"), params=tuple(raw["params"]),
        returns=raw["returns"], doc=raw["doc"], spellings={b: raw[b] for b in BACKENDS}, kind=kind,
        T=tuple(raw.get("T", ())), E=tuple(raw.get("E", ())), aliases=tuple(raw.get("aliases", ())),
        cuda_requires=tuple(raw.get("cuda_requires", ())), source=source,
        extra={k: v for k, v in raw.items() if k not in known})


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


def lookup(name: str) -> Intrinsic:
    try:
        return table()[name]
    except KeyError:
        raise RingKernelError(f"unknown intrinsic {name!r}") from None
