"""Backends and kernel kinds are objects in registries (ringkernel_codegen/backends.py, kinds.py):
unknown names are refused with the known ones, an unavailable backend says why, a new backend is
one registered object plus a provider, and the intrinsic table may leave a backend's column out."""
import sys
import types

import numpy as np
import pytest

from ringkernel_codegen import Field2D, backends, f32, i32, intrinsics, kernel, kinds, message, ring_kernel, stencil
from ringkernel_codegen.dsl import global_id
from ringkernel_codegen.errors import BackendUnavailableError, CodegenError, LaunchError, RingKernelError


@kernel
def scale(x: f32[:], a: f32, n: i32):
    i = global_id()
    if i < n:
        x[i] = a * x[i]


@message
class Pair:
    a: f32
    b: f32


@message
class Total:
    value: f32


@ring_kernel(input=Pair, output=Total)
def add(ctx, msg: Pair) -> Total:
    return Total(value=msg.a + msg.b)


@stencil(tile=(8, 8), halo=1)
def blur(u: Field2D[f32], out: Field2D[f32]):
    out[0, 0] = 0.25 * (u.north + u.south + u.east + u.west)


def test_unknown_backend_names_are_refused_listing_the_known_ones():
    with pytest.raises(RingKernelError, match=r"unknown backend 'gpu'; use one of 'cpu', 'numba', 'cuda'"):
        scale.to("gpu")
    with pytest.raises(RingKernelError, match="unknown backend"):
        blur.source("opencl")
    assert backends.names() == ("cpu", "numba", "cuda")


def test_a_backend_passes_through_and_names_and_objects_are_the_same_backend():
    assert backends.get(backends.CUDA) is backends.CUDA and backends.get("cuda") is backends.CUDA
    assert scale.source("cuda") == scale.source(backends.CUDA) == scale.cuda_source()
    assert backends.resolve("auto") is backends.default()


def test_without_a_gpu_the_default_is_cpu_and_gpu_backends_say_why_they_are_unavailable():
    if backends.CUDA.available():
        pytest.skip("this machine has a GPU")
    assert backends.default() is backends.CPU
    x = np.ones(8, np.float32)
    for name in ("cuda", "numba"):                      # numba without a GPU: refused, not a numba traceback
        with pytest.raises(BackendUnavailableError, match=f"the {name} backend is not available here \\(.+\\)"):
            scale.to(name)[1, 8](x, np.float32(2.0), np.int32(8))
    scale[1, 8](x, np.float32(2.0), np.int32(8))        # the default backend runs it
    np.testing.assert_array_equal(x, 2.0)


def test_a_new_backend_is_one_registered_object_and_a_provider(monkeypatch):
    """A backend that spells like the cpu one but launches through its own provider."""
    calls = []
    provider = types.ModuleType("fake_provider")
    provider.available = lambda: True
    provider.unavailable_reason = lambda: None

    def launch(k, grid, block, args):
        calls.append((k.name, grid, block, [type(a).__name__ for a in args]))
        from ringkernel_runtime.backends import cpu_backend
        cpu_backend.launch(k, grid, block, args)

    provider.launch = launch
    from ringkernel_runtime.backends.cpu import CpuActor
    provider.make_actor = lambda *a: CpuActor(*a)
    monkeypatch.setitem(sys.modules, "fake_provider", provider)
    fake = backends.Backend("fake", "a test backend", "cpu", "cpu_ring", "fake_provider",
                            accepts_device_arrays=False)
    monkeypatch.setitem(backends._registry, "fake", fake)

    x = np.ones(64, np.float32)
    scale.to("fake")[2, 32](x, 3.0, 64)
    assert calls == [("scale", (2, 1, 1), (32, 1, 1), ["ndarray", "float32", "int32"])]
    np.testing.assert_array_equal(x, 3.0)
    u = np.arange(100, dtype=np.float32).reshape(10, 10)
    out = np.zeros_like(u)
    blur.to("fake")(u, out)
    assert calls[-1][:3] == ("blur", (2, 2, 1), (8, 8, 1))   # the stencil kind's geometry
    want = 0.25 * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2])
    np.testing.assert_allclose(out[1:-1, 1:-1], want)

    from ringkernel_runtime import Runtime           # a Runtime on the new backend hosts actors through it
    with Runtime(backend="fake") as rt:
        assert rt.backend == "fake"
        h = rt.launch(add)
        h.send(Pair(a=1.0, b=2.5))
        assert h.receive(timeout=5.0).value == 3.5


def test_registering_a_name_twice_is_refused():
    with pytest.raises(RingKernelError, match="already registered"):
        backends.register(backends.Backend("cpu", "x", "cpu", "cpu_ring", "x", accepts_device_arrays=False))


