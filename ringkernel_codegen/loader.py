"""Generated Python sources are written to real files in a cache folder and imported from there,
so tracebacks point at readable code and numba's on-disk cache can key on them."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

_modules: dict = {}


def cache_root() -> Path:
    root = os.environ.get("RINGKERNEL_CACHE_DIR")
    path = Path(root) if root else Path.home() / ".cache" / "ringkernel"
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_source(source: str, stem: str):
    """Import `source` as a module from <cache>/src/<stem>_<hash>.py (once per process)."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:20]
    if digest in _modules:
        return _modules[digest]
    folder = cache_root() / "src"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}_{digest}.py"
    if not path.exists() or path.read_text() != source:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source)
        os.replace(tmp, path)
    name = f"_ringkernel_gen_{stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    _modules[digest] = module
    return module
