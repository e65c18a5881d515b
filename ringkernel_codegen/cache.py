"""The compile cache: a kernel's typed IR, launch signature and emitted sources on disk, so a later
process skips the front end (libcst), the passes and the emitters when nothing the compile reads
has changed.

    entry = cache.lookup(k)          # at decoration: an Entry (a hit), or None (compile as usual)
    blob = cache.store(k, blob)      # after a successful compile, and again when a source is emitted

The key is a hash of everything the compile of a @kernel / @stencil reads:
- the compiler: diskcache.compiler_digest() (its files, numba's version file, Python's and numpy's
  versions; none when its files changed since this process imported them) and FORMAT below;
- the kernel's class, kind and decorator options;
- the function: module, qualified name, source file, first line and source text (spans name
  file:line, so moving a kernel down its file is a miss), defaults;
- every name its source mentions (Python's tokens: comments and string contents do not count; the
  function's parameters and locals excepted, which the resolver, collecting them first as Python
  does, never looks up outside) as the resolver sees it (builtins < module globals < closure
  variables), by value: numbers, strings, numpy scalars, dtypes and arrays (bytes, dtype, shape,
  strides; an array above LARGE_ARRAY bytes, which cannot be a kernel constant, by dtype, shape
  and strides), tuples, ringkernel types, intrinsics, and objects of trusted modules (math,
  typing, numpy, numba, ringkernel_codegen) by qualified name; other modules by the values of the
  attributes the source names; plain and @device functions recursively by the same rules. Anything else (a
  class, a list, an arbitrary object) makes the kernel uncacheable: it compiles as it always did.

An entry (diskcache.read/write: one pickle file, its folder and pruning there) holds the typed IR
(pickled on its own, with its digest checked at lookup, unpickled on the first read of k._f:
Entry.ir), the signature (signature.py), the kind's state (kinds.KernelKind.cache_state) and the
sources emitted so far, by backend name. Unreadable, corrupt or mismatching entries are misses,
never errors; a kernel whose compile fails is never stored, so its error is raised again each
time. RINGKERNEL_CACHE=0 turns the cache off. The files are pickles: the cache folder must be as
trusted as numba's.
"""
from __future__ import annotations

import builtins
import hashlib
import io
import pickle
import re
import sys
import tokenize
import types as pytypes

import numpy as np

from . import diskcache
from . import types as T
from .intrinsics import Intrinsic, table
from .signature import Signature

FORMAT = 1
# CUDA's constant memory is 64 KiB (passes/resolve_globals.MAX_CONSTANT_BYTES): a bigger module-level
# array can only be reached through attributes such as .shape, so its bytes need not be hashed
LARGE_ARRAY = 1 << 20
TRUSTED = ("builtins", "math", "cmath", "typing", "numpy", "numba", "ringkernel_codegen")
_NAME = re.compile(r"[A-Za-z_]\w*")


class Uncacheable(Exception):
    """Something the compile may read cannot be hashed: compile without the cache."""


def key(k) -> str | None:
    """The cache key of decorated kernel `k`, or None when something it reads cannot be hashed."""
    try:
        compiler = diskcache.compiler_digest()
        if compiler is None:
            return None
        desc = _Describer()
        parts = [FORMAT, compiler, f"{type(k).__module__}.{type(k).__qualname__}", k.kind.name,
                 desc.value(tuple(sorted(k.options.items())), frozenset()), desc.function(k.fn)]
    except Exception:  # noqa: BLE001 - Uncacheable, no source, ...: compile as without a cache
        return None
    return hashlib.sha256(repr(parts).encode()).hexdigest()


