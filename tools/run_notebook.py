"""Execute a notebook headless and save it with its outputs (plots included), so the repository
page shows them:

    PYTHONPATH=. .venv/bin/python tools/run_notebook.py examples/notebooks/stencil_prototyping.ipynb

tests/test_examples.py re-executes the committed notebook and fails when its outputs change in
substance (numbers beyond rounding, text, a plot that disappears): rerun this tool after a change
that is meant to change them.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


def execute(path: Path):
    """The notebook at `path`, executed in a fresh kernel from its own folder (Agg plots)."""
    import nbclient
    import nbformat
    os.environ.setdefault("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def main(argv: list[str]) -> int:
    import nbformat
    for name in argv or ["examples/notebooks/stencil_prototyping.ipynb"]:
        path = Path(name).resolve()
        nb = execute(path)
        for cell in nb.cells:                # stable diffs: no execution timestamps
            cell.get("metadata", {}).pop("execution", None)
        nbformat.write(nb, path)
        print(f"executed and saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
