"""Errors from ptxas and nvlink (not only the C++ front end) come back as one error naming the kernel
and, through the PTX's `-lineinfo` `.loc` directives, the Python line; otherwise the kernel and a hint."""
from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ringkernel_codegen import cli
from ringkernel_codegen.errors import CompileError, RingKernelError
from ringkernel_codegen.nvrtc.diagnose import kernel_compile_error, map_tool_diagnostics, nvrtc_kernel_error

CLUSTER = textwrap.dedent("""\
    from ringkernel_codegen import f32, i32, kernel
    from ringkernel_codegen.dsl import cluster_sync, global_id


    @kernel(cluster=2)
    def pairs(x: f32[:], n: i32):
        i = global_id()
        if i < n:
            x[i] = x[i] + 1.0
        cluster_sync()
    """)


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def nvrtc_here() -> bool:
    try:
        from ringkernel_codegen.nvrtc import nvrtc_version

        nvrtc_version()
        return True
    except Exception:  # noqa: BLE001
        return False


COMPILERS = [
    pytest.param("nvcc", marks=[pytest.mark.nvcc, pytest.mark.skipif(shutil.which("nvcc") is None, reason="no nvcc")]),
    pytest.param("nvrtc", marks=pytest.mark.skipif(not nvrtc_here(), reason="NVRTC unavailable")),
]


@pytest.fixture
def cluster_py(tmp_path) -> Path:
    path = tmp_path / "cluster_kernels.py"
    path.write_text(CLUSTER)
    return path


# ---------------------------------------------------------------------------- the CLI, end to end
@pytest.mark.parametrize("compiler", COMPILERS)
def test_check_for_an_arch_without_clusters_names_the_kernel_and_the_cluster_sync_line(cluster_py, compiler):
    """sm_80 has no cluster barrier: ptxas refuses the PTX; the user sees the Python line, not PTX."""
    proc = subprocess.run([sys.executable, "-m", "ringkernel_codegen.cli", "check", str(cluster_py),
                           "--arch", "sm_80", "--compiler", compiler],
                          capture_output=True, text=True, timeout=300, cwd=cluster_py.parent)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED  pairs" in proc.stdout
    err = proc.stderr.splitlines()
    assert err[0] == "kernel pairs failed to compile for sm_80 (%s):" % compiler
    where = f"{cluster_py}:{line_of(CLUSTER, 'cluster_sync()')}: ptxas error: Feature 'barrier.cluster."
    first = next(i for i, s in enumerate(err) if s.startswith(where))
    assert err[first + 1].strip() == "cluster_sync()"
    assert any(s.startswith("hint: kernel pairs uses a feature of sm_90 or newer") for s in err)
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("compiler", COMPILERS)
def test_the_same_kernel_compiles_for_sm_90_and_exits_0(cluster_py, compiler, capsys):
    assert cli.main(["check", str(cluster_py), "--compiler", compiler]) == 0
    assert "ok      pairs" in capsys.readouterr().out


@pytest.mark.skipif(not nvrtc_here(), reason="NVRTC unavailable")
def test_the_cuda_backend_explains_an_nvrtc_failure_at_the_python_line(tmp_path):
    """What `.to("cuda")` raises when NVRTC refuses (run here without a GPU: the compile alone)."""
    from ringkernel_codegen.nvrtc import compile_cuda

    cluster_py = tmp_path / "cluster_kernels_api.py"   # a module name no other test imports
    cluster_py.write_text(CLUSTER)
    sys.path.insert(0, str(tmp_path))
    try:
        pairs = importlib.import_module("cluster_kernels_api").pairs
    finally:
        sys.path.remove(str(tmp_path))
    with pytest.raises(CompileError) as raw:
        compile_cuda(pairs.cuda_source(), arch="sm_80", program_name="pairs.cu")
    explained = nvrtc_kernel_error(pairs, raw.value, arch="sm_80")
    assert isinstance(explained, RingKernelError)
    text = str(explained)
    assert text.startswith("kernel pairs failed to compile for sm_80:")
    assert f"{cluster_py}:{line_of(CLUSTER, 'cluster_sync()')}: ptxas error:" in text
    assert "print(pairs.cuda_source())" in text


# ---------------------------------------------------------------------------- the mapping, by hand
CU = "\n".join([
    "__device__ void helper() {",                    # 1
    "    asm volatile(\"barrier.cluster.arrive;\");",  # 2
    "}",                                             # 3
    "// k.py:7: cluster_sync()",                     # 4
    "helper();",                                     # 5
    "// k.py:9: x[i] = 1.0",                         # 6
    "x[i] = 1.0f;",                                  # 7
])

PTX = "\n".join([
    "\t.loc\t1 7 5",                                                               # 1
    "\tst.global.f32 [%rd1], %f1;",                                                # 2
    "\t.loc\t1 2 5, function_name $L__info_string0, inlined_at 1 5 5",             # 3
    "\tbarrier.cluster.arrive;",                                                   # 4
    "\t.loc\t2 40 1",                                                              # 5: a header's line
    "\tmov.u32 %r1, %r2;",                                                         # 6
    '\t.file\t1 "/tmp/x/k.cu"',
    '\t.file\t2 "/usr/include/cuda_runtime.h"',
])


def test_a_ptxas_error_maps_through_loc_and_inlined_at_to_the_python_line():
    log = ("ptxas /tmp/a.ptx, line 4; error   : Feature 'barrier.cluster.arrive' requires .target sm_90 or higher\n"
           "ptxas /tmp/a.ptx, line 2; warning : something about a store\n"
           "ptxas fatal   : Ptx assembly aborted due to errors\n")
    diags = map_tool_diagnostics(CU, log, PTX, {}, cu_name="k.cu")
    assert [(d.severity, d.cu_line, d.py_line, d.ptx_line) for d in diags] == [
        ("error", 5, 7, 4), ("warning", 7, 9, 2)]
    assert diags[0].render().startswith("k.py:7: ptxas error: Feature 'barrier.cluster.arrive'")


def test_without_line_info_or_in_a_header_the_message_keeps_the_kernel_name_and_a_hint():
    log = ("ptxas /tmp/a.ptx, line 6; error   : Something in a header\n"
           "nvlink error   : Undefined reference to '_Z3foov' in 'k.o'\n")
    diags = map_tool_diagnostics(CU, log, PTX, {}, cu_name="k.cu")
    assert [(d.tool, d.cu_line, d.py_line) for d in diags] == [("ptxas", None, None), ("nvlink", None, None)]
    assert diags[1].render() == "k.cu: nvlink error: Undefined reference to '_Z3foov' in 'k.o'"
    err = kernel_compile_error("k", "sm_90", log, diags, "see the generated code")
    text = str(err)
    assert text.splitlines()[0] == "kernel k failed to compile for sm_90:"
    assert "hint: the compiler's message carries no Python line; see the generated code" in text
    # no PTX at all (nothing kept): the same, never a crash
    assert [d.ptx_line for d in map_tool_diagnostics(CU, log, None, {}, cu_name="k.cu")] == [6, None]
