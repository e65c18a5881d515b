"""Where NVRTC's include folders come from (cuda_headers.find_include_dirs), and that the emitted
sources need none of them unless they use cooperative groups (issue #16).

The search runs over fake toolkit trees in both layouts: the nvidia wheels' (site-packages
nvidia/cu13/include with CCCL in its cccl/) and a system toolkit's ($CUDA_PATH/include, CCCL in
include/cccl since CUDA 13, in include itself before). The NVRTC tests run without a GPU.
"""
import logging
import os
import shutil
from pathlib import Path

import pytest

from ringkernel_codegen import f32, f64, i64, message, ring_kernel
from ringkernel_codegen.nvrtc import headers as cuda_headers
from ringkernel_codegen.nvrtc.headers import find_include_dirs, headers_hash
from ringkernel_runtime import layout

RUNTIME, CCCL = "cooperative_groups.h", "cuda/atomic"


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("// fake\n")
    return path


def wheel_tree(site: Path, cccl: bool = True) -> tuple[Path, Path]:
    """A CUDA 13 wheel layout under site-packages: nvidia/cu13/include (+ include/cccl)."""
    inc = site / "nvidia" / "cu13" / "include"
    _touch(inc / RUNTIME)
    _touch(inc / "cuda_runtime.h")
    if cccl:
        _touch(inc / "cccl" / CCCL)
    return inc, inc / "cccl"


def toolkit_tree(root: Path, cuda13: bool = True) -> list[Path]:
    """A system toolkit at `root`: include/ and, CUDA 13, CCCL in include/cccl (CUDA 12: include)."""
    inc = root / "include"
    _touch(inc / RUNTIME)
    _touch(root / "bin" / "nvcc").chmod(0o755)
    if cuda13:
        _touch(inc / "cccl" / CCCL)
        return [inc, inc / "cccl"]
    _touch(inc / CCCL)
    return [inc]


def strs(paths):
    return [str(p) for p in paths]


# -- the search ------------------------------------------------------------------------------------
def test_wheel_layout_gives_runtime_and_cccl_dirs(tmp_path):
    inc, cccl = wheel_tree(tmp_path / "site")
    found = find_include_dirs({}, (), package_paths=[tmp_path / "site" / "nvidia"])
    assert found == strs([inc, cccl])


def test_cuda12_wheels_one_folder_per_wheel(tmp_path):
    nvidia = tmp_path / "site" / "nvidia"
    _touch(nvidia / "cuda_runtime" / "include" / RUNTIME)
    _touch(nvidia / "cuda_cccl" / "include" / CCCL)
    found = find_include_dirs({}, (), package_paths=[nvidia])
    assert found == strs([nvidia / "cuda_runtime" / "include", nvidia / "cuda_cccl" / "include"])


def test_pathfinder_comes_first_and_duplicates_are_dropped(tmp_path):
    inc, cccl = wheel_tree(tmp_path / "site")
    asked = []

    def pathfinder(lib):
        asked.append(lib)
        return {"cudart": str(inc), "cccl": str(cccl)}.get(lib)

    tk = toolkit_tree(tmp_path / "cuda")
    found = find_include_dirs({"CUDA_PATH": str(tmp_path / "cuda")}, (), pathfinder=pathfinder,
                              package_paths=[tmp_path / "site" / "nvidia"])
    assert found == strs([inc, cccl]) and asked == ["cudart", "cccl"]
    assert not set(found) & set(strs(tk))


def test_system_layout_under_cuda_path(tmp_path):
    tk = toolkit_tree(tmp_path / "cuda-13.0")
    assert find_include_dirs({"CUDA_PATH": str(tmp_path / "cuda-13.0")}, ()) == strs(tk)


def test_cuda12_system_layout_has_cccl_in_include(tmp_path):
    tk = toolkit_tree(tmp_path / "cuda-12.8", cuda13=False)
    assert find_include_dirs({"CUDA_HOME": str(tmp_path / "cuda-12.8")}, ()) == strs(tk)


def test_cuda_path_wins_over_cuda_home_and_the_default_root(tmp_path):
    first = toolkit_tree(tmp_path / "first")
    toolkit_tree(tmp_path / "home")
    toolkit_tree(tmp_path / "usr-local-cuda")
    env = {"CUDA_PATH": str(tmp_path / "first"), "CUDA_HOME": str(tmp_path / "home")}
    assert find_include_dirs(env, [str(tmp_path / "usr-local-cuda")]) == strs(first)
    del env["CUDA_PATH"]
    assert find_include_dirs(env, [str(tmp_path / "usr-local-cuda")]) == strs(toolkit_tree(tmp_path / "home"))
    assert find_include_dirs({}, [str(tmp_path / "usr-local-cuda")]) == strs(toolkit_tree(tmp_path / "usr-local-cuda"))


