"""ringkernel codegen: Python kernels -> typed IR -> CUDA C++, numba.cuda and a CPU emulator."""
from .errors import RingKernelError, CodegenError  # noqa: F401
from .types import (  # noqa: F401
    f32, f64, i8, i16, i32, i64, u8, u16, u32, u64, boolean, Field1D, Field2D, Field3D,
)
