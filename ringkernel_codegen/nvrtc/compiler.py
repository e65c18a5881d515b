"""NVRTC compilation with an on-disk cache; works without a GPU or a driver.

A cache entry is keyed by the sha256 of everything that can change the binary: the source, the
options, the architecture, the output kind, the NVRTC version and the *contents* of the header
trees on the include path (headers.py).

Entry file layout (one file, written atomically): MAGIC, 4-byte little-endian length of a JSON
header, the JSON header (payload sha256, lowered names, log, ...), the payload (CUBIN or PTX).
Anything that does not check out is counted as corrupt and recompiled.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..backends import CUDA_EXTRA
from ..errors import BackendUnavailableError, CompileError
from .headers import headers_hash, include_dirs, user_include_dirs, write_atomic

log = logging.getLogger("ringkernel.cuda")

_MAGIC = b"RKNVRTC1"
_FORMAT_VERSION = 1
_DEFAULT_PROGRAM_NAME = "ringkernel.cu"


@dataclass(frozen=True)
class CompiledModule:
    """A compiled CUDA program: the image to hand to cuModuleLoadData and how to find kernels."""

    image: bytes
    format: str  # "cubin" | "ptx"
    arch: str  # e.g. "sm_90" (cubin) or "compute_90" (ptx)
    lowered_names: dict[str, str] = field(default_factory=dict)
    log: str = ""
    cache_key: str = ""
    from_cache: bool = False

    def symbol(self, name: str) -> str:
        """The symbol to look up for `name`: its lowered (mangled) form if it was registered."""
        return self.lowered_names.get(name, name)


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    corrupt: int


_stats_lock = threading.Lock()
_stats = {"hits": 0, "misses": 0, "corrupt": 0}


def cache_stats() -> CacheStats:
    """Process-wide NVRTC cache counters (all cache directories together)."""
    with _stats_lock:
        return CacheStats(**_stats)


def reset_cache_stats() -> None:
    with _stats_lock:
        for k in _stats:
            _stats[k] = 0


def _count(what: str) -> None:
    with _stats_lock:
        _stats[what] += 1


def default_cache_dir() -> Path:
    """<RINGKERNEL_CACHE_DIR or ~/.cache/ringkernel>/nvrtc: one root for every ringkernel cache."""
    env = os.environ.get("RINGKERNEL_CACHE_DIR")
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "ringkernel"
    return root / "nvrtc"


# --------------------------------------------------------------------------- NVRTC binding

def _nvrtc():
    try:
        from cuda.bindings import nvrtc
    except ImportError as exc:  # the lean install: no CUDA wheels
        raise BackendUnavailableError(
            f"NVRTC needs cuda-python, which is not installed (import cuda.bindings.nvrtc failed: {exc}); "
            f"{CUDA_EXTRA}"
        ) from exc
    return nvrtc


def nvrtc_version() -> tuple[int, int]:
    nvrtc = _nvrtc()
    try:
        err, major, minor = nvrtc.nvrtcVersion()
    except Exception as exc:  # libnvrtc not found by cuda.pathfinder
        raise BackendUnavailableError(f"NVRTC library could not be loaded: {exc}; {CUDA_EXTRA} brings the "
                                      "CUDA 13.0 toolkit wheels") from exc
    _nvrtc_check(err, "nvrtcVersion")
    return int(major), int(minor)


_build_ids: dict[str, str] = {}


def nvrtc_build() -> str:
    """Version of the NVRTC wheel (e.g. 13.0.88): patch releases can change the code emitted,
    and nvrtcVersion() only says 13.0."""
    if "nvrtc" not in _build_ids:
        from importlib import metadata
        try:
            _build_ids["nvrtc"] = metadata.version("nvidia-cuda-nvrtc")
        except metadata.PackageNotFoundError:  # a system toolkit: its library path must do
            _build_ids["nvrtc"] = "unknown"
    return _build_ids["nvrtc"]


def supported_archs() -> list[int]:
    nvrtc = _nvrtc()
    err, archs = nvrtc.nvrtcGetSupportedArchs()
    _nvrtc_check(err, "nvrtcGetSupportedArchs")
    return [int(a) for a in archs]


def _nvrtc_check(err, what: str, program_log: str = "") -> None:
    nvrtc = _nvrtc()
    if err == nvrtc.nvrtcResult.NVRTC_SUCCESS:
        return
    _, text = nvrtc.nvrtcGetErrorString(err)
    message = f"{what} failed: {text.decode(errors='replace')}"
    if program_log:
        message += "\n" + program_log
    raise CompileError(message)


# --------------------------------------------------------------------------- cache entries

def _encode_entry(module: CompiledModule) -> bytes:
    header = json.dumps({
        "version": _FORMAT_VERSION,
        "sha256": hashlib.sha256(module.image).hexdigest(),
        "size": len(module.image),
        "format": module.format,
        "arch": module.arch,
        "lowered_names": module.lowered_names,
        "log": module.log,
    }, sort_keys=True).encode()
    return _MAGIC + struct.pack("<I", len(header)) + header + module.image


def _decode_entry(data: bytes, key: str) -> CompiledModule | None:
    """The module stored in `data`, or None when anything about it is off."""
    try:
        if not data.startswith(_MAGIC):
            return None
        start = len(_MAGIC) + 4
        (length,) = struct.unpack("<I", data[len(_MAGIC):start])
        header = json.loads(data[start:start + length])
        image = data[start + length:]
        if header.get("version") != _FORMAT_VERSION or header["size"] != len(image):
            return None
        if hashlib.sha256(image).hexdigest() != header["sha256"]:
            return None
        return CompiledModule(image=image, format=header["format"], arch=header["arch"],
                              lowered_names=dict(header["lowered_names"]), log=header["log"],
                              cache_key=key, from_cache=True)
    except (ValueError, KeyError, TypeError, struct.error):
        return None


# --------------------------------------------------------------------------- compile

NO_DEVICE_ARCH = "sm_90"  # the H100 we target, when nothing says which device there is
_device_arch: Callable[[], str] | None = None


def set_default_arch(provider: Callable[[], str] | None) -> None:
    """Say how compile_cuda(arch=None) learns the device's arch: `provider()` returns "sm_XY"
    (and NO_DEVICE_ARCH without a device). The runtime's CUDA backend registers its driver's
    `default_arch` when it loads; None goes back to NO_DEVICE_ARCH. The compiler itself never
    touches the driver."""
    global _device_arch
    _device_arch = provider


def default_arch() -> str:
    """The arch compile_cuda(arch=None) compiles for: the registered provider's, or NO_DEVICE_ARCH."""
    return _device_arch() if _device_arch is not None else NO_DEVICE_ARCH


