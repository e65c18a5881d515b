"""Front end: the decorated function's own source, parsed with libcst, to untyped IR with spans."""
from .parse import parse_function, SourceInfo  # noqa: F401
