"""NVRTC compilation of CUDA C++ with an on-disk cache: a compiler concern, it needs no GPU.

    compiler   compile_cuda, CompiledModule, the cache and its counters, default_arch
    headers    the toolkit include folders NVRTC gets, and header-tree hashes for the cache key
    diagnose   compiler messages (front end, ptxas through the PTX's -lineinfo, nvlink) mapped back to
               the kernel and its Python lines; the CompileError a user sees

`ringkernel-codegen check` compiles through it; the runtime's CUDA backend loads what it returns
(ringkernel_runtime.backends.cuda re-exports these names). Patch module attributes on
`ringkernel_codegen.nvrtc.compiler` (e.g. include_dirs), where compile_cuda looks them up.
"""
from __future__ import annotations

from .compiler import (  # noqa: F401  (re-exported API)
    NO_DEVICE_ARCH, CacheStats, CompiledModule, cache_stats, compile_cuda, default_arch,
    default_cache_dir, nvrtc_build, nvrtc_version, reset_cache_stats, set_default_arch,
    supported_archs,
)
from .headers import find_include_dirs, include_dirs  # noqa: F401

__all__ = [
    "compile_cuda", "CompiledModule", "CacheStats", "cache_stats", "reset_cache_stats",
    "default_cache_dir", "default_arch", "set_default_arch", "NO_DEVICE_ARCH", "nvrtc_version",
    "nvrtc_build", "supported_archs", "find_include_dirs", "include_dirs",
]
