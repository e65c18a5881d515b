"""`ringkernel-codegen`: emit, compile-check and document kernels from the shell.

    ringkernel-codegen emit FILE.py [-k NAME] [--backend cuda|numba|cpu] [-o DIR (default ./build)]
    ringkernel-codegen check FILE.py [-k NAME] [--compiler auto|nvcc|nvrtc] [--arch sm_90]
    ringkernel-codegen intrinsics [NAME] [--markdown] [--category NAME]

Exit status: 0 on success, 1 on any error (a RingKernelError's text goes to stderr: file:line:col,
the source line, a caret and a hint; never a traceback), 2 on a usage error.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import backends
from .errors import BackendUnavailableError, CompileError, RingKernelError
from .nvrtc.diagnose import (  # noqa: F401  (Diagnostic, map_diagnostics: re-exported, tests use them)
    Diagnostic, has_tool_errors, kernel_compile_error, map_diagnostics, map_tool_diagnostics,
)

NVCC_FLAGS = ("-std=c++17", "-c")

# ---------------------------------------------------------------------------- loading kernels
def load_kernels(path: str | os.PathLike) -> list:
    """Import FILE.py from its path (its folder on sys.path) and return its module-level kernels."""
    from .kernel import KernelBase
    from .ring import RingKernel

    path = Path(path).resolve()
    if not path.is_file():
        raise RingKernelError(f"{path}: no such file")
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = path.stem if path.stem.isidentifier() else "_rk_cli_module"
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) != str(path):
        name = f"_rk_cli_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RingKernelError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and @message look their module up here
    try:
        spec.loader.exec_module(module)
    except RingKernelError:
        sys.modules.pop(name, None)
        raise
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise RingKernelError(_syntax_error(exc)) from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed: say where, not a traceback
        sys.modules.pop(name, None)
        raise RingKernelError(_import_error(path, exc)) from None
    kernels, seen = [], set()
    for obj in vars(module).values():
        if isinstance(obj, (KernelBase, RingKernel)) and id(obj) not in seen:
            seen.add(id(obj))
            kernels.append(obj)
    return kernels


def _syntax_error(exc: SyntaxError) -> str:
    lines = [f"{exc.filename}:{exc.lineno}:{exc.offset or 1}: error: {exc.msg}"]
    if exc.text:
        lines += [f"    {exc.text.rstrip()}", "    " + " " * max((exc.offset or 1) - 1, 0) + "^"]
    return "\n".join(lines)


def _import_error(path: Path, exc: Exception) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    text = f"error: importing {path.name} failed: {type(exc).__name__}: {exc}"
    if frames:
        frame = frames[-1]
        text = f"{frame.filename}:{frame.lineno}: {text}\n    {(frame.line or '').strip()}"
    return text


def select(kernels: list, names: list[str] | None, path: str) -> list:
    """The kernels named by -k (all when none given); an unknown name is an error."""
    if not kernels:
        raise RingKernelError(f"{path}: no kernels found (module-level @kernel / @stencil / @ring_kernel objects)")
    if not names:
        return kernels
    by_name = {k.name: k for k in kernels}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise RingKernelError(f"{path}: no kernel named {', '.join(map(repr, missing))}; "
                              f"kernels here: {', '.join(sorted(by_name))}")
    return [by_name[n] for n in dict.fromkeys(names)]


# ---------------------------------------------------------------------------- emit
def cmd_emit(args) -> int:
    kernels = select(load_kernels(args.file), args.kernel, args.file)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    pattern = backends.get(args.backend).file_pattern
    for k in kernels:
        text = k.source(args.backend)
        if not text.endswith("\n"):
            text += "\n"
        target = out / pattern.format(name=k.name)
        target.write_bytes(text.encode())
        print(f"wrote {target}")
    return 0


# ---------------------------------------------------------------------------- check
def compile_with_nvcc(cu_text: str, name: str, arch: str, nvcc: str) -> tuple[bool, str, str | None]:
    """nvcc -arch=ARCH -std=c++17 -c -lineinfo NAME.cu; (succeeded, compiler output, the PTX ptxas
    was given when ptxas or nvlink refused it: its `.loc` lines lead back to the Python line)."""
    with tempfile.TemporaryDirectory(prefix="rk_check_") as tmp:
        cu = Path(tmp) / f"{name}.cu"
        cu.write_text(cu_text)
        proc = subprocess.run([nvcc, f"-arch={arch}", *NVCC_FLAGS, "-lineinfo", "--keep", "--keep-dir", tmp,
                               str(cu), "-o", str(cu.with_suffix(".o"))],
                              capture_output=True, text=True, cwd=tmp)
        log = proc.stdout + proc.stderr
        ptx = None
        if proc.returncode != 0 and has_tool_errors(log):
            kept = sorted(Path(tmp).glob("*.ptx"))
            ptx = kept[0].read_text(errors="replace") if kept else None
    return proc.returncode == 0, log, ptx


def compile_with_nvrtc(cu_text: str, name: str, arch: str) -> tuple[bool, str, str | None]:
    """NVRTC through the CUDA backend (no GPU needed), with -lineinfo; (succeeded, compiler log, the
    PTX when ptxas refused: NVRTC hands ptxas the same PTX it returns for output="ptx")."""
    from .nvrtc import compile_cuda

    try:
        compile_cuda(cu_text, arch=arch, options=("-lineinfo",), program_name=f"{name}.cu")
    except CompileError as exc:
        ptx = None
        if has_tool_errors(str(exc)):
            try:
                image = compile_cuda(cu_text, arch=arch, options=("-lineinfo",), output="ptx",
                                     program_name=f"{name}.cu").image
                ptx = image.rstrip(b"\0").decode(errors="replace")
            except (CompileError, ValueError):
                pass
        return False, str(exc), ptx
    return True, "", None


def _compiler(choice: str) -> tuple[str, str | None]:
    nvcc = shutil.which("nvcc")
    if choice == "nvcc" and nvcc is None:
        raise BackendUnavailableError("nvcc not found on PATH; use --compiler nvrtc")
    if choice == "auto":
        choice = "nvcc" if nvcc else "nvrtc"
    return choice, nvcc


def check_kernel(kernel, compiler: str, arch: str, nvcc: str | None) -> tuple[bool, list[Diagnostic], str]:
    """Compile one kernel's CUDA C++; (ok, diagnostics mapped to Python lines, raw log)."""
    cu_text = kernel.cuda_source()
    if compiler == "nvcc":
        ok, log, ptx = compile_with_nvcc(cu_text, kernel.name, arch, nvcc)
    else:
        ok, log, ptx = compile_with_nvrtc(cu_text, kernel.name, arch)
    source_file = getattr(getattr(kernel, "fn", None), "__code__", None)
    py_files = {os.path.basename(source_file.co_filename): source_file.co_filename} if source_file else {}
    cu_name = f"{kernel.name}.cu"
    diags = map_diagnostics(cu_text, log, py_files, cu_name=cu_name)
    diags += map_tool_diagnostics(cu_text, log, ptx, py_files, cu_name=cu_name)
    return ok, diags, log


