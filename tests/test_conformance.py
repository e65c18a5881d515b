"""Conformance corpus (issue #9): real kernels from PolyBench/GPU, Rodinia, NVIDIA's CUDA samples and
programming guide and numba-cuda's documentation, ported as close to the original as the DSL allows
(tests/conformance/*.py; every forced change carries a `# PORT:` comment, docs/conformance.md lists
them all).

For every case: the host driver runs on the cpu backend against the case's NumPy reference, and
every kernel's emitted CUDA C++ compiles with nvcc for sm_90. The numba CUDA simulator runs the
same cases in tests/sim/test_conformance_sim.py (own process, see tests/test_sim.py). A case that
fails because of a ringkernel defect carries a strict xfail naming the defect (Case.xfail), so it
turns into a failure the day the defect is fixed and the mark is due to come off.
"""
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from ringkernel_codegen import RingKernelError
from tests.conformance import guide, polybench, rodinia
from tests.conformance.case_support import Refused, run_case

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = [*polybench.CASES, *rodinia.CASES, *guide.CASES]
NVCC_FLAGS = ["-arch=sm_90", "-std=c++17", "-c"]
DOC = os.path.join(os.path.dirname(HERE), "docs", "conformance.md")


def xfail_marks(case, key):
    reason = case.xfail.get(key)
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


# ---------------------------------------------------------------- cpu backend against NumPy
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=xfail_marks(c, "cpu")) for c in CASES])
def test_runs_on_cpu_backend_like_numpy(case):
    run_case(case, "cpu", "cpu")


# ---------------------------------------------------------------- nvcc for sm_90
def _translation_unit(kernels):
    """The emitted sources of several kernels in one .cu file, each inside its own namespace (the CUDA
    prelude and device functions repeat in every source); #include lines go first. nvcc's fixed cost
    per run (the host compiler, about a second) dominates a small kernel, so one run per corpus module
    instead of one per kernel: ~5 s for all of them instead of ~70."""
    includes, bodies = [], []
    for n, k in enumerate(kernels):
        lines = k.cuda_source().splitlines()
        includes += [l for l in lines if l.startswith("#include") and l not in includes]
        body = "\n".join(l for l in lines if not l.startswith("#include"))
        bodies.append(f"namespace rk_conformance_{n} {{\n{body}\n}}  // namespace rk_conformance_{n}\n")
    return "\n".join(includes) + "\n" + "\n".join(bodies)


def _nvcc(nvcc, folder, stem, kernels):
    cu = folder / f"{stem}.cu"
    cu.write_text(_translation_unit(kernels))
    proc = subprocess.run([nvcc, *NVCC_FLAGS, str(cu), "-o", str(folder / f"{stem}.o")],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stderr


@pytest.fixture(scope="module")
def nvcc_results(nvcc, tmp_path_factory):
    """(case name, kernel name) -> (ok, message). One nvcc run per corpus module; when it fails, one per
    case, and within a failing case one per kernel, so a failure is pinned to the kernel it belongs to."""
    folder = tmp_path_factory.mktemp("conformance_cu")

    def build(module_cases):
        stem, cases = module_cases
        out, ok = {}, {}
        for c in cases:
            for k in c.kernels:
                try:
                    k.cuda_source()
                    ok.setdefault(c.name, []).append(k)
                except RingKernelError as exc:
                    out[(c.name, k.name)] = (False, f"cuda_source() raised: {exc}")
        if _nvcc(nvcc, folder, stem, [k for ks in ok.values() for k in ks])[0] == 0:
            out.update({(c, k.name): (True, "") for c, ks in ok.items() for k in ks})
            return out
        for c, ks in ok.items():
            case_stem = re.sub(r"\W", "_", c)
            if _nvcc(nvcc, folder, case_stem, ks)[0] == 0:
                out.update({(c, k.name): (True, "") for k in ks})
                continue
            for k in ks:
                rc, err = _nvcc(nvcc, folder, f"{case_stem}__{k.name}", [k])
                out[(c, k.name)] = (rc == 0, err)
        return out

    groups = [(mod.__name__, mod.CASES) for mod in (polybench, rodinia, guide)]
    results = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for part in pool.map(build, groups):
            results.update(part)
    return results


def _nvcc_params():
    out = []
    for c in CASES:
        for k in c.kernels:
            reason = c.xfail.get(f"nvcc:{k.name}") or c.xfail.get("nvcc")
            marks = [pytest.mark.nvcc] + ([pytest.mark.xfail(strict=True, reason=reason)] if reason else [])
            out.append(pytest.param(c.name, k.name, id=f"{c.name}:{k.name}", marks=marks))
    return out


@pytest.mark.parametrize("case_name,kernel_name", _nvcc_params())
def test_emitted_cuda_compiles_with_nvcc(nvcc_results, case_name, kernel_name):
    ok, message = nvcc_results[(case_name, kernel_name)]
    assert ok, f"nvcc -arch=sm_90 failed for {case_name}:{kernel_name}:\n{message[-4000:]}"


# ---------------------------------------------------------------- the corpus itself
def test_corpus_has_at_least_25_ported_kernels_with_sources():
    kernels = {k.name for c in CASES for k in c.kernels}
    assert len(kernels) >= 25, sorted(kernels)
    for c in CASES:
        assert re.match(r"^(\S+/\S+ \S+|CUDA C\+\+ Programming Guide)", c.source), (c.name, c.source)
        assert c.features, c.name


def test_every_kernel_cites_its_source_next_to_it():
    """Each kernel's module names the original beside it: a `# Source:` line in the comment block of its
    section (or the module docstring for the shared convention)."""
    for c in CASES:
        for k in c.kernels:
            text = open(k.fn.__code__.co_filename).read()
            head = text[:text.index(f"def {k.name}(")]
            section = head[head.rfind("# ======"):]
            assert "# Source: " in section, f"{c.name}:{k.name}: no '# Source:' comment in its section"


def test_refused_kernels_are_marked():
    """A kernel the front end refuses (Refused) needs an xfail on every target that runs it."""
    for c in CASES:
        for k in c.kernels:
            if isinstance(k, Refused):
                assert "cpu" in c.xfail and (f"nvcc:{k.name}" in c.xfail or "nvcc" in c.xfail), (c.name, k.error)
                assert c.sim or "sim" in c.xfail, c.name


def test_docs_table_lists_every_case():
    doc = open(DOC).read()
    missing = [c.name for c in CASES if f"`{c.name}`" not in doc]
    assert not missing, f"docs/conformance.md has no row for {missing}"
