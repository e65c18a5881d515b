"""A kernel's own source text: its file, first line, lines and indentation."""
from __future__ import annotations

import inspect
from dataclasses import dataclass

from ..errors import CodegenError


@dataclass
class SourceInfo:
    file: str
    first_line: int
    lines: list
    indent: int


def get_source(fn) -> SourceInfo:
    try:
        lines, first = inspect.getsourcelines(fn)
        file = inspect.getsourcefile(fn) or "<unknown>"
    except (OSError, TypeError) as exc:
        raise CodegenError(
            f"cannot read the source of {getattr(fn, '__name__', fn)!r} ({exc})",
            hint="kernels must be defined in a .py file (or a notebook cell), not built with exec()") from None
    indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
    return SourceInfo(file=file, first_line=first, lines=lines, indent=indent)