def cmd_check(args) -> int:
    kernels = select(load_kernels(args.file), args.kernel, args.file)
    compiler, nvcc = _compiler(args.compiler)
    for k in kernels:  # emitter errors surface here, before any compiler runs
        k.cuda_source()
    with ThreadPoolExecutor(max_workers=max(1, min(len(kernels), os.cpu_count() or 1))) as pool:
        results = list(pool.map(lambda k: check_kernel(k, compiler, args.arch, nvcc), kernels))
    failed = 0
    for k, (ok, diags, log) in zip(kernels, results):
        if ok:
            print(f"ok      {k.name} ({compiler} -arch={args.arch})")
        else:
            failed += 1
            print(f"FAILED  {k.name} ({compiler} -arch={args.arch})")
        if args.warnings:
            for d in diags:
                if d.severity != "error":
                    print(d.render(), file=sys.stderr)
        if not ok:  # the kernel's name, each error at its Python line (or the raw log), a hint
            print(kernel_compile_error(k.name, f"{args.arch} ({compiler})", log, diags), file=sys.stderr)
    if failed:
        bad = [k.name for k, (ok, _, _) in zip(kernels, results) if not ok]
        print(f"{failed} of {len(kernels)} kernel(s) failed to compile; see the generated code with: "
              f"ringkernel-codegen emit {args.file} " + " ".join(f"-k {name}" for name in bad), file=sys.stderr)
        return 1
    print(f"{len(kernels)} kernel(s) compiled")
    return 0


# ---------------------------------------------------------------------------- intrinsics
def _backends(entry) -> list[str]:
    from .intrinsics import BACKENDS

    def ok(spell) -> bool:
        if isinstance(spell, dict):
            return any(ok(v) for v in spell.values())
        return not str(spell).startswith("unsupported")

    return [b for b in BACKENDS if ok(entry.spellings.get(b, "unsupported"))]


def intrinsic_rows(category: str | None = None) -> list[dict]:
    """One row per intrinsic, sorted by category then name."""
    from .intrinsics import table

    rows = []
    for entry in table().values():
        if category and entry.category != category:
            continue
        rows.append({"name": entry.name, "signature": entry.signature(), "category": entry.category,
                     "backends": _backends(entry), "doc": " ".join(entry.doc.split())})
    return sorted(rows, key=lambda r: (r["category"], r["name"]))


def render_markdown(rows: list[dict]) -> str:
    from .intrinsics import BACKENDS

    def cell(s: str) -> str:
        return s.replace("|", "\\|")

    out = ["| name | signature | category | " + " | ".join(BACKENDS) + " | doc |",
           "|---|---|---|" + "---|" * len(BACKENDS) + "---|"]
    for r in rows:
        marks = " | ".join("yes" if b in r["backends"] else "-" for b in BACKENDS)
        out.append(f"| `{r['name']}` | `{cell(r['signature'])}` | {r['category']} | {marks} | {cell(r['doc'])} |")
    return "\n".join(out) + "\n"


