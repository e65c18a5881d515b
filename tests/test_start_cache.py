"""The compile cache (ringkernel_codegen/cache.py): a second process launching an unchanged kernel
takes it from the cache (libcst never imported) and gets NumPy's result; anything the compile read
that changed (the kernel's source, a global constant, a @device callee in another file) is a miss
with the new, correct result; a corrupt entry is a miss; a front-end error is raised every time.

Each process test writes a kernel module into a temp folder of its own and runs a child Python
that launches `k(x, y, n)` on the cpu backend and reports its result, its error, and whether
libcst was imported. The children share one RINGKERNEL_CACHE_DIR (entries are keyed by the
module's path, so tests do not hit each other's; numba's cache of identical generated sources is
shared, which keeps the file fast).
"""
from __future__ import annotations

import importlib
import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

from ringkernel_codegen import KernelBase, backends, cache, f32, i32, kernel, signature
from ringkernel_codegen.dsl import global_id
from ringkernel_codegen.ir import printer
from tests.kernels import objects_of

ROOT = Path(__file__).resolve().parents[1]
N = 64
X = np.arange(N, dtype=np.float32)

DRIVER = f"""
import json, sys
import numpy as np
out = {{}}
try:
    import kmod
    x = np.arange({N}, dtype=np.float32)
    y = np.ones({N}, dtype=np.float32)
    kmod.k.to("cpu")[1, {N}](x, y, np.int32({N}))
    out["y"] = y.tolist()
    try:
        kmod.k.to("cpu")[1, {N}](x.astype(np.float64), y, np.int32({N}))
    except Exception as exc:
        out["launch_error"] = f"{{type(exc).__name__}}: {{exc}}"
    out["ir"] = kmod.k.ir()
    out["params"] = [p.name for p in kmod.k.params]
except Exception as exc:
    out["error"] = f"{{type(exc).__name__}}: {{exc}}"
out["libcst"] = "libcst" in sys.modules
print(json.dumps(out))
"""

HEADER = """
import numpy as np
from ringkernel_codegen import kernel, device, f32, i32
from ringkernel_codegen.dsl import global_id
"""


def kernel_module(expr: str, prelude: str = "") -> str:
    """A module whose @kernel k(x, y, n) writes y[i] = <expr> (of x[i] as xi)."""
    return HEADER + textwrap.dedent(prelude) + textwrap.dedent(f"""

    @kernel
    def k(x: f32[:], y: f32[:], n: i32):
        i = global_id()
        if i < n:
            xi = x[i]
            y[i] = {expr}
    """)


