"""Compiler messages about generated CUDA C++ mapped back to the Python line they came from.

Two kinds of message reach us:
- the front end's (nvcc, NVRTC, the host compiler) name a line of the `.cu`; the CUDA emitter writes
  `// file.py:LINE: source` above every statement, so the nearest such comment above that line
  names the Python line;
- ptxas's and nvlink's name a line of the *PTX* (`ptxas x.ptx, line 48; error : ...`) or nothing.
  Compiled with `-lineinfo`, the PTX carries `.loc FILE LINE COL` directives (with `inlined_at`
  for inlined helpers): the nearest `.loc` above the failing PTX line gives the `.cu` line, and
  that `.cu` line's comment the Python line. Without line info the message names the kernel and
  gives a hint.

`kernel_compile_error` turns a failed compile into one CompileError naming the kernel.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..errors import CompileError

# `k.cu(261): error: msg` (nvcc/NVRTC front end) and `k.cu:8:9: warning: msg` (host compiler).
_DIAG = re.compile(r"^(?P<file>[^\s(:][^(:]*?)(?:\((?P<line>\d+)\)|:(?P<gline>\d+):\d+):\s*"
                   r"(?P<severity>catastrophic error|fatal error|error|warning|remark)[^:]*:\s*(?P<message>.*)$")
# The comment the CUDA emitter writes above every statement: `// file.py:LINE: source`.
_SOURCE_COMMENT = re.compile(r"^\s*// (?P<file>[^\s:]+\.py):(?P<line>\d+): (?P<text>.*)$")
# `ptxas /tmp/x.ptx, line 48; error   : msg`, `ptxas application ptx input, line 48; error : msg`,
# `nvlink error   : msg`; ptxas's closing `fatal : Ptx assembly aborted` carries no news and is skipped.
_TOOL_DIAG = re.compile(r"^(?P<tool>ptxas|nvlink)\b(?P<where>[^;:]*?)(?:, line (?P<line>\d+))?;?\s*"
                        r"(?P<severity>error|warning|fatal)\s*:\s*(?P<message>.*)$")
_LOC = re.compile(r"^\s*\.loc\s+(?P<file>\d+)\s+(?P<line>\d+)\s+\d+(?P<rest>.*)$")
_INLINED_AT = re.compile(r"inlined_at\s+(?P<file>\d+)\s+(?P<line>\d+)\s+\d+")
_FILE = re.compile(r'^\s*\.file\s+(?P<index>\d+)\s+"(?P<path>[^"]*)"')
_NEWER_TARGET = re.compile(r"requires \.target (?P<arch>sm_\d+\w*) or higher")


@dataclass(frozen=True)
class Diagnostic:
    """One compiler message, mapped back to the Python line the generated statement came from."""

    severity: str
    message: str
    cu_file: str
    cu_line: int | None
    py_file: str | None = None
    py_line: int | None = None
    py_text: str = ""
    tool: str = ""            # "ptxas" / "nvlink" for messages about PTX or linking, else ""
    ptx_line: int | None = None

    def render(self) -> str:
        what = f"{self.tool} {self.severity}" if self.tool else self.severity
        if self.py_file is None:
            where = self.cu_file if self.cu_line is None else f"{self.cu_file}:{self.cu_line}"
            return f"{where}: {what}: {self.message}"
        text = f"{self.py_file}:{self.py_line}: {what}: {self.message}"
        if self.py_text:
            text += f"\n    {self.py_text}"
        generated = f"generated {self.cu_file}:{self.cu_line}"
        if self.ptx_line is not None:
            generated += f", PTX line {self.ptx_line}"
        return text + f"\n    ({generated})"


def map_diagnostics(cu_text: str, log: str, py_files: dict[str, str] | None = None,
                    cu_name: str | None = None) -> list[Diagnostic]:
    """Front-end messages about `cu_text` -> Diagnostics at the nearest preceding `// f.py:N:` line.

    `py_files` maps a basename from the comments to its full path (to quote the real source line);
    `cu_name` names the .cu in messages (default: the name the compiler used).
    """
    cu_lines = cu_text.splitlines()
    out = []
    for raw in log.splitlines():
        m = _DIAG.match(raw.strip())
        if not m or m["file"].startswith(("ptxas", "nvlink")):
            continue
        cu_line = int(m["line"] or m["gline"])
        severity = "error" if "error" in m["severity"] else m["severity"]
        out.append(_at_cu_line(cu_lines, cu_line, severity, m["message"], cu_name or m["file"], py_files))
    return out


def map_tool_diagnostics(cu_text: str, log: str, ptx_text: str | None, py_files: dict[str, str] | None = None,
                         cu_name: str = "kernel.cu") -> list[Diagnostic]:
    """ptxas / nvlink messages -> Diagnostics, through the PTX's `.loc` line info where it has some."""
    cu_lines = cu_text.splitlines()
    ptx_lines = ptx_text.splitlines() if ptx_text else []
    out = []
    for raw in log.splitlines():
        m = _TOOL_DIAG.match(raw.strip())
        if not m or (m["severity"] == "fatal" and "aborted" in m["message"]):
            continue
        severity = "error" if m["severity"] == "fatal" else m["severity"]
        ptx_line = int(m["line"]) if m["line"] else None
        cu_line = ptx_origin(ptx_lines, ptx_line, cu_name) if ptx_line is not None else None
        if cu_line is None:
            out.append(Diagnostic(severity, m["message"], cu_name, None, tool=m["tool"], ptx_line=ptx_line))
            continue
        d = _at_cu_line(cu_lines, cu_line, severity, m["message"], cu_name, py_files or {})
        out.append(Diagnostic(d.severity, d.message, d.cu_file, d.cu_line, d.py_file, d.py_line, d.py_text,
                              tool=m["tool"], ptx_line=ptx_line))
    return out