def render_text(rows: list[dict]) -> str:
    cols = [("name", lambda r: r["name"]), ("signature", lambda r: r["signature"]),
            ("category", lambda r: r["category"]), ("backends", lambda r: ",".join(r["backends"])),
            ("doc", lambda r: r["doc"])]
    cells = [[get(r) for _, get in cols] for r in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, (h, _) in enumerate(cols)]
    widths[-1] = 0  # the doc column is last: never pad it

    def line(values):
        return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()

    return "\n".join([line([h for h, _ in cols]), line(["-" * w for w in widths[:-1]] + ["---"])]
                     + [line(c) for c in cells]) + "\n"


def describe_intrinsic(name: str) -> str:
    """One intrinsic in full: signature, doc, allowed types, aliases and each backend's spelling."""
    import difflib

    from .intrinsics import COLUMNS, table
    entries = table()
    if name not in entries:
        close = difflib.get_close_matches(name, list(entries), n=3)
        raise RingKernelError(f"no intrinsic named {name!r}" + (f"; did you mean {', '.join(close)}?" if close
                                                                 else "; list them with: ringkernel-codegen intrinsics"))
    e = entries[name]
    lines = [f"{e.name}{e.signature()}    [{e.category}, {e.kind}; {e.source}]", "", e.doc, ""]
    if e.T:
        lines.append(f"T: {', '.join(e.T)}")
    if e.E:
        lines.append(f"E: {', '.join(e.E)}")
    if e.aliases:
        lines.append(f"also written: {', '.join(e.aliases)}")
    lines.append("spellings:")
    for col, label in COLUMNS.items():
        spell = e.spellings.get(col, f"unsupported: {e.source} gives no {col} spelling")
        if isinstance(spell, dict):
            lines.append(f"  {col:6s} ({label}):")
            lines += [f"    {bound:8s} {text}" for bound, text in spell.items()]
        else:
            lines.append(f"  {col:6s} ({label}): {spell}")
    return "\n".join(lines) + "\n"


def cmd_intrinsics(args) -> int:
    if args.name:
        sys.stdout.write(describe_intrinsic(args.name))
        return 0
    rows = intrinsic_rows(args.category)
    if not rows:
        known = sorted({r["category"] for r in intrinsic_rows()})
        raise RingKernelError(f"no intrinsics in category {args.category!r}; categories: {', '.join(known)}")
    sys.stdout.write(render_markdown(rows) if args.markdown else render_text(rows))
    return 0


# ---------------------------------------------------------------------------- entry point
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ringkernel-codegen",
                                     description="Emit and check the code ringkernel generates from Python kernels.")
    from . import __version__
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show Python tracebacks for unexpected internal errors (for bug reports)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    emit = sub.add_parser("emit", help="write one file per kernel (NAME.cu, NAME_numba.py or NAME_cpu.py)",
                          description="Import FILE.py and write the generated source of each module-level "
                                      "kernel: NAME.cu (--backend cuda), NAME_numba.py (--backend numba) or "
                                      "NAME_cpu.py (--backend cpu: the CPU emulator's njit module).")
    emit.add_argument("file", metavar="FILE.py")
    emit.add_argument("-k", "--kernel", action="append", metavar="NAME", help="only this kernel (repeatable)")
    emit.add_argument("--backend", choices=backends.names(), default="cuda", help="default: cuda")
    emit.add_argument("-o", "--output", default="build", metavar="DIR", help="output folder (default: ./build)")
    emit.set_defaults(func=cmd_emit)

    check = sub.add_parser("check", help="compile every kernel's CUDA C++ and map errors to Python lines",
                           description="Compile each kernel's CUDA C++ with nvcc (-arch=sm_90 -std=c++17 -c), "
                                       "or NVRTC when nvcc is missing, and report compiler errors at the "
                                       "Python line the failing statement came from.")
    check.add_argument("file", metavar="FILE.py")
    check.add_argument("-k", "--kernel", action="append", metavar="NAME", help="only this kernel (repeatable)")
    check.add_argument("--compiler", choices=("auto", "nvcc", "nvrtc"), default="auto",
                       help="auto: nvcc if on PATH, else NVRTC")
    check.add_argument("--arch", default="sm_90", help="GPU architecture (default: sm_90)")
    check.add_argument("--warnings", action="store_true", help="also report compiler warnings")
    check.set_defaults(func=cmd_check)

    intr = sub.add_parser("intrinsics", help="list every intrinsic and the backends that support it",
                          description="List every intrinsic (name, signature, category, backends, doc).")
    intr.add_argument("name", nargs="?", metavar="NAME", help="show this intrinsic in full (doc, types, spellings)")
    intr.add_argument("--markdown", action="store_true", help="a Markdown table instead of plain text")
    intr.add_argument("--category", metavar="NAME", help="only this category")
    intr.set_defaults(func=cmd_intrinsics)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) and usage errors (2): argparse already printed
        return int(exc.code or 0)
    try:
        return args.func(args)
    except RingKernelError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - an internal bug: one clear line unless asked for more
        if args.traceback:
            traceback.print_exc()
        else:
            print(f"internal error: {type(exc).__name__}: {exc}\n"
                  "this is a ringkernel bug; rerun with --traceback and report it", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