def run(folder: Path, cache: Path, **env) -> dict:
    environ = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{folder}", "RINGKERNEL_CACHE_DIR": str(cache), **env}
    if "RINGKERNEL_CACHE" not in env:
        environ.pop("RINGKERNEL_CACHE", None)
    done = subprocess.run([sys.executable, "-c", DRIVER], cwd=folder, env=environ, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def entries(cache: Path) -> set:
    return set((cache / "kernels").glob("k-*.pkl")) if (cache / "kernels").is_dir() else set()  # kernel k


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("rk_cache")


@pytest.fixture
def dirs(tmp_path, cache_dir):
    src = tmp_path / "src"
    src.mkdir()
    return src, cache_dir


def test_second_process_hits_without_libcst(dirs):
    src, cache = dirs
    (src / "kmod.py").write_text(kernel_module("2.0 * xi + 1.0"))
    before = entries(cache)
    first, second = run(src, cache), run(src, cache)
    expect = (2.0 * X + 1.0).tolist()
    assert first["y"] == expect and first["libcst"]            # compiled: the front end ran
    assert second["y"] == expect and not second["libcst"]      # from the cache
    assert second["ir"] == first["ir"] and second["params"] == ["x", "y", "n"]
    assert second["launch_error"] == first["launch_error"]            # argument checks read the signature
    assert first["launch_error"].startswith("LaunchError: argument 'x' must have dtype float32")
    assert len(entries(cache) - before) == 1
    off = run(src, cache, RINGKERNEL_CACHE="0")                 # the cache turned off: compiled again
    assert off["y"] == expect and off["libcst"]


def test_edited_kernel_source_is_a_miss(dirs):
    src, cache = dirs
    (src / "kmod.py").write_text(kernel_module("2.0 * xi + 1.0"))
    run(src, cache)
    (src / "kmod.py").write_text(kernel_module("xi * xi - 3.0"))
    after = run(src, cache)
    assert after["libcst"] and after["y"] == (X * X - 3.0).tolist()


def test_changed_global_constant_is_a_miss(dirs):
    src, cache = dirs
    (src / "kmod.py").write_text(kernel_module("SCALE * xi", prelude="SCALE = 2.0\nTABLE = np.arange(4.0)\n"))
    assert run(src, cache)["y"] == (2.0 * X).tolist()
    (src / "kmod.py").write_text(kernel_module("SCALE * xi", prelude="SCALE = 5.0\nTABLE = np.arange(4.0)\n"))
    after = run(src, cache)
    assert after["libcst"] and after["y"] == (5.0 * X).tolist()


def test_changed_device_callee_in_another_file_is_a_miss(dirs):
    src, cache = dirs
    helper = "from ringkernel_codegen import device, f32\n\n\n@device\ndef f(v: f32) -> f32:\n    return v + {}\n"
    (src / "helpers.py").write_text(helper.format("1.0"))
    (src / "kmod.py").write_text(kernel_module("helpers.f(xi)", prelude="import helpers\n"))
    assert run(src, cache)["y"] == (X + 1.0).tolist()
    assert not run(src, cache)["libcst"]
    (src / "helpers.py").write_text(helper.format("7.0"))      # kmod.py itself is unchanged
    after = run(src, cache)
    assert after["libcst"] and after["y"] == (X + 7.0).tolist()


def test_corrupt_entry_is_a_miss(dirs):
    src, cache = dirs
    (src / "kmod.py").write_text(kernel_module("2.0 * xi + 1.0"))
    before = entries(cache)
    run(src, cache)
    (path,) = entries(cache) - before
    good = path.read_bytes()
    for damaged in (b"not a pickle", good[: len(good) // 2]):
        path.write_bytes(damaged)
        after = run(src, cache)
        assert "error" not in after and after["libcst"] and after["y"] == (2.0 * X + 1.0).tolist()
        stored = pickle.loads(path.read_bytes())              # the miss stored a whole entry again
        assert stored["key"] == pickle.loads(good)["key"] and set(stored["sources"]) == {"cpu"}


def test_front_end_error_is_reported_every_time(dirs):
    src, cache = dirs
    (src / "kmod.py").write_text(kernel_module("xi + undefined_name"))
    line = next(n for n, text in enumerate((src / "kmod.py").read_text().splitlines(), 1) if "undefined_name" in text)
    before = entries(cache)
    first, second = run(src, cache), run(src, cache)
    for out in (first, second):
        assert out["error"].startswith("CodegenError") and f"kmod.py:{line}:" in out["error"]
        assert "unknown name 'undefined_name'" in out["error"] and out["libcst"]
    assert second["error"] == first["error"] and entries(cache) == before


def test_import_loads_no_front_end_or_gpu_stack():
    code = ("import sys, ringkernel_codegen, ringkernel_codegen.dsl\n"
            "print(sorted(m for m in ('libcst', 'jinja2', 'numba.cuda', 'cuda', 'cuda.bindings') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# ------------------------------------------------------------------ in this process
def corpus() -> list:
    out = []
    for path in sorted((ROOT / "tests" / "kernels").glob("*_kernels.py")):
        module = importlib.import_module(f"tests.kernels.{path.stem}")
        out += [k for _, _, k in objects_of(module, KernelBase) if k.kind.cacheable]
    return out


def round_trip(f):
    buf = io.BytesIO()
    cache._Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(f)
    return cache._Unpickler(io.BytesIO(buf.getvalue())).load()


def emitted(k, f, backend):
    """What `backend`'s emitter writes for kernel k with IR f (or the error type it raises)."""
    holder = types.SimpleNamespace(**{**k.__dict__, "_f": f})
    try:
        return k.kind.emit(holder, backend.emit_module())
    except Exception as exc:  # noqa: BLE001 - a backend refusing the kernel must refuse the copy too
        return type(exc)


def test_ir_pickles_and_emits_the_same_sources():
    """Every cacheable corpus kernel's typed IR, compiled afresh, survives the cache's pickling: the
    same printed IR, the same launch signature and byte-identical sources from every emitter."""
    kernels = corpus()
    assert len(kernels) > 50
    for k in kernels:
        fresh = k.kind.compile(k)
        copy = round_trip(fresh)
        assert printer.function(copy) == printer.function(fresh), k.name
        assert signature.of(copy) == signature.of(fresh), k.name
        for b in (backends.CPU, backends.NUMBA, backends.CUDA):
            assert emitted(k, copy, b) == emitted(k, fresh, b), (k.name, b.name)


def load(path: Path, name: str):
    """Import the module at `path` as `name` afresh (its kernels decorated again)."""
    sys.modules.pop(name, None)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def in_process(tmp_path, monkeypatch):
    monkeypatch.setenv("RINGKERNEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RINGKERNEL_CACHE", raising=False)
    return tmp_path


def test_key_follows_what_the_compile_reads(in_process):
    def key(name, expr, prelude="", comment=""):
        path = in_process / f"{name}.py"
        path.write_text(kernel_module(expr, prelude=prelude).replace("i = global_id()", f"i = global_id()  {comment}"))
        return cache.key(load(path, name).k)

    base = key("m1", "xi + A", "A = 1.0\n")
    assert base is not None and base == key("m1", "xi + A", "A = 1.0\n")
    assert key("m1", "xi + A", "A = 2.0\n") != base                    # a global's value
    assert key("m1", "xi + A", "A = np.float32(1.0)\n") != base        # ... and its type
    assert key("m2", "xi + A", "A = 1.0\n") != base                    # another file (spans name it)
    assert key("m1", "xi + A", "A = 1.0\nL = [1]\n", comment="# L") is not None   # comments are not read
    # an object the resolver reads an attribute of cannot be hashed: compiled every time, still right
    assert key("m1", "xi + cfg.A", "import types\ncfg = types.SimpleNamespace(A=1.0)\n") is None
    # a big array (never a constant) by dtype and shape only
    big = key("m1", "xi + BIG.shape[0]", "BIG = np.zeros(1 << 19)\n")
    assert big is not None and big == key("m1", "xi + BIG.shape[0]", "BIG = np.ones(1 << 19)\n")
    assert big != key("m1", "xi + BIG.shape[0]", "BIG = np.ones((1 << 19) + 1)\n")


def make_scaled(scale):
    @kernel
    def scaled(x: f32[:], y: f32[:], n: i32):
        i = global_id()
        if i < n:
            y[i] = scale * x[i]

    return scaled


def test_closure_values_are_keyed():
    two = make_scaled(2.0)
    ns = cache.namespace(two.fn)  # the resolver's namespace too (passes/resolve_globals.py)
    assert ns["scale"] == 2.0 and ns["global_id"] is global_id and ns["len"] is len
    assert cache.key(two) == cache.key(make_scaled(2.0)) != cache.key(make_scaled(3.0))


def test_unreadable_ir_on_a_hit_is_compiled(in_process, monkeypatch):
    path = in_process / "hitmod.py"
    path.write_text(kernel_module("xi * 3.0"))
    load(path, "hitmod")
    k = load(path, "hitmod").k
    assert "_cached" in k.__dict__ and "_f" not in k.__dict__          # a hit: the IR not loaded yet

    def broken(self):
        raise pickle.UnpicklingError("damaged")

    monkeypatch.setattr(cache.Entry, "ir", broken)
    y = np.ones(N, np.float32)
    k.to("cpu")[1, N](X, y, N)
    assert y.tolist() == (X * 3.0).tolist() and "xi" in k.ir()


def test_remembered_values_and_pruning(in_process, monkeypatch):
    from ringkernel_codegen import diskcache

    calls = []

    def make():
        calls.append(1)
        return {"table": [1, 2, 3]}

    assert diskcache.remembered("probe", make) == diskcache.remembered("probe", make) == {"table": [1, 2, 3]}
    assert len(calls) == 1                                             # the second came from the file
    (path,) = (in_process / "cache" / "kernels").glob("probe-*.pkl")
    path.write_bytes(b"\x80garbage")
    assert diskcache.remembered("probe", make) == {"table": [1, 2, 3]} and len(calls) == 2
    monkeypatch.setattr(diskcache, "MAX_FILES", 8)
    for i in range(12):
        diskcache.write(f"filler-{i}.pkl", b"x")
    assert len(list(path.parent.iterdir())) < 12                      # the oldest were removed


def test_compiler_files_changed_since_import_disable_the_cache(monkeypatch):
    """A process whose compiler files were edited after it imported them runs code the files no
    longer describe: it neither reads nor writes entries."""
    from ringkernel_codegen import diskcache

    files, _ = diskcache._LOADED
    monkeypatch.setattr(diskcache, "_LOADED", (files, "0" * 64))   # as if the files had changed since
    diskcache.compiler_digest.cache_clear()
    try:
        assert diskcache.compiler_digest() is None
        assert cache.key(make_scaled(2.0)) is None
        assert diskcache.remembered("probe-edited", lambda: 5) == 5
    finally:
        diskcache.compiler_digest.cache_clear()
