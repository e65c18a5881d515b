"""Where the compile cache keeps its files, the digest of the compiler that wrote them, and
`remembered`: a value made once per compiler, unpickled by later processes.

    remembered("intrinsics", make)   # make()'s result, or a previous process's for this compiler

Files live under <cache root>/kernels (loader.cache_root(): RINGKERNEL_CACHE_DIR or
~/.cache/ringkernel, beside the generated sources numba caches), or a per-user temp folder when
that is not writable. RINGKERNEL_CACHE=0 turns everything here off. Nothing here raises over a
missing, unreadable or corrupt file: that is a miss. Imports nothing of ringkernel at module level
(the intrinsic table uses it, and everything else uses the table).
"""
from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path

ENV = "RINGKERNEL_CACHE"
FORMAT = 1
PACKAGE = Path(__file__).resolve().parent
DATA_SUFFIXES = {"intrinsics": (".toml",), "templates": (".j2", ".cuh", ".cu")}
MAX_FILES = 2000   # per folder; a store beyond it removes the oldest quarter


def enabled() -> bool:
    return os.environ.get(ENV, "1") not in ("0", "")


def folders() -> list:
    """Where entries are looked for and written, in order."""
    from .loader import cache_root

    out = []
    try:
        out.append(cache_root() / "kernels")
    except OSError:
        pass
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    out.append(Path(tempfile.gettempdir()) / f"ringkernel-{uid}" / "kernels")
    return out


def _compiler_files() -> list:
    """(root, path) of the package's .py files, the data folders' files (intrinsics/, templates/:
    inside the installed package, or at the top of a source checkout, as intrinsics.data_dir finds
    them) and numba's version file."""
    roots = [(PACKAGE, (".py",))]
    for name, suffixes in DATA_SUFFIXES.items():
        folder = next((c for c in (PACKAGE / name, PACKAGE.parent / name) if c.is_dir()), None)
        if folder is not None:
            roots.append((folder, suffixes))
    out = []
    numba_version = _numba_version_file()
    if numba_version is not None:  # the generated cpu source is written for numba's features
        out.append((numba_version.parent, numba_version))
    for root, suffixes in roots:
        stack = [root]
        while stack:
            for entry in os.scandir(stack.pop()):
                if entry.is_dir():
                    if entry.name != "__pycache__":
                        stack.append(entry.path)
                elif entry.name.endswith(suffixes):
                    out.append((root, Path(entry.path)))
    return sorted(out, key=lambda item: str(item[1]))


def _numba_version_file() -> Path | None:
    """numba's _version.py, found without importing numba (None where numba is not installed)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("numba")
    except (ImportError, ValueError):
        return None
    path = Path(spec.origin).parent / "_version.py" if spec is not None and spec.origin else None
    return path if path is not None and path.is_file() else None


def _stats() -> tuple:
    """The compiler's files and a fingerprint of their paths, sizes and mtimes (what Python itself
    trusts to reuse a .pyc)."""
    import numpy as np

    files = _compiler_files()
    h = hashlib.sha256(f"{FORMAT} {sys.version} {np.__version__}".encode())
    for _, path in files:
        st = path.stat()
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return files, h.hexdigest()


# taken when the compiler is imported: a digest is only given for the files this process runs
_LOADED = _stats()


@functools.cache
def compiler_digest() -> str | None:
    """A digest of the compiler: the contents of its files (and numba's version file), Python's and
    numpy's versions; None when the files changed since this process imported them (its code is
    not theirs: nothing is cached). Hashing the contents takes a while, so the digest is remembered
    under the files' fingerprint (_stats)."""
    import numpy as np

    files, fingerprint = _LOADED
    name = f"compiler-{fingerprint[:40]}.txt"
    for folder in folders() if enabled() else ():
        try:
            digest = (folder / name).read_text()
            if len(digest) == 64:
                return digest
        except OSError:
            continue
    h = hashlib.sha256(f"{FORMAT} {sys.version} {np.__version__}".encode())
    try:
        for root, path in files:
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    except OSError:
        return None
    if _stats()[1] != fingerprint:
        return None
    digest = h.hexdigest()
    if enabled():
        write(name, digest.encode())
    return digest


def read(name: str):
    """The unpickled file `name` from the first folder that has a readable one, or None."""
    for folder in folders():
        try:
            with open(folder / name, "rb") as fh:
                return pickle.load(fh)
        except Exception:  # noqa: BLE001 - missing, unreadable or corrupt: a miss
            continue
    return None


def write(name: str, payload: bytes) -> bool:
    """Write `payload` as file `name` (atomically) in the first writable folder."""
    for folder in folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _prune(folder)
            tmp = folder / f"{name}.{os.getpid()}.tmp"
            tmp.write_bytes(payload)
            os.replace(tmp, folder / name)
            return True
        except OSError:
            continue
    return False


def _prune(folder: Path) -> None:
    """Keep a folder under MAX_FILES: every changed kernel or compiler leaves entries behind."""
    entries = list(os.scandir(folder))
    if len(entries) < MAX_FILES:
        return
    entries.sort(key=lambda e: e.stat().st_mtime_ns)
    for entry in entries[: len(entries) // 4]:
        try:
            os.remove(entry.path)
        except OSError:
            pass


def remembered(name: str, make):
    """make()'s result; a later process with the same compiler unpickles it instead of calling make."""
    digest = compiler_digest() if enabled() else None
    if digest is None:
        return make()
    file = f"{name}-{digest[:40]}.pkl"
    value = read(file)
    if value is None:
        value = make()
        try:
            write(file, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception:  # noqa: BLE001 - a value that does not pickle is simply made each time
            pass
    return value


__all__ = ["ENV", "compiler_digest", "enabled", "folders", "read", "remembered", "write"]
