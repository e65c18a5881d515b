"""ringkernel codegen: Python kernels -> typed IR -> CUDA C++, numba.cuda and a CPU emulator."""
from .errors import RingKernelError, CodegenError, LaunchError, CompileError, KernelRuntimeError  # noqa: F401
from .errors import BackendUnavailableError  # noqa: F401
from .types import (  # noqa: F401
    f32, f64, i8, i16, i32, i64, u8, u16, u32, u64, boolean, Field1D, Field2D, Field3D,
)
from .kernel import kernel, stencil, device, Kernel, Stencil, KernelBase, DeviceFunction, default_backend  # noqa: F401

from .message import message, Array  # noqa: F401  (binds the decorator over the submodule name)
from .ring import ring_kernel, RingKernel  # noqa: F401
from .persistent_kernel import persistent, Persistent  # noqa: F401

__version__ = "0.1.0"