def test_kinds_are_objects_that_decide_how_a_kernel_is_launched():
    assert scale.kind is kinds.KERNEL and blur.kind is kinds.STENCIL
    assert kinds.KINDS == {"kernel": kinds.KERNEL, "stencil": kinds.STENCIL, "ring": kinds.RING,
                           "persistent": kinds.PERSISTENT}
    with pytest.raises(LaunchError, match="stencil is launched without a grid"):
        blur.to("cpu")[1, 1]
    with pytest.raises(LaunchError, match=r"launch a kernel with a grid and block: scale\[blocks, threads\]"):
        scale.to("cpu")(np.ones(4, np.float32), 1.0, 4)
    u = np.zeros((4, 5), np.float32)
    with pytest.raises(LaunchError, match="stencil fields must share one shape"):
        blur.to("cpu")(u, np.zeros((5, 4), np.float32))


# -- the intrinsic table ------------------------------------------------------------------------------
def _write_table(folder, body):
    (folder / "t.toml").write_text(body)
    return intrinsics.load_table(folder)


def test_a_table_entry_may_leave_a_backend_out_and_the_loader_says_which(tmp_path):
    entries = _write_table(tmp_path, '''
[[intrinsic]]
name = "twice"
params = ["T"]
returns = "T"
T = ["f32"]
doc = "2x"
cuda = "(2 * {0})"
cpu = "{T}(2 * {0})"
''')
    e = entries["twice"]
    assert e.supported("cuda") and e.supported("cpu") and not e.supported("numba")
    assert e.spelling("numba") == "unsupported: t.toml gives no numba spelling"
    assert intrinsics.missing_spellings(entries) == {"cuda": [], "numba": ["twice"], "cpu": []}


def test_table_schema_errors_name_the_file_and_the_field(tmp_path):
    with pytest.raises(RingKernelError, match=r"t.toml: intrinsic bad lacks returns"):
        _write_table(tmp_path, '[[intrinsic]]\nname = "bad"\nparams = []\ndoc = "x"\n')
    with pytest.raises(RingKernelError, match=r"t.toml: intrinsic bad has unknown field\(s\) cdua"):
        _write_table(tmp_path, '[[intrinsic]]\nname = "bad"\nparams = []\nreturns = "void"\ndoc = "x"\ncdua = "x"\n')


def test_every_shipped_intrinsic_has_every_column_today():
    assert intrinsics.missing_spellings() == {col: [] for col in intrinsics.COLUMNS}


def test_a_backend_refuses_an_intrinsic_its_column_leaves_out_naming_the_line(monkeypatch):
    entry = intrinsics.table()["fma"]
    monkeypatch.delitem(entry.spellings, "numba")

    @kernel
    def fused(x: f32[:], y: f32[:]):
        i = global_id()
        y[i] = fma(x[i], x[i], y[i])

    with pytest.raises(CodegenError) as err:
        fused.numba_source()
    text = str(err.value)
    assert "fma() is not available on numba.cuda" in text and "gives no numba spelling" in text
    assert "test_backends.py" in text and "y[i] = fma(" in text          # file:line and the source line
    assert "fmaf" in fused.cuda_source() or "fma" in fused.cuda_source()


from ringkernel_codegen.dsl import fma  # noqa: E402  (used inside the kernel above)


def test_table_schema_values_are_checked_by_the_loader(tmp_path):
    """#8 item 7: a malformed value is refused when the table loads, naming file, entry and field."""
    base = '[[intrinsic]]\nname = "bad"\ndoc = "x"\ncuda = "f({0})"\n'
    cases = [
        ('params = ["float"]\nreturns = "void"\n', r"t.toml: intrinsic bad: params = \['float'\]: each must be"),
        ('params = ["f32"]\nreturns = "float"\n', r"t.toml: intrinsic bad: returns = 'float': must be one of"),
        ('params = ["T"]\nreturns = "T"\n', r"t.toml: intrinsic bad: T is missing: the entry uses the generic T"),
        ('params = ["T"]\nreturns = "T"\nT = ["float32"]\n', r"intrinsic bad: T = \['float32'\]: must list scalar"),
        ('params = ["f32"]\nreturns = "f32"\nnumba = 3\n', r"intrinsic bad: numba must be a spelling string"),
    ]
    for fields, message in cases:
        with pytest.raises(RingKernelError, match=message):
            _write_table(tmp_path, base + fields)
    with pytest.raises(RingKernelError, match=r"intrinsic bad: doc must be one non-empty line"):
        _write_table(tmp_path, '[[intrinsic]]\nname = "bad"\ndoc = ""\nparams = []\nreturns = "void"\n')
