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
import tempfile
from pathlib import Path
from typing import Iterable

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


def _package_include_dirs() -> list[str]:
    """Include folders of the nvidia wheels, for when cuda.pathfinder is missing or too old."""
    dirs = []
    try:
        import nvidia
    except ImportError:
        return dirs
    for base in nvidia.__path__:
        for sub in ("cu13/include", "cu13/include/cccl", "cuda_runtime/include",
                    "cuda_nvrtc/include", "cuda_cccl/include"):
            candidate = Path(base) / sub
            if candidate.is_dir():
                dirs.append(str(candidate))
    return dirs


_include_dirs_cache: list[str] | None = None


def include_dirs() -> list[str]:
    """Toolkit include folders passed to NVRTC: the runtime headers, then CCCL (<cuda/atomic>)."""
    global _include_dirs_cache
    if _include_dirs_cache is None:
        found = [_find_header_dir("cudart"), _find_header_dir("cccl")]
        found = [d for d in found if d] or _package_include_dirs()
        if not found and os.environ.get("CUDA_HOME"):
            home = Path(os.environ["CUDA_HOME"]) / "include"
            found = [str(home), str(home / "cccl")]
        unique = []
        for d in found:
            if Path(d).is_dir() and d not in unique:
                unique.append(d)
        if not unique:
            log.warning("no CUDA toolkit headers found; <cooperative_groups.h> will not compile")
        _include_dirs_cache = unique
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
