"""The `ringkernel-codegen` command line: emit, check (errors mapped to Python lines), intrinsics."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from ringkernel_codegen import cli
from ringkernel_codegen.kernel import KernelBase

ROOT = Path(__file__).resolve().parents[1]

KERNELS = textwrap.dedent("""\
    from ringkernel_codegen import kernel, stencil, f32, i32, Field2D
    from ringkernel_codegen.dsl import global_id


    @kernel
    def saxpy(a: f32, x: f32[:], y: f32[:], n: i32):
        i = global_id()
        if i < n:
            y[i] = a * x[i] + y[i]


    @stencil(tile=(16, 16), halo=1)
    def heat(u: Field2D[f32], out: Field2D[f32], alpha: f32):
        out[0, 0] = u[0, 0] + alpha * (u.north + u.south + u.east + u.west - 4.0 * u[0, 0])
    """)

BROKEN = textwrap.dedent("""\
    from ringkernel_codegen import kernel, f32, i32
    from ringkernel_codegen.dsl import global_id


    @kernel
    def broken(x: f32[:], n: i32):
        i = global_id()
        f = lambda v: v + 1
        x[i] = f(x[i])
    """)


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle` (the test's own reference)."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture
def kernels_py(tmp_path) -> Path:
    path = tmp_path / "cli_kernels.py"
    path.write_text(KERNELS)
    return path


def compilers() -> list:
    out = [pytest.param("nvcc", marks=[pytest.mark.nvcc,
                                       pytest.mark.skipif(shutil.which("nvcc") is None, reason="no nvcc")])]
    try:
        from ringkernel_codegen.nvrtc import nvrtc_version

        nvrtc_version()
        out.append("nvrtc")
    except Exception:  # noqa: BLE001 - no NVRTC here: that compiler is simply not tested
        out.append(pytest.param("nvrtc", marks=pytest.mark.skip(reason="NVRTC unavailable")))
    return out


# ---------------------------------------------------------------------------- emit
def test_emit_writes_one_cu_file_per_kernel(kernels_py, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["emit", str(kernels_py), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["heat.cu", "saxpy.cu"]
    assert 'extern "C" __global__' in (out / "saxpy.cu").read_text()
    assert "wrote" in capsys.readouterr().out


def test_emit_numba_backend_writes_name_numba_py(kernels_py, tmp_path):
    out = tmp_path / "out"
    assert cli.main(["emit", str(kernels_py), "--backend", "numba", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["heat_numba.py", "saxpy_numba.py"]
    compile((out / "saxpy_numba.py").read_text(), "saxpy_numba.py", "exec")  # valid Python


def test_emit_dash_k_selects_one_kernel(kernels_py, tmp_path):
    out = tmp_path / "out"
    assert cli.main(["emit", str(kernels_py), "-k", "heat", "-o", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == ["heat.cu"]


def test_emit_is_byte_identical_on_rerun(kernels_py, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert cli.main(["emit", str(kernels_py), "-o", str(first)]) == 0
    assert cli.main(["emit", str(kernels_py), "-o", str(second)]) == 0
    for name in ("saxpy.cu", "heat.cu"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_emit_unknown_kernel_name_is_an_error_listing_the_kernels(kernels_py, tmp_path, capsys):
    assert cli.main(["emit", str(kernels_py), "-k", "nope", "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "'nope'" in err and "heat, saxpy" in err


def test_emit_file_without_kernels_is_an_error(tmp_path, capsys):
    path = tmp_path / "empty_module.py"
    path.write_text("X = 1\n")
    assert cli.main(["emit", str(path), "-o", str(tmp_path)]) == 1
    assert "no kernels found" in capsys.readouterr().err


def test_exception_while_importing_names_the_line_without_traceback(tmp_path, capsys):
    path = tmp_path / "raises_on_import.py"
    path.write_text("import math\nVALUE = 1 / 0\n")
    assert cli.main(["emit", str(path), "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2:" in err and "ZeroDivisionError" in err and "Traceback" not in err


# ---------------------------------------------------------------------------- errors
def test_codegen_error_prints_location_caret_and_hint_and_exits_1(tmp_path, capsys):
    path = tmp_path / "broken_kernel.py"
    path.write_text(BROKEN)
    line = line_of(BROKEN, "lambda")
    col = BROKEN.splitlines()[line - 1].index("lambda") + 1
    assert cli.main(["emit", str(path), "-o", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    err_lines = captured.err.splitlines()
    assert err_lines[0].startswith(f"{path}:{line}:{col}: error:")
    assert err_lines[1].strip() == "f = lambda v: v + 1"
    assert err_lines[2].index("^") == err_lines[1].index("lambda")
    assert any(s.startswith("hint:") for s in err_lines)
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_usage_error_exits_2(capsys):
    assert cli.main(["emit"]) == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["emit"], ["check"], ["intrinsics"]])
def test_help_exits_0(command, capsys):
    assert cli.main([*command, "--help"]) == 0
    assert "usage: ringkernel-codegen" in capsys.readouterr().out


# ---------------------------------------------------------------------------- check
def test_map_diagnostics_uses_nearest_preceding_source_comment(tmp_path):
    py = tmp_path / "mapped.py"
    py.write_text("def k(x):\n    a = 1\n    x[0] = a\n")
    cu = "\n".join([
        "#include <x>",                         # 1: before any comment: stays a .cu location
        "// mapped.py:2: a = 1",                # 2
        "a = 1;",                               # 3
        "// mapped.py:3: x[0] = a",             # 4
        "x[0] =",                               # 5
        "    a;",                               # 6
    ])
    log = ("k.cu(1): error: cannot open source file \"x\"\n"
           "k.cu(6): error: identifier \"a\" is undefined\n"
           "      a;\n      ^\n"
           "k.cu:3:1: warning: something\n"
           "2 errors detected in the compilation of \"k.cu\".\n")
    diags = cli.map_diagnostics(cu, log, {"mapped.py": str(py)})
    assert [(d.severity, d.cu_line, d.py_line) for d in diags] == [
        ("error", 1, None), ("error", 6, 3), ("warning", 3, 2)]
    assert diags[1].py_file == str(py) and diags[1].py_text == "x[0] = a"
    assert diags[1].render().startswith(f"{py}:3: error: identifier \"a\" is undefined\n    x[0] = a")
    assert diags[0].render() == "k.cu:1: error: cannot open source file \"x\""


@pytest.mark.parametrize("compiler", compilers())
def test_check_compiles_every_kernel(kernels_py, compiler, capsys):
    assert cli.main(["check", str(kernels_py), "--compiler", compiler]) == 0
    out = capsys.readouterr().out
    assert "ok      saxpy" in out and "ok      heat" in out and "2 kernel(s) compiled" in out


@pytest.mark.parametrize("compiler", compilers())
def test_check_maps_compiler_error_to_python_line(kernels_py, compiler, monkeypatch, capsys):
    """A kernel that passes the front end but whose CUDA does not compile (an undefined call is
    injected right below the comment of the stencil's statement) is reported at that Python line."""
    original = KernelBase.cuda_source
    py_line = line_of(KERNELS, "out[0, 0] =")
    marker = f"// {kernels_py.name}:{py_line}: "

    def injected(self):
        src = original(self)
        if self.name != "heat":
            return src
        lines = src.splitlines()
        at = next(i for i, s in enumerate(lines) if s.strip().startswith(marker))
        lines.insert(at + 2, "    rk_no_such_function();")
        return "\n".join(lines) + "\n"

    monkeypatch.setattr(KernelBase, "cuda_source", injected)
    assert cli.main(["check", str(kernels_py), "--compiler", compiler]) == 1
    captured = capsys.readouterr()
    assert "ok      saxpy" in captured.out and "FAILED  heat" in captured.out
    err = captured.err.splitlines()
    first = next(i for i, s in enumerate(err) if s.startswith(f"{kernels_py}:{py_line}: error:"))
    assert "rk_no_such_function" in err[first]
    assert err[first + 1].strip() == KERNELS.splitlines()[py_line - 1].strip()
    assert "Traceback" not in captured.err


# ---------------------------------------------------------------------------- intrinsics
def toml_intrinsic_names() -> set:
    names = set()
    for path in (ROOT / "intrinsics").glob("*.toml"):
        with open(path, "rb") as fh:
            names |= {e["name"] for e in tomllib.load(fh).get("intrinsic", [])}
    return names


def test_intrinsics_markdown_has_one_row_per_intrinsic(capsys):
    assert cli.main(["intrinsics", "--markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| name | signature | category | cuda | numba | cpu | doc |"
    rows = [s for s in lines[2:] if s.startswith("| `")]
    assert {s.split("`")[1] for s in rows} == toml_intrinsic_names()
    syncthreads = next(s for s in rows if s.startswith("| `sync_threads` |"))
    assert "| yes | yes | yes |" in syncthreads


def test_intrinsics_text_lists_every_intrinsic(capsys):
    assert cli.main(["intrinsics"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "signature", "category", "backends", "doc"]
    assert {s.split()[0] for s in lines[2:]} == toml_intrinsic_names()


# ---------------------------------------------------------------------------- as a program
def run_cli(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ringkernel_codegen.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_program_emits_the_same_bytes_as_in_process(kernels_py, tmp_path):
    assert cli.main(["emit", str(kernels_py), "-o", str(tmp_path / "inproc")]) == 0
    proc = run_cli("emit", str(kernels_py), "-o", str(tmp_path / "sub"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in ("saxpy.cu", "heat.cu"):
        assert (tmp_path / "sub" / name).read_bytes() == (tmp_path / "inproc" / name).read_bytes()


def test_program_reports_codegen_error_without_traceback(tmp_path):
    path = tmp_path / "broken_kernel.py"
    path.write_text(BROKEN)
    proc = run_cli("emit", str(path), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 1
    assert f"{path}:{line_of(BROKEN, 'lambda')}:" in proc.stderr and "^" in proc.stderr
    assert "Traceback" not in proc.stderr


RING = textwrap.dedent("""\
    from ringkernel_codegen import f32, message, ring_kernel


    @message
    class Add:
        a: f32
        b: f32


    @message
    class Sum:
        value: f32


    @ring_kernel(input=Add, output=Sum)
    def adder(ctx, msg: Add) -> Sum:
        return Sum(value=msg.a + msg.b)
    """)


def test_ring_kernels_are_emitted_for_cuda_and_numba_and_compile(tmp_path, capsys):
    py = tmp_path / "cli_ring.py"
    py.write_text(RING)
    assert cli.main(["emit", str(py), "-o", str(tmp_path / "cu")]) == 0
    cu = (tmp_path / "cu" / "adder.cu").read_text()
    assert 'extern "C" __global__' in cu and "rk_actor_adder" in cu
    assert f"// {py.name}:{line_of(RING, 'return Sum')}: return Sum(value=msg.a + msg.b)" in cu
    assert cli.main(["emit", str(py), "--backend", "numba", "-o", str(tmp_path / "nb")]) == 0
    nb = (tmp_path / "nb" / "adder_numba.py").read_text()
    compile(nb, "adder_numba.py", "exec")                      # valid Python
    assert "def rk_actor_adder(" in nb and "@cuda.jit" in nb
    assert cli.main(["check", str(py)]) == 0
    assert "ok      adder" in capsys.readouterr().out


# ---------------------------------------------------------------------------- first-hour behaviours
def test_emit_without_output_writes_into_build_not_the_current_folder(kernels_py, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["emit", str(kernels_py)]) == 0
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == ["heat.cu", "saxpy.cu"]
    assert not list(tmp_path.glob("*.cu"))
    assert f"wrote {Path('build') / 'saxpy.cu'}" in capsys.readouterr().out


def test_emit_cpu_writes_the_cpu_emulator_module(kernels_py, tmp_path):
    assert cli.main(["emit", str(kernels_py), "--backend", "cpu", "-o", str(tmp_path)]) == 0
    text = (tmp_path / "saxpy_cpu.py").read_text()
    assert "def _rk_launch(" in text and "@njit" in text


def test_version_prints_the_package_version(capsys):
    from ringkernel_codegen import __version__
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ringkernel-codegen {__version__}"


def test_an_unknown_category_lists_the_valid_ones(capsys):
    assert cli.main(["intrinsics", "--category", "bogus"]) == 1
    err = capsys.readouterr().err
    assert "no intrinsics in category 'bogus'; categories:" in err and "atomics" in err and "warp" in err


def test_a_usage_error_lists_the_valid_choices_and_exits_2(capsys):
    assert cli.main(["emit", "x.py", "--backend", "opencl"]) == 2
    assert "choose from cpu, numba, cuda" in capsys.readouterr().err.replace("'", "")


def test_intrinsics_name_shows_one_intrinsic_in_full(capsys):
    from ringkernel_codegen.intrinsics import table
    e = table()["atomic_add"]
    assert cli.main(["intrinsics", "atomic_add"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"atomic_add{e.signature()}") and e.doc in out
    for col in ("cuda", "numba", "cpu"):                 # each backend's spelling, from the table
        assert f"{e.spellings[col]}" in out


def test_an_unknown_intrinsic_name_suggests_close_ones(capsys):
    assert cli.main(["intrinsics", "atomc_add"]) == 1
    assert "no intrinsic named 'atomc_add'; did you mean atomic_add" in capsys.readouterr().err
