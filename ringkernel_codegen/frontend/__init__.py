"""Front end: the decorated function's own source, parsed with libcst, to untyped IR with spans.

libcst is imported by the first parse, not by importing this package: a process whose kernels all
come from the compile cache (ringkernel_codegen/cache.py) never imports it.
"""
from __future__ import annotations

from .source import SourceInfo  # noqa: F401


def parse_function(fn, kind: str = "kernel", allow_untyped_first: bool = False):
    """Parse `fn`'s source into an untyped ir.Function (names unresolved): frontend/parse.py."""
    from .parse import parse_function as parse

    return parse(fn, kind, allow_untyped_first)
