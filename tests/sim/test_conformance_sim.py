"""The conformance corpus (tests/conformance, see tests/test_conformance.py) through the numba.cuda backend
in numba's CUDA simulator, at the cases' "sim" sizes, against the same NumPy references. Cases the
simulator cannot run (warp operations, syncwarp, grid barriers across blocks, libdevice) carry the
reason in Case.sim and are skipped with it; ringkernel defects are strict xfails (Case.xfail["sim"])."""
import os

import pytest

pytestmark = pytest.mark.sim

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("run through tests/test_sim.py (needs NUMBA_ENABLE_CUDASIM=1 at import)", allow_module_level=True)

from tests.conformance import guide, polybench, rodinia  # noqa: E402
from tests.conformance.case_support import run_case  # noqa: E402

CASES = [*polybench.CASES, *rodinia.CASES, *guide.CASES]


def _params():
    out = []
    for c in CASES:
        marks = []
        if c.sim:
            marks.append(pytest.mark.skip(reason=c.sim))
        elif c.xfail.get("sim"):
            marks.append(pytest.mark.xfail(strict=True, reason=c.xfail["sim"]))
        out.append(pytest.param(c, id=c.name, marks=marks))
    return out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's overflow warnings for wrapping unsigned atomics
@pytest.mark.parametrize("case", _params())
def test_runs_in_simulator_like_numpy(case):
    run_case(case, "numba", "sim")
