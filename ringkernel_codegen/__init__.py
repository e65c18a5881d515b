"""ringkernel codegen: Python kernels -> typed IR -> CUDA C++, numba.cuda and a CPU emulator."""
from .errors import RingKernelError, CodegenError, LaunchError, CompileError, KernelRuntimeError  # noqa: F401
from .errors import BackendUnavailableError  # noqa: F401
from .types import (  # noqa: F401
    f32, f64, i8, i16, i32, i64, u8, u16, u32, u64, boolean, Field1D, Field2D, Field3D,
)
from .kernel import kernel, stencil, device, Kernel, Stencil, KernelBase, DeviceFunction, default_backend  # noqa: F401

from .message import message, Array  # noqa: F401  (binds the decorator over the submodule name)

__version__ = "0.1.0"

# Imported on first use (PEP 562), so that a process launching a cached @kernel never loads the
# passes and the IR the actor and persistent decorators import: name -> (submodule, attribute).
# (`message` stays eager: once anything imported the submodule, the package attribute would be it.)
_LAZY = {"ring_kernel": ("ring", "ring_kernel"), "RingKernel": ("ring", "RingKernel"),
         "persistent": ("persistent_kernel", "persistent"), "Persistent": ("persistent_kernel", "Persistent")}


__all__ = ["RingKernelError", "CodegenError", "LaunchError", "CompileError", "KernelRuntimeError",
           "BackendUnavailableError", "f32", "f64", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64",
           "boolean", "Field1D", "Field2D", "Field3D", "kernel", "stencil", "device", "Kernel", "Stencil",
           "KernelBase", "DeviceFunction", "default_backend", "message", "Array", *_LAZY]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_LAZY])
