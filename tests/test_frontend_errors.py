"""Every malformed kernel in tests/kernels/malformed.py is rejected with a CodegenError that shows
file:line:col, the source line, a caret and a hint - and no other exception type ever escapes."""
import inspect
import re

import pytest

from tests.kernels import malformed
from ringkernel_codegen import CodegenError, RingKernelError, kernel, stencil

SOURCE = inspect.getsourcefile(malformed)
LINES = open(SOURCE).read().splitlines()


def marked_line(name: str) -> int:
    tag = f"# ERR:{name}"
    hits = [i + 1 for i, line in enumerate(LINES) if line.rstrip().endswith(tag)]
    assert len(hits) == 1, f"corpus must mark exactly one line with {tag}"
    return hits[0]


def compile_case(name: str):
    fn, how = malformed.CASES[name]
    if how == "kernel":
        return kernel(fn)
    return stencil(**how)(fn)


def rejection(name: str) -> CodegenError:
    try:
        compile_case(name)
    except CodegenError as err:
        return err
    except Exception as exc:  # noqa: BLE001 - the assertion is that nothing else escapes
        pytest.fail(f"{name}: expected CodegenError, got {type(exc).__name__}: {exc}")
    pytest.fail(f"{name}: the malformed kernel was accepted")


def test_corpus_has_at_least_40_cases():
    assert len(malformed.CASES) >= 40


def test_codegen_error_is_a_ringkernel_error():
    assert issubclass(CodegenError, RingKernelError)


# cases the front end cannot reject yet (strict xfail, with the reason); empty now that
# passes/validate.py checks that some path assigns a local before it is read
KNOWN_GAPS: dict = {}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[n]))
                                  if n in KNOWN_GAPS else n for n in sorted(malformed.CASES)])
def test_malformed_kernel_raises_codegen_error_at_marked_line(name):
    err = rejection(name)
    line = marked_line(name)
    text = str(err)
    m = re.search(re.escape(SOURCE) + r":(\d+):(\d+): error: ", text)
    assert m, f"no {SOURCE}:line:col in:\n{text}"
    assert int(m.group(1)) == line, f"error points at line {m.group(1)}, expected {line}:\n{text}"
    col = int(m.group(2))
    source_line = LINES[line - 1]
    assert 1 <= col <= len(source_line), text
    rows = text.splitlines()
    i = rows.index("    " + source_line)  # the source line, as written
    caret = rows[i + 1]
    assert caret.strip() == "^" and caret.index("^") == 4 + col - 1, text
    assert any(r.startswith("hint: ") and len(r) > len("hint: ") for r in rows), f"no hint in:\n{text}"


def test_recompiling_a_malformed_kernel_fails_the_same_way():
    first = str(rejection("mutual_recursion"))
    assert str(rejection("mutual_recursion")) == first