def _resolve_arch(arch: str | None, output: str) -> tuple[str, str]:
    """(architecture option value, output kind) for the request."""
    if output not in ("cubin", "ptx"):
        raise ValueError(f"output must be 'cubin' or 'ptx', not {output!r}")
    if arch is None:
        arch = default_arch()  # the driver is only asked (through the provider), never required
        number = int(re.sub(r"\D", "", arch))
        archs = supported_archs()
        if number not in archs:  # a GPU newer than this NVRTC: JIT from the newest PTX we have
            log.info("NVRTC does not know %s; emitting PTX for compute_%d", arch, max(archs))
            return f"compute_{max(archs)}", "ptx"
    match = re.fullmatch(r"(sm|compute)_(\d+[af]?)", arch)
    if match is None:
        raise ValueError(f"arch must look like 'sm_90', 'sm_90a' or 'compute_90', not {arch!r}")
    kind, number = match.groups()
    if output == "ptx" or kind == "compute":
        return f"compute_{number}", "ptx"
    return f"sm_{number}", "cubin"


def _build_options(arch: str, options: tuple[str, ...]) -> list[str]:
    for opt in options:
        if opt.startswith(("-arch", "--gpu-architecture")):
            raise ValueError(f"pass the architecture as arch=..., not in options ({opt!r})")
    result = [f"--gpu-architecture={arch}"]
    if not any(opt.startswith(("-std", "--std")) for opt in options):
        result.append("-std=c++17")
    result += [f"-I{d}" for d in include_dirs()]
    result += list(options)
    return result


