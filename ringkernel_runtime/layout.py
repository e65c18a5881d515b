"""The binary layouts the host, the CPU actor loop and the CUDA side share.

They are a contract with the generated code, so they live in the compiler's contracts package,
`ringkernel_codegen.abi.layout`; this module re-exports them under their old names.
"""
from __future__ import annotations

from ringkernel_codegen.abi.layout import (  # noqa: F401  (re-exported)
    CB, CB_WORDS, CONTROL_BLOCK, K2K_ROUTE, LAYOUTS, MESSAGE_HEADER, QH_CAPACITY, QH_HEAD, QH_LOCK,
    QH_MASK, QH_PAYLOAD_SIZE, QH_TAIL, QH_TYPE_ID, QH_WORDS, QUEUE_HEADER, QUEUE_LINE, Field, Layout,
    c_header, c_type_of,
)

__all__ = [
    "Field", "Layout", "c_type_of", "c_header", "CONTROL_BLOCK", "QUEUE_LINE", "QUEUE_HEADER",
    "MESSAGE_HEADER", "K2K_ROUTE", "LAYOUTS", "CB", "CB_WORDS", "QH_HEAD", "QH_TAIL", "QH_CAPACITY",
    "QH_MASK", "QH_LOCK", "QH_TYPE_ID", "QH_PAYLOAD_SIZE", "QH_WORDS",
]