def test_missing_and_empty_dirs_are_skipped(tmp_path):
    (tmp_path / "empty" / "include").mkdir(parents=True)   # a toolkit folder without the headers
    tk = toolkit_tree(tmp_path / "cuda")
    env = {"CUDA_PATH": str(tmp_path / "nowhere"), "CUDA_HOME": str(tmp_path / "empty")}
    found = find_include_dirs(env, [str(tmp_path / "also-missing"), str(tmp_path / "cuda")],
                              package_paths=[tmp_path / "no-site" / "nvidia"])
    assert found == strs(tk)
    assert all(Path(d).is_dir() for d in found)


def test_runtime_wheel_without_cccl_wheel_takes_cccl_from_the_toolkit(tmp_path):
    """The GPU image: runtime headers from a wheel, no nvidia-cuda-cccl, CCCL from /usr/local/cuda."""
    inc, _ = wheel_tree(tmp_path / "site", cccl=False)
    tk = toolkit_tree(tmp_path / "cuda")
    found = find_include_dirs({}, [str(tmp_path / "cuda")], package_paths=[tmp_path / "site" / "nvidia"])
    assert found == strs([inc, tk[1]])


def test_toolkit_of_nvcc_on_path_is_found_through_a_link(tmp_path):
    tk = toolkit_tree(tmp_path / "opt" / "cuda")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "nvcc").symlink_to(tmp_path / "opt" / "cuda" / "bin" / "nvcc")
    assert find_include_dirs({"PATH": str(tmp_path / "bin")}, ()) == strs(tk)
    assert find_include_dirs({"PATH": str(tmp_path / "opt" / "cuda" / "bin")}, ()) == strs(tk)


def test_nothing_found_warns_and_returns_empty(tmp_path, caplog):
    env = {"CUDA_PATH": str(tmp_path / "a"), "CUDA_HOME": str(tmp_path / "b"), "PATH": str(tmp_path)}
    with caplog.at_level(logging.WARNING, logger="ringkernel.cuda"):
        assert find_include_dirs(env, [str(tmp_path / "c")], pathfinder=lambda lib: None,
                                 package_paths=[tmp_path / "nvidia"]) == []
    assert "no CUDA toolkit headers found" in caplog.text


def test_runtime_headers_without_cccl_warn(tmp_path, caplog):
    inc, _ = wheel_tree(tmp_path / "site", cccl=False)
    with caplog.at_level(logging.WARNING, logger="ringkernel.cuda"):
        assert find_include_dirs({}, (), package_paths=[tmp_path / "site" / "nvidia"]) == [str(inc)]
    assert "incomplete" in caplog.text and "cuda/atomic" in caplog.text


def test_include_dirs_is_remembered_and_exists():
    first = cuda_headers.include_dirs()
    first.append("/mutated")
    again = cuda_headers.include_dirs()
    assert "/mutated" not in again and again == cuda_headers.include_dirs()
    assert all(Path(d).is_dir() for d in again)


def test_headers_hash_of_found_dirs_follows_contents(tmp_path):
    inc, cccl = wheel_tree(tmp_path / "site")
    dirs = find_include_dirs({}, (), package_paths=[tmp_path / "site" / "nvidia"])
    cache = tmp_path / "cache"
    before = headers_hash(dirs, cache, toolkit=False)
    assert len(before) == 64 and headers_hash(dirs, cache, toolkit=False) == before
    (cccl / CCCL).write_text("// changed, and longer than before\n")
    assert headers_hash(dirs, cache, toolkit=False) != before
    assert headers_hash([], cache, toolkit=True) == ""


# -- NVRTC -----------------------------------------------------------------------------------------
def _nvrtc():
    try:
        from ringkernel_codegen.nvrtc import compiler as cuda_nvrtc
        cuda_nvrtc.nvrtc_version()
    except Exception as exc:  # noqa: BLE001 - no cuda-python or no libnvrtc
        pytest.skip(f"NVRTC unavailable: {exc}")
    return cuda_nvrtc


@pytest.fixture
def nvrtc_with(monkeypatch, tmp_path):
    """compile(source, dirs): NVRTC through compile_cuda with exactly `dirs` as toolkit folders."""
    cuda_nvrtc = _nvrtc()

    def compile(source, dirs=()):
        monkeypatch.setattr(cuda_nvrtc, "include_dirs", lambda: list(dirs))
        return cuda_nvrtc.compile_cuda(source, arch="sm_90", cache_dir=tmp_path / "nvrtc")

    return compile