def _run_nvrtc(source: str, program_name: str, opts: list[str], names: tuple[str, ...],
               output: str, arch: str) -> CompiledModule:
    nvrtc = _nvrtc()
    err, prog = nvrtc.nvrtcCreateProgram(source.encode(), program_name.encode(), 0, [], [])
    _nvrtc_check(err, "nvrtcCreateProgram")
    try:
        for name in names:
            (err,) = nvrtc.nvrtcAddNameExpression(prog, name.encode())
            _nvrtc_check(err, f"nvrtcAddNameExpression({name!r})")
        encoded = [o.encode() for o in opts]
        (compile_err,) = nvrtc.nvrtcCompileProgram(prog, len(encoded), encoded)
        err, size = nvrtc.nvrtcGetProgramLogSize(prog)
        buf = b" " * size
        nvrtc.nvrtcGetProgramLog(prog, buf)
        program_log = buf.rstrip(b"\0").decode(errors="replace").strip()
        if compile_err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            _, text = nvrtc.nvrtcGetErrorString(compile_err)
            raise CompileError(
                f"NVRTC could not compile {program_name} for {arch} "
                f"({text.decode(errors='replace')}):\n"
                f"{program_log}\n"
                f"options: {' '.join(opts)}"
            )
        if output == "cubin":
            err, size = nvrtc.nvrtcGetCUBINSize(prog)
            _nvrtc_check(err, "nvrtcGetCUBINSize")
            image = b" " * size
            (err,) = nvrtc.nvrtcGetCUBIN(prog, image)
            _nvrtc_check(err, "nvrtcGetCUBIN")
        else:
            err, size = nvrtc.nvrtcGetPTXSize(prog)
            _nvrtc_check(err, "nvrtcGetPTXSize")
            image = b" " * size  # includes the terminating NUL cuModuleLoadData wants
            (err,) = nvrtc.nvrtcGetPTX(prog, image)
            _nvrtc_check(err, "nvrtcGetPTX")
        lowered = {}
        for name in names:
            err, low = nvrtc.nvrtcGetLoweredName(prog, name.encode())
            _nvrtc_check(err, f"nvrtcGetLoweredName({name!r})")
            lowered[name] = low.decode()
        return CompiledModule(image=bytes(image), format=output, arch=arch,
                              lowered_names=lowered, log=program_log)
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


def compile_cuda(source: str, name_expressions: Iterable[str] = (), *, arch: str | None = None,
                 options: tuple[str, ...] = (), cache_dir: Path | None = None,
                 output: str = "cubin", program_name: str = _DEFAULT_PROGRAM_NAME
                 ) -> CompiledModule:
    """Compile CUDA C++ with NVRTC to CUBIN (or PTX), reusing a cached image when one matches.

    `name_expressions` are kernels to register with NVRTC so their mangled names can be looked
    up (`CompiledModule.symbol`); `extern "C"` kernels need none. `arch` defaults to the
    device's `sm_XY`, or `sm_90` without a device (default_arch()); a `compute_XY` arch (or
    output="ptx") gives PTX. Raises CompileError with the NVRTC log (offending lines quoted)
    when NVRTC refuses.
    """
    options = tuple(options)
    names = tuple(name_expressions)
    arch_opt, output = _resolve_arch(arch, output)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    opts = _build_options(arch_opt, options)
    major, minor = nvrtc_version()
    key_parts = {
        "format": _FORMAT_VERSION,
        "source": source,
        "options": opts,
        "arch": arch_opt,
        "output": output,
        "names": names,
        "program": program_name,
        "nvrtc": [major, minor, nvrtc_build()],
        "toolkit_headers": headers_hash(include_dirs(), cache, toolkit=True),
        "user_headers": headers_hash(user_include_dirs(options), cache, toolkit=False),
    }
    key = hashlib.sha256(json.dumps(key_parts, sort_keys=True).encode()).hexdigest()
    path = cache / f"{key}.{output}"
    try:
        data = path.read_bytes()
    except OSError:
        data = None
    if data is not None:
        module = _decode_entry(data, key)
        if module is not None:
            _count("hits")
            log.debug("NVRTC cache hit %s (%s)", key[:16], path)
            return module
        _count("corrupt")
        log.warning("NVRTC cache entry %s is corrupt; recompiling", path)
    _count("misses")
    start = time.perf_counter()
    module = _run_nvrtc(source, program_name, opts, names, output, arch_opt)
    module = CompiledModule(image=module.image, format=module.format, arch=module.arch,
                            lowered_names=module.lowered_names, log=module.log, cache_key=key)
    log.info("NVRTC cache miss %s: compiled for %s in %.0f ms", key[:16], arch_opt,
             (time.perf_counter() - start) * 1e3)
    write_atomic(path, _encode_entry(module))
    return module
