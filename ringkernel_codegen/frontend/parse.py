"""libcst CST -> untyped IR. Every node gets a Span; every unsupported construct a CodegenError.

This module reads the function and its parameters; its body is built by parse_stmts.py and
parse_exprs.py, then lowered by lower.py.
"""
from __future__ import annotations

import sys
import textwrap

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ..errors import CodegenError, Span
from ..ir import nodes as ir
from .lower import Lowerer
from .parse_stmts import StmtBuilder
from .source import SourceInfo, get_source  # noqa: F401 - SourceInfo: frontend/__init__ imports it from here


# libcst's visitors recurse a few frames per nesting level: room for MAX_EXPR_DEPTH and more, so
# that a too-deep kernel reaches the depth check (an error with its position) instead of failing
# inside libcst
PARSE_RECURSION_LIMIT = 20000


def parse_function(fn, kind: str = "kernel", allow_untyped_first: bool = False) -> ir.Function:
    """Parse `fn`'s source into an untyped ir.Function (names unresolved)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, PARSE_RECURSION_LIMIT))
    try:
        return _parse_function(fn, kind, allow_untyped_first)
    finally:
        sys.setrecursionlimit(limit)


def _parse_function(fn, kind: str, allow_untyped_first: bool) -> ir.Function:
    src = get_source(fn)
    text = textwrap.dedent("".join(src.lines))
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise CodegenError(f"cannot parse kernel source: {exc.message}",
                           Span(src.file, src.first_line + exc.raw_line - 1, exc.raw_column + 1)) from None
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    builder = _Builder(src, positions, kind)
    fdef = next((s for s in wrapper.module.body if isinstance(s, cst.FunctionDef)), None)
    if fdef is None:
        raise CodegenError(f"{getattr(fn, '__name__', fn)!r} is not a plain function definition",
                           Span(src.file, src.first_line, 1, src.lines[0] if src.lines else ""))
    return builder.function(fdef, allow_untyped_first)


class _Builder(StmtBuilder):
    """Builds one function: its parameters here, its body from StmtBuilder and ExprBuilder."""

    # ------------------------------------------------------------------ function
    def function(self, fdef: cst.FunctionDef, allow_untyped_first: bool) -> ir.Function:
        if fdef.asynchronous is not None:
            self.error(fdef, "async functions cannot be kernels", "remove `async`")
        p = fdef.params
        if isinstance(p.star_arg, cst.Param):
            self.error(p.star_arg, "*args parameters are not supported in kernels",
                       "declare each parameter with a type annotation")
        if isinstance(p.star_kwarg, cst.Param):
            self.error(p.star_kwarg, "**kwargs parameters are not supported in kernels",
                       "declare each parameter with a type annotation")
        params = []
        all_params = list(p.posonly_params) + list(p.params) + list(p.kwonly_params)
        for i, param in enumerate(all_params):
            if param.default is not None:
                self.error(param.default, f"parameter '{param.name.value}' has a default value",
                           "kernel parameters cannot have defaults; pass every argument")
            annotation = param.annotation.annotation if param.annotation is not None else None
            if annotation is None and not (allow_untyped_first and i == 0):
                self.error(param, f"parameter '{param.name.value}' has no type annotation",
                           "annotate it, e.g. `x: f32[:]` for an array or `n: i32` for a scalar")
            params.append(ir.Param(param.name.value, annotation, span=self.span(param)))
        body = Lowerer(self.temp).block(self.block(fdef.body))
        returns = fdef.returns.annotation if fdef.returns is not None else None
        fn = ir.Function(fdef.name.value, params, body, kind=self.kind, return_type=returns,
                         span=self.span(fdef.name), file=self.src.file, temps=self.temps)
        return fn