def has_tool_errors(log: str) -> bool:
    """Did ptxas or nvlink (rather than the C++ front end) refuse?"""
    return any((m := _TOOL_DIAG.match(raw.strip())) and m["severity"] != "warning" for raw in log.splitlines())


def ptx_origin(ptx_lines: list[str], ptx_line: int, cu_name: str) -> int | None:
    """The `.cu` line the PTX instruction at `ptx_line` came from: the nearest `.loc` at or above it
    in a file called like `cu_name` (its `inlined_at` site when the instruction is an inlined helper)."""
    files = {}
    for line in ptx_lines:
        f = _FILE.match(line)
        if f:
            files[f["index"]] = f["path"].replace("\\", "/").rsplit("/", 1)[-1]
    ours = {i for i, base in files.items() if base == cu_name} or set(files) or None
    for i in range(min(ptx_line, len(ptx_lines)) - 1, -1, -1):
        loc = _LOC.match(ptx_lines[i])
        if loc is None:
            continue
        site = _INLINED_AT.search(loc["rest"])
        file, line = (site["file"], site["line"]) if site else (loc["file"], loc["line"])
        if ours is None or file in ours:
            return int(line)
        return None
    return None


def kernel_compile_error(kernel_name: str, arch: str, log: str, diagnostics: list[Diagnostic],
                         emit_hint: str = "") -> CompileError:
    """One error for a kernel that did not compile: its mapped messages, or the raw log when none
    could be read, and a hint (a newer --arch for a feature ptxas refuses; where to see the code)."""
    shown = [d for d in diagnostics if d.severity == "error"]
    lines = [f"kernel {kernel_name} failed to compile for {arch}:"]
    lines += [d.render() for d in shown] if shown else [log.strip()]
    newer = next((m["arch"] for d in shown if (m := _NEWER_TARGET.search(d.message))), None)
    hints = []
    if newer:
        hints.append(f"kernel {kernel_name} uses a feature of {newer} or newer: compile for {newer} "
                     "(or newer), or run it on such a GPU")
    if shown and all(d.py_file is None for d in shown):
        hints.append("the compiler's message carries no Python line")
    if emit_hint:
        hints.append(emit_hint)
    if hints:
        lines.append("hint: " + "; ".join(hints))
    return CompileError("\n".join(lines))


def nvrtc_kernel_error(kernel, error: CompileError, arch: str | None = None) -> CompileError:
    """`error` (NVRTC refused `kernel`'s CUDA C++) as kernel_compile_error: the source is compiled
    again with -lineinfo, and to PTX when ptxas refused, so each message finds its Python line.
    Returns `error` itself when it was not NVRTC's or NVRTC is not there to ask again."""
    from .compiler import compile_cuda, default_arch

    if not str(error).startswith("NVRTC could not compile"):
        return error
    arch = arch or default_arch()
    name, cu_text = kernel.name, kernel.cuda_source()
    code = getattr(getattr(kernel, "fn", None), "__code__", None)
    py_files = {os.path.basename(code.co_filename): code.co_filename} if code else {}
    cu_name = f"{name}.cu"
    try:
        compile_cuda(cu_text, arch=arch, options=("-lineinfo",), program_name=cu_name)
        return error  # compiles with line info: nothing better to say than the original log
    except CompileError as exc:
        log = str(exc)
    except Exception:  # noqa: BLE001 - explaining must never hide the original error
        return error
    ptx = None
    if has_tool_errors(log):
        try:
            image = compile_cuda(cu_text, arch=arch, options=("-lineinfo",), output="ptx", program_name=cu_name).image
            ptx = image.rstrip(b"\0").decode(errors="replace")
        except Exception:  # noqa: BLE001 - no PTX: the messages keep the kernel's name only
            pass
    diags = map_diagnostics(cu_text, log, py_files, cu_name) + map_tool_diagnostics(cu_text, log, ptx, py_files,
                                                                                     cu_name)
    return kernel_compile_error(name, arch, log, diags,
                                f"see the generated code with: print({name}.cuda_source())")


def _at_cu_line(cu_lines: list[str], cu_line: int, severity: str, message: str, cu_name: str,
                py_files: dict[str, str]) -> Diagnostic:
    origin = _origin(cu_lines, cu_line)
    if origin is None:
        return Diagnostic(severity, message, cu_name, cu_line)
    base, py_line, comment_text = origin
    py_path = py_files.get(base, base)
    return Diagnostic(severity, message, cu_name, cu_line, py_path, py_line,
                      _python_line(py_path, py_line) or comment_text)


def _origin(cu_lines: list[str], cu_line: int):
    """(file, line, text) of the nearest `// file.py:N: source` comment at or above cu_line."""
    for i in range(min(cu_line, len(cu_lines)) - 1, -1, -1):
        m = _SOURCE_COMMENT.match(cu_lines[i])
        if m:
            return m["file"], int(m["line"]), m["text"]
    return None


def _python_line(path: str, line: int) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return ""
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


__all__ = ["Diagnostic", "has_tool_errors", "kernel_compile_error", "map_diagnostics", "map_tool_diagnostics",
           "nvrtc_kernel_error", "ptx_origin"]