class _Describer:
    """Turns what a compile reads into a repr-able, deterministic description (see the module doc)."""

    def __init__(self):
        self.functions: dict[int, str] = {}

    def function(self, fn) -> tuple:
        from .kernel import KernelBase

        if id(fn) in self.functions:  # recursion (an error when compiled, but keep the key finite)
            return ("seen", self.functions[id(fn)])
        qualname = f"{fn.__module__}.{fn.__qualname__}"
        self.functions[id(fn)] = qualname
        import inspect

        lines, first = inspect.getsourcelines(fn)
        text = "".join(lines)
        code = fn.__code__
        names = _names(text) - set(code.co_varnames)
        ns = namespace(fn)
        own = fn.__name__
        found = []
        for name in sorted(names):
            if name not in ns:
                found.append((name, "absent"))
            elif name == own and isinstance(ns[name], KernelBase) and ns[name].name == own:
                found.append((name, "itself"))  # a re-run cell's previous kernel of the same name
            else:
                found.append((name, self.value(ns[name], names)))
        kwdefaults = tuple(sorted((fn.__kwdefaults__ or {}).items()))
        return ("function", qualname, inspect.getsourcefile(fn), first, text,
                self.value(fn.__defaults__, names), self.value(kwdefaults, names), tuple(found))

    def value(self, v, names) -> tuple:
        if v is None or isinstance(v, (bool, int, float, complex, str, bytes)):
            return (type(v).__name__, repr(v))
        if isinstance(v, tuple):
            return ("tuple", tuple(self.value(x, names) for x in v))
        if isinstance(v, np.ndarray):
            if v.dtype.hasobject:
                raise Uncacheable("an object array")
            if v.nbytes > LARGE_ARRAY:
                return ("large array", v.dtype.str, repr(v.dtype), v.shape, v.strides)
            digest = hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()
            return ("array", v.dtype.str, repr(v.dtype), v.shape, v.strides, digest)
        if isinstance(v, np.generic):
            if isinstance(v, np.object_):
                raise Uncacheable("an object scalar")
            return ("numpy scalar", repr(v.dtype), v.tobytes())
        if isinstance(v, np.dtype):
            return ("dtype", repr(v))
        if isinstance(v, (T.ScalarType, T.ArrayType, T.VoidType)):
            return ("type", type(v).__name__, repr(v), v.__dict__ and repr(sorted(v.__dict__.items())))
        if isinstance(v, T._FieldFactory):
            return ("field", v.ndim)
        if isinstance(v, Intrinsic):
            if table().get(v.name) is not v:
                raise Uncacheable(f"intrinsic {v.name} is not the table's")
            return ("intrinsic", v.name)
        if isinstance(v, pytypes.ModuleType):
            return self.module(v, names)
        from .kernel import DeviceFunction, KernelBase

        if isinstance(v, KernelBase):
            raise Uncacheable("another kernel object")
        if isinstance(v, DeviceFunction):
            return ("device", self.function(v.fn))
        qualified = _qualified(v)
        if qualified is not None:
            return ("qualified", qualified)
        if isinstance(v, pytypes.FunctionType):
            return self.function(v)
        if type(v).__module__.split(".")[0] == "numba":
            return ("numba", type(v).__qualname__, str(v))  # numba.float32 and other numba types
        raise Uncacheable(f"a {type(v).__name__}")

    def module(self, m, names) -> tuple:
        if m.__name__.split(".")[0] in TRUSTED:
            return ("module", m.__name__)
        if id(m) in self.functions:
            return ("seen", self.functions[id(m)])
        self.functions[id(m)] = m.__name__
        return ("module", m.__name__, tuple((n, self.value(getattr(m, n), names)) for n in sorted(names)
                                            if hasattr(m, n)))


def namespace(fn) -> dict:
    """What a name inside `fn` can refer to: builtins < module globals < closure variables (the
    resolver's view too: passes/resolve_globals.py takes it from here, which loads no IR class)."""
    ns = dict(vars(builtins))
    ns.update(getattr(fn, "__globals__", {}))
    code, closure = getattr(fn, "__code__", None), getattr(fn, "__closure__", None)
    if code is not None and closure:
        for name, cell in zip(code.co_freevars, closure):
            try:
                ns[name] = cell.cell_contents
            except ValueError:
                pass
    return ns


