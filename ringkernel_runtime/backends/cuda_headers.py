"""NVRTC's include folders and header hashes live in the compiler (`ringkernel_codegen.nvrtc.headers`);
this module re-exports them."""
from __future__ import annotations

from ringkernel_codegen.nvrtc.headers import (  # noqa: F401  (re-exported)
    DEFAULT_TOOLKIT_ROOTS, find_include_dirs, headers_hash, include_dirs, user_include_dirs,
    write_atomic,
)
