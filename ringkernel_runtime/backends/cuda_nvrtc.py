"""NVRTC compilation lives in the compiler (`ringkernel_codegen.nvrtc`); this module re-exports it
and tells it the device's arch: compile_cuda(arch=None) compiles for this process's GPU (cuda_driver's
default_arch, sm_90 without a device).

Patch `ringkernel_codegen.nvrtc.compiler`, not this module, to change what compile_cuda uses.
"""
from __future__ import annotations

from ringkernel_codegen.nvrtc import compiler as _compiler
from ringkernel_codegen.nvrtc.compiler import (  # noqa: F401  (re-exported)
    CacheStats, CompiledModule, cache_stats, compile_cuda, default_cache_dir, include_dirs,
    nvrtc_build, nvrtc_version, reset_cache_stats, supported_archs,
)


def _device_arch() -> str:
    from .cuda_driver import default_arch  # lazy: the driver is only asked, never required

    return default_arch()


_compiler.set_default_arch(_device_arch)
