"""The cuda backend's runtime (backends.CUDA's provider): kernels and stencils compiled with NVRTC and
launched through cuda-python (cooperatively for a grid barrier, as clusters for cluster_sync),
actors as resident blocks of the CUDA C++ actor loop (cuda_actor.py)."""
from __future__ import annotations

from ringkernel_codegen.errors import CompileError
from ringkernel_codegen.nvrtc.diagnose import nvrtc_kernel_error

from .cuda import launch_source
from .cuda_actor import admit, make_actor, make_pool, prepare, preload
from .cuda_driver import available, unavailable_reason


def launch(kernel, grid, block, args, shared_bytes: int = 0) -> None:
    try:
        launch_source(kernel.cuda_source(), kernel.name, grid, block, kernel._cuda_args(args), shared_mem=shared_bytes,
                      cooperative=kernel._needs_cooperative(), cluster=kernel.cluster)
    except CompileError as exc:  # NVRTC's log, mapped to the kernel and its Python lines
        raise nvrtc_kernel_error(kernel, exc) from None


def start_persistent(kernel, geometry, args):
    """One cooperative launch of a @persistent kernel's resident loop (cuda_persistent.py)."""
    from .cuda_persistent import start_persistent as start

    return start(kernel, geometry, args)


__all__ = ["admit", "available", "launch", "make_actor", "make_pool", "prepare", "preload", "start_persistent",
           "unavailable_reason"]
