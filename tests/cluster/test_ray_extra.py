"""Ray is optional: the `ray` extra (which the test extra includes) brings it; without it the
package imports and works, and RayRuntime says how to install it. Neither test needs Ray."""
import os
import subprocess
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_ray_extra_exists_and_the_test_extra_includes_it():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    extras = project["optional-dependencies"]
    assert any(r.startswith("ray") for r in extras["ray"])
    assert "ringkernel[ray]" in extras["test"]
    assert not any(r.startswith("ray") for r in project["dependencies"])


def test_without_ray_the_package_works_and_says_how_to_install_it():
    code = (
        "import sys\n"
        "class NoRay:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'ray' or name.startswith('ray.'): raise ImportError('no ray here')\n"
        "sys.meta_path.insert(0, NoRay())\n"
        "import ringkernel_runtime, ringkernel_runtime.cluster as c\n"
        "from ringkernel_runtime.errors import BackendUnavailableError\n"
        "try:\n"
        "    c.RayRuntime()\n"
        "except BackendUnavailableError as e:\n"
        "    print('refused:', e)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert "refused:" in out.stdout and "pip install \"ringkernel[ray]\"" in out.stdout, out.stdout
    assert "Traceback" not in out.stderr