def _names(text: str) -> set:
    """The identifiers of `text` as Python tokenizes them (comments and string contents left out)."""
    out = set()
    lines = text.splitlines(True)
    indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
    body = "".join(l[indent:] if l.strip() else "\n" for l in lines)
    for tok in tokenize.generate_tokens(io.StringIO(body).readline):
        if tok.type == tokenize.NAME:
            out.add(tok.string)
        elif tok.type == tokenize.STRING and "f" in tok.string[:tok.string.find(tok.string[-1])].lower():
            out.update(_NAME.findall(tok.string))  # an f-string's fields: every identifier in it
    return out


def _qualified(v) -> str | None:
    """module.qualname when `v` is reached that way in a trusted module (builtins, math.sqrt, np.float32,
    ringkernel_codegen.dsl.global_id), else None."""
    module, qualname = getattr(v, "__module__", None), getattr(v, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or module.split(".")[0] not in TRUSTED:
        return None
    obj = sys.modules.get(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return f"{module}.{qualname}" if obj is v else None



# ------------------------------------------------------------------------------ entries
def _file(k, key_: str) -> str:
    return f"{re.sub(r'[^A-Za-z0-9_]', '_', k.name)[:40]}-{key_[:40]}.pkl"


class Entry:
    """A cache hit: what a launch reads (signature, kind state, emitted sources), the IR on first use."""

    def __init__(self, key_: str, data: dict):
        self.key = key_
        self.blob = data["ir"]
        self.signature = data["signature"]
        self.state = dict(data["state"])
        self.sources = dict(data["sources"])

    def ir(self):
        """The typed ir.Function, unpickled now; a failure raises (the caller compiles instead)."""
        return _Unpickler(io.BytesIO(self.blob)).load()


def lookup(k) -> Entry | None:
    """The entry of kernel `k` (a hit) or None (a miss, an unreadable entry, or the cache off); on
    None, k._cache_key says whether a successful compile may be stored."""
    k._cache_key = key(k) if diskcache.enabled() and k.kind.cacheable else None
    if k._cache_key is None:
        return None
    data = diskcache.read(_file(k, k._cache_key))
    try:
        if data["format"] != FORMAT or data["key"] != k._cache_key or \
                data["digest"] != hashlib.sha256(data["ir"]).hexdigest() or \
                not isinstance(data["signature"], Signature):
            return None
        return Entry(k._cache_key, data)
    except Exception:  # noqa: BLE001 - not an entry of ours: a miss
        return None


def store(k, blob: bytes | None = None) -> bytes | None:
    """Write kernel `k`'s entry (its IR, signature, kind state and emitted sources); returns the IR
    blob (pass it back next time to skip pickling again), or None when `k` cannot be stored. Never raises."""
    if getattr(k, "_cache_key", None) is None:
        return None
    try:
        if blob is None:
            buf = io.BytesIO()
            _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(k._f)
            blob = buf.getvalue()
        data = {"format": FORMAT, "key": k._cache_key, "ir": blob, "digest": hashlib.sha256(blob).hexdigest(),
                "signature": k._sig, "state": k.kind.cache_state(k), "sources": dict(k._sources)}
        payload = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - an IR that does not pickle is simply not cached
        k._cache_key = None
        return None
    diskcache.write(_file(k, k._cache_key), payload)
    return blob


class _Pickler(pickle.Pickler):
    """Intrinsics travel by name (the registry's objects are compared by identity). A DeviceRef
    travels without the Python function it names, which only type inference reads (it calls the
    function's compiled IR, DeviceRef.ir, which travels)."""

    def persistent_id(self, obj):
        return ("intrinsic", obj.name) if isinstance(obj, Intrinsic) else None

    def reducer_override(self, obj):
        from .passes.resolve_calls import DeviceRef

        if type(obj) is DeviceRef:
            return _device_ref, (obj.ir,)
        return NotImplemented


def _device_ref(f):
    from .passes.resolve_calls import DeviceRef

    ref = DeviceRef(None)
    ref.ir = f
    return ref


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        if pid[0] == "intrinsic":
            return table()[pid[1]]
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")


__all__ = ["Entry", "FORMAT", "Uncacheable", "key", "lookup", "store"]
