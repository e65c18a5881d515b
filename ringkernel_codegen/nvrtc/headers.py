"""Toolkit include folders for NVRTC, and content hashes of header trees for the cache key.

Hashing ~1,800 toolkit headers takes a quarter of a second, so a tree's content hash is
remembered on disk under a fingerprint of (path, size, mtime) of every file in it, and in
memory for the life of the process.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Mapping

log = logging.getLogger("ringkernel.cuda")


def _find_header_dir(libname: str) -> str | None:
    try:
        from cuda import pathfinder
    except ImportError:
        return None
    try:
        found = pathfinder.find_nvidia_header_directory(libname)
    except Exception:
        return None
    return str(found) if found else None


def _nvidia_package_paths() -> list[str]:
    """The folders of the `nvidia` namespace package (where the nvidia-* wheels put headers)."""
    try:
        import nvidia
    except ImportError:
        return []
    return [str(p) for p in getattr(nvidia, "__path__", ())]


# Include folders of the nvidia wheels, relative to a folder of the `nvidia` package: the CUDA 13
# wheels share nvidia/cu13/include (CCCL in its cccl/), the CUDA 12 ones have one folder per wheel.
_WHEEL_INCLUDE_DIRS = ("cu13/include", "cuda_runtime/include", "cuda_cccl/include", "cuda_nvrtc/include")
DEFAULT_TOOLKIT_ROOTS = ("/usr/local/cuda",)

# What the emitted sources may include: <cooperative_groups.h> (grid/cluster barriers) from the
# runtime headers, which since CUDA 13 includes <cuda/atomic>, <cuda/std/...> from CCCL.
_RUNTIME_MARKER = "cooperative_groups.h"
_CCCL_MARKER = "cuda/atomic"


def _candidate_dirs(env: Mapping[str, str], roots: Iterable[str],
                    pathfinder: Callable[[str], str | None] | None,
                    package_paths: Iterable[str]) -> list[Path]:
    """Every folder worth looking at, best first (it may not exist)."""
    out: list[Path] = []
    if pathfinder is not None:
        for lib in ("cudart", "cccl"):
            found = pathfinder(lib)
            if found:
                out.append(Path(found))
    for base in package_paths:
        out += [Path(base, sub) for sub in _WHEEL_INCLUDE_DIRS]
    toolkits = [env.get("CUDA_PATH"), env.get("CUDA_HOME"), *roots]
    nvcc = shutil.which("nvcc", path=env.get("PATH", ""))
    if nvcc:  # <toolkit>/bin/nvcc, perhaps through a symbolic link (/usr/bin/nvcc)
        toolkits.append(str(Path(os.path.realpath(nvcc)).parent.parent))
    out += [Path(t, "include") for t in toolkits if t]
    # CUDA 13 toolkits keep CCCL (<cuda/atomic>, <cuda/std/...>) in include/cccl, CUDA 12 in include
    return [d for p in out for d in (p, p / "cccl")]


def find_include_dirs(env: Mapping[str, str], roots: Iterable[str] = DEFAULT_TOOLKIT_ROOTS, *,
                      pathfinder: Callable[[str], str | None] | None = None,
                      package_paths: Iterable[str] = ()) -> list[str]:
    """The include folders NVRTC needs: one with the runtime headers (<cooperative_groups.h>) and
    one with CCCL (<cuda/atomic>), or one holding both (CUDA 12 layout).

    Looked for, in order: `pathfinder(libname)` ("cudart", "cccl"; cuda.pathfinder's finder in
    the real call), the wheel folders under each of `package_paths` (the `nvidia` package), then
    the toolkits at $CUDA_PATH, $CUDA_HOME, each of `roots` and the one holding the `nvcc` on
    $PATH (each as <root>/include and, CUDA 13, <root>/include/cccl). A folder is taken when it
    exists and supplies a part not found yet, so the first complete set wins and one toolkit's
    headers are not shadowed by another's. Pure but for the file system: `env` stands in for
    os.environ. Returns [] (and warns) when nothing is found.
    """
    chosen: list[str] = []
    seen: set[str] = set()
    have_runtime = have_cccl = False
    for d in _candidate_dirs(env, roots, pathfinder, package_paths):
        if have_runtime and have_cccl:
            break
        real = os.path.realpath(d)
        if real in seen or not d.is_dir():
            continue
        seen.add(real)
        runtime = not have_runtime and (d / _RUNTIME_MARKER).is_file()
        cccl = not have_cccl and (d / _CCCL_MARKER).is_file()
        if runtime or cccl:
            chosen.append(str(d))
            have_runtime, have_cccl = have_runtime or runtime, have_cccl or cccl
    if not chosen:
        log.warning("no CUDA toolkit headers found (no nvidia-cuda-runtime / nvidia-cuda-cccl wheels, "
                    "no toolkit at $CUDA_PATH, $CUDA_HOME or %s): kernels that include "
                    "<cooperative_groups.h> will not compile", ", ".join(map(str, roots)) or "-")
    elif not (have_runtime and have_cccl):
        log.warning("incomplete CUDA toolkit headers (%s; %s missing): kernels that include "
                    "<cooperative_groups.h> will not compile", ", ".join(chosen),
                    _RUNTIME_MARKER if not have_runtime else f"CCCL <{_CCCL_MARKER}>")
    return chosen


_include_dirs_cache: list[str] | None = None


def include_dirs() -> list[str]:
    """Toolkit include folders passed to NVRTC (find_include_dirs for this process, remembered).
    The emitted sources need none unless they use cooperative groups."""
    global _include_dirs_cache
    if _include_dirs_cache is None:
        _include_dirs_cache = find_include_dirs(os.environ, pathfinder=_find_header_dir,
                                                package_paths=_nvidia_package_paths())
    return list(_include_dirs_cache)


def _header_files(roots: Iterable[str]) -> list[Path]:
    """Every file under the roots, sorted, each once even when one root holds another."""
    seen: set[Path] = set()
    files = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath, name).resolve()
                if path not in seen:
                    seen.add(path)
                    files.append(path)
    return files


def _stat_fingerprint(files: list[Path]) -> str:
    h = hashlib.sha256()
    for path in files:
        st = path.stat()
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _content_hash(files: list[Path]) -> str:
    h = hashlib.sha256()
    for path in files:
        h.update(str(path).encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


_content_memo: dict[str, str] = {}
_toolkit_fingerprint: dict[tuple[str, ...], str] = {}


def headers_hash(roots: list[str], cache_dir: Path, *, toolkit: bool) -> str:
    """Content hash of the header trees, memoised by their stat fingerprint (memory and disk)."""
    if not roots:
        return ""
    key = tuple(roots)
    if toolkit and key in _toolkit_fingerprint:
        fingerprint = _toolkit_fingerprint[key]
    else:
        fingerprint = _stat_fingerprint(_header_files(roots))
        if toolkit:  # an installed toolkit does not change while we run
            _toolkit_fingerprint[key] = fingerprint
    if fingerprint in _content_memo:
        return _content_memo[fingerprint]
    memo_file = cache_dir / "headers" / fingerprint
    try:
        value = memo_file.read_text().strip()
        if re.fullmatch(r"[0-9a-f]{64}", value):
            _content_memo[fingerprint] = value
            return value
    except OSError:
        pass
    value = _content_hash(_header_files(roots))
    _content_memo[fingerprint] = value
    write_atomic(memo_file, value.encode())
    return value


def user_include_dirs(options: tuple[str, ...]) -> list[str]:
    dirs = []
    it = iter(options)
    for opt in it:
        if opt in ("-I", "--include-path"):
            dirs.append(next(it, ""))
        elif opt.startswith("--include-path="):
            dirs.append(opt.split("=", 1)[1])
        elif opt.startswith("-I"):
            dirs.append(opt[2:])
    return [d for d in dirs if d and Path(d).is_dir()]


def write_atomic(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache must not stop a compile
        log.warning("could not write NVRTC cache entry %s: %s", path, exc)
