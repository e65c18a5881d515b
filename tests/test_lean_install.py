"""A lean `pip install ringkernel` (no numba-cuda, no cuda-python, no CUDA toolkit wheels) still
imports, runs the cpu backend, emits every backend's source and answers the GPU backends with a
BackendUnavailableError that says what to install.

The lean install is simulated in a child process: a sys.meta_path finder makes numba.cuda,
numba_cuda and cuda (cuda-python's namespace) unimportable before anything else is imported.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BLOCKER = '''
import sys
BLOCKED = ("numba.cuda", "numba_cuda", "cuda")
class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None
sys.meta_path.insert(0, _Blocker())
'''

KERNELS = '''
from ringkernel_codegen import kernel, f32, i32
from ringkernel_codegen.dsl import global_id

@kernel
def scale(a: f32, x: f32[:], n: i32):
    i = global_id()
    if i < n:
        x[i] = a * x[i] + 1.0
'''

CHILD = BLOCKER + '''
import json, os
import numpy as np
from ringkernel_codegen import BackendUnavailableError, cli
from ringkernel_runtime import Runtime
from lean_kernels import scale, __file__ as kernels_py

report = {}
x = np.arange(300, dtype=np.float32)
scale[2, 256](np.float32(3.0), x, np.int32(300))            # the default backend: cpu here
report["default_result_ok"] = bool(np.array_equal(x, np.arange(300, dtype=np.float32) * 3 + 1))
report["sources"] = {b: len(scale.source(b)) for b in ("cuda", "numba", "cpu")}

def refusal(fn):
    try:
        fn()
    except BackendUnavailableError as exc:
        return str(exc)
    return "no error"

arr = np.zeros(4, np.float32)
report["to_cuda"] = refusal(lambda: scale.to("cuda")[1, 32](np.float32(1.0), arr, np.int32(4)))
report["to_numba"] = refusal(lambda: scale.to("numba")[1, 32](np.float32(1.0), arr, np.int32(4)))
report["runtime_cuda"] = refusal(lambda: Runtime(backend="cuda"))
report["runtime_numba"] = refusal(lambda: Runtime(backend="numba"))
report["emit_rc"] = cli.main(["emit", kernels_py, "-k", "scale", "-o", os.environ["OUT_DIR"]])
report["check_nvrtc_rc"] = cli.main(["check", kernels_py, "-k", "scale", "--compiler", "nvrtc"])
report["modules"] = sorted(m for m in sys.modules if m.split(".")[0] in ("cuda", "numba_cuda")
                           or m.startswith("numba.cuda"))
print("REPORT " + json.dumps(report))
'''


def run_lean(tmp_path: Path) -> tuple[dict, str]:
    script = tmp_path / "lean_child.py"
    script.write_text(CHILD)
    (tmp_path / "lean_kernels.py").write_text(KERNELS)
    out = tmp_path / "emitted"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OUT_DIR": str(out),
           "NUMBA_ENABLE_CUDASIM": "0"}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("REPORT ")][-1]
    return json.loads(line[len("REPORT "):]), proc.stderr


def test_without_the_cuda_extra_the_cpu_path_works_and_gpu_backends_say_what_to_install(tmp_path):
    report, stderr = run_lean(tmp_path)
    assert report["default_result_ok"], "the default backend must fall back to cpu and compute 3x+1"
    assert all(n > 0 for n in report["sources"].values())
    for key in ("to_cuda", "to_numba", "runtime_cuda", "runtime_numba"):
        assert 'pip install "ringkernel[cuda]"' in report[key], (key, report[key])
    assert "cuda-python is not installed" in report["to_cuda"]
    assert "numba-cuda is not installed" in report["to_numba"]
    assert report["emit_rc"] == 0 and (tmp_path / "emitted" / "scale.cu").is_file()
    # check with NVRTC needs cuda-python: exit 1 and the install hint, never a traceback
    assert report["check_nvrtc_rc"] == 1
    assert 'pip install "ringkernel[cuda]"' in stderr and "Traceback" not in stderr
    assert report["modules"] == [], f"the lean path imported {report['modules']}"


def test_the_cuda_extra_carries_the_gpu_wheels_and_the_test_extra_includes_it():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    for gpu_only in ("numba-cuda", "cuda-python", "cuda-toolkit", "nvidia-"):
        assert gpu_only not in base, f"{gpu_only} must live in the cuda extra, not the base install"
    cuda = project["optional-dependencies"]["cuda"]
    assert "cuda-toolkit[nvvm,nvrtc]==13.0.*" in cuda and "nvidia-nvjitlink==13.0.*" in cuda
    assert any(d.startswith("numba-cuda") for d in cuda) and any(d.startswith("cuda-python") for d in cuda)
    assert "ringkernel[cuda]" in project["optional-dependencies"]["test"]
    assert any(d.startswith("numpy") and "<2.5" in d for d in project["dependencies"])


def test_the_readme_gives_the_lean_and_the_cuda_install_lines():
    readme = (ROOT / "README.md").read_text()
    assert "pip install ringkernel" in readme
    assert 'pip install "ringkernel[cuda]"' in readme
