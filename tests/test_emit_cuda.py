"""CUDA C++ emission: every corpus kernel compiles with nvcc, output is stable, each statement carries
its Python line, read-only arrays are const."""
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from ringkernel_codegen import kernel, stencil
from tests.kernels import barrier_kernels, basic_kernels, device_barrier_kernels, stencil_kernels, type_kernels

CORPUS = {f"{mod.__name__}.{k.name}" + (f"_{k.boundary}" if hasattr(k, "boundary") else ""): k
          for mod in (basic_kernels, type_kernels, stencil_kernels, barrier_kernels, device_barrier_kernels)
          for k in mod.ALL}
NVCC_FLAGS = ["-arch=sm_90", "-std=c++17", "-c"]


@pytest.fixture(scope="module")
def nvcc_results(nvcc, tmp_path_factory):
    """Compile every corpus kernel once (2 nvcc processes at a time); name -> (returncode, stderr)."""
    folder = tmp_path_factory.mktemp("cu")

    def build(item):
        name, k = item
        cu = folder / f"{name}.cu"
        cu.write_text(k.cuda_source())
        proc = subprocess.run([nvcc, *NVCC_FLAGS, str(cu), "-o", str(folder / f"{name}.o")],
                              capture_output=True, text=True, timeout=300)
        return name, (proc.returncode, proc.stderr)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(build, sorted(CORPUS.items())))


@pytest.mark.nvcc
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_kernel_compiles_with_nvcc(nvcc_results, name):
    rc, err = nvcc_results[name]
    assert rc == 0, f"nvcc failed for {name}:\n{err}"


def test_corpus_covers_every_kernel_module():
    assert len(CORPUS) >= 40


SKELETON = re.compile(r"^(const \w[\w ]* _rk_(stop|step)_\w+ = .*;|if \(_x .*return;)$")


def kernel_statements(src: str):
    """(previous line, statement) for each statement of the __global__ body after the local declarations
    and the stencil prologue (loop-bound temporaries and skeleton bounds checks excluded)."""
    lines = [l.strip() for l in src.splitlines()]
    start = next(i for i, l in enumerate(lines) if l.startswith('extern "C"')) + 2
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("//"))
    i = first
    while i < len(lines):
        if lines[i] == "{":  # one Python statement written as a scoped block (a, b = helper(...))
            yield lines[i - 1], lines[i + 1]
            i = lines.index("}", i)
        elif lines[i].endswith(";") and not SKELETON.match(lines[i]):
            yield lines[i - 1], lines[i]
        i += 1


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_statement_is_preceded_by_its_python_line(name):
    k = CORPUS[name]
    src_file = os.path.basename(k.fn.__code__.co_filename)
    source = open(k.fn.__code__.co_filename).read().splitlines()
    for comment, stmt in kernel_statements(k.cuda_source()):
        m = re.fullmatch(rf"// {re.escape(src_file)}:(\d+): (.*)", comment)
        assert m, f"{name}: statement without a source comment: {stmt!r} (previous line {comment!r})"
        assert source[int(m.group(1)) - 1].strip() == m.group(2)


def test_source_comment_names_file_and_line():
    src = basic_kernels.saxpy.cuda_source()
    line = basic_kernels.saxpy.fn.__code__.co_firstlineno + 4  # `y[i] = a * x[i] + y[i]`
    assert f"// basic_kernels.py:{line}: y[i] = a * x[i] + y[i]\n" in src


def test_read_only_arrays_are_const_and_written_ones_are_not():
    src = basic_kernels.saxpy.cuda_source()
    assert "const float* __restrict__ x" in src
    assert re.search(r"(?<!const )float\* __restrict__ y", src)


def test_array_written_only_by_an_atomic_is_not_const():
    src = basic_kernels.histogram.cuda_source()
    assert "const int* __restrict__ values" in src
    assert "const int* __restrict__ hist" not in src and "int* __restrict__ hist" in src


def test_stencil_input_field_is_const():
    src = stencil_kernels.HEAT["skip"].cuda_source()
    assert "const float* __restrict__ u" in src
    assert re.search(r"(?<!const )float\* __restrict__ out", src)


def test_kernel_is_extern_c_global():
    assert 'extern "C" __global__ void saxpy(' in basic_kernels.saxpy.cuda_source()


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_emission_is_byte_identical_when_emitted_twice(name):
    k = CORPUS[name]
    first = k.cuda_source()
    k._sources.pop("cuda", None)  # drop the memo so the emitter runs again
    assert k.cuda_source() == first


def test_redecorating_the_same_function_gives_identical_cuda():
    assert kernel(basic_kernels.saxpy.fn).cuda_source() == basic_kernels.saxpy.cuda_source()
    assert kernel(basic_kernels.block_sum.fn).cuda_source() == basic_kernels.block_sum.cuda_source()


def test_redecorating_a_stencil_gives_identical_cuda():
    k = stencil_kernels.HEAT["periodic"]
    again = stencil(tile=k.tile, halo=k.halo, boundary=k.boundary)(k.fn)
    assert again.cuda_source() == k.cuda_source()


def test_numba_and_cpu_sources_are_stable_too():
    k = basic_kernels.transpose
    assert kernel(k.fn).numba_source() == k.numba_source()
    assert kernel(k.fn).cpu_source() == k.cpu_source()