@message
class HdrPair:
    a: f32
    b: f32


@message
class HdrSum:
    value: f32


@message
class HdrItem:
    seq: i64
    value: f64


@message
class HdrTotals:
    count: i64
    total: f64


@ring_kernel(input=HdrPair, output=HdrSum)
def hdr_adder(ctx, msg: HdrPair) -> HdrSum:
    return HdrSum(value=msg.a + msg.b)


@ring_kernel(input=HdrItem, output=HdrItem, state=HdrTotals)
def hdr_accumulate(ctx, msg: HdrItem) -> HdrItem:
    if msg.value < 0.0:
        ctx.fail(42)
    ctx.state.count += 1
    ctx.state.total += msg.value
    return HdrItem(seq=msg.seq, value=ctx.state.total)


@ring_kernel(input=HdrItem, output=None, parallel=True, peers={"next": HdrItem})
def hdr_forward(ctx, msg: HdrItem):
    ctx.send("next", HdrItem(seq=msg.seq, value=msg.value * 2.0))


def test_layout_header_compiles_with_nvrtc_and_no_include_dirs(nvrtc_with):
    structs = tuple(m.c_struct() + "\n" + m.c_asserts() for m in (HdrPair, HdrItem))
    src = layout.c_header(structs) + (
        'extern "C" __global__ void k(rk_queue_header* q, HdrItem* m, uint8_t* b, int16_t* s) {\n'
        '  q->head = (uint64_t)m->seq; b[0] = (uint8_t)1; s[0] = (int16_t)2; }\n')
    assert "#include" not in src.split("#else")[0]
    module = nvrtc_with(src, ())
    assert module.image and module.format == "cubin"


@pytest.mark.parametrize("kernel", [hdr_adder, hdr_accumulate, hdr_forward], ids=lambda k: k.name)
def test_ring_actor_source_compiles_with_nvrtc_and_no_include_dirs(nvrtc_with, kernel):
    src = kernel.cuda_source()
    assert "#include" not in src.replace("#include <cstdint>", "").replace("#include <cstddef>", "")
    assert nvrtc_with(src, ()).image


def test_layout_types_agree_with_libcu_either_way_round(nvrtc_with):
    """A source that also includes libcu++ (cooperative groups do) sees the same int64_t etc."""
    dirs = cuda_headers.include_dirs()
    if not any((Path(d) / "cuda" / "std" / "cstdint").is_file() for d in dirs):
        pytest.skip("no CCCL headers on this machine")
    kernel = 'extern "C" __global__ void k(rk_control_block* cb, cuda::std::int64_t* p) { *p = cb->state; }\n'
    header = layout.c_header()
    assert nvrtc_with("#include <cuda/std/cstdint>\n" + header + kernel, dirs).image
    assert nvrtc_with(header + "#include <cuda/std/cstdint>\n#include <cooperative_groups.h>\n" + kernel, dirs).image


def _system_toolkit_dirs():
    """find_include_dirs over system toolkits only ($CUDA_PATH, $CUDA_HOME, /usr/local/cuda, nvcc's)."""
    dirs = find_include_dirs(os.environ)
    complete = (any((Path(d) / RUNTIME).is_file() for d in dirs)
                and any((Path(d) / CCCL).is_file() for d in dirs))
    if not complete:
        nvcc = shutil.which("nvcc")
        pytest.skip(f"no complete system CUDA toolkit (nvcc: {nvcc}; found {dirs or 'nothing'})")
    return dirs


def test_cooperative_groups_kernel_compiles_with_system_toolkit_dirs_only(nvrtc_with):
    from tests.kernels import grid_kernels

    dirs = _system_toolkit_dirs()
    assert not any("site-packages" in d for d in dirs)
    src = grid_kernels.neighbour_after_grid_sync.cuda_source()
    assert "#include <cooperative_groups.h>" in src
    assert nvrtc_with(src, dirs).image


def test_cuda13_cooperative_groups_need_the_cccl_dir(nvrtc_with):
    from ringkernel_codegen.errors import CompileError

    dirs = _system_toolkit_dirs()
    runtime = [d for d in dirs if (Path(d) / RUNTIME).is_file()]
    if any((Path(d) / CCCL).is_file() for d in runtime):
        pytest.skip("CUDA 12 layout: CCCL sits in the runtime include folder")
    src = "#include <cooperative_groups.h>\n" + 'extern "C" __global__ void k() { cooperative_groups::this_grid().sync(); }\n'
    with pytest.raises(CompileError, match="cuda/"):
        nvrtc_with(src, runtime)
    assert nvrtc_with(src, dirs).image
