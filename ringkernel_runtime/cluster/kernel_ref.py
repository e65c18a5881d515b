"""How a ring kernel travels to a hosting process: by its module and name, never pickled.

A kernel's compiled handler and its @message classes cannot be pickled; the hosting process
imports the kernel's module (Ray gives its workers the driver's sys.path) and takes the kernel by
name, so both sides hold the same @message classes. A kernel defined in a script (`__main__`) is
loaded from the script's file under another module name: keep the script's work under
`if __name__ == "__main__":`.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass

from ..errors import LaunchError

_MAIN_ALIAS = "__ringkernel_main__"


@dataclass(frozen=True)
class KernelRef:
    module: str
    name: str
    path: str | None = None       # the file of a `__main__` module
    root: str | None = None       # the sys.path entry the module was imported from


def kernel_ref(kernel) -> KernelRef:
    fn = getattr(kernel, "__wrapped__", None) or getattr(kernel, "fn", None) or getattr(kernel, "handler", None)
    module = getattr(fn, "__module__", None)
    mod = sys.modules.get(module) if module else None
    if mod is not None:
        for attr, value in vars(mod).items():
            if value is kernel:
                file = getattr(mod, "__file__", None)
                path = file if module == "__main__" else None
                root = None
                if file is not None:
                    root = os.path.dirname(os.path.abspath(file))
                    for _ in range(module.count(".")):
                        root = os.path.dirname(root)
                return KernelRef(module, attr, path, root)
    raise LaunchError(f"ring kernel {getattr(kernel, 'name', kernel)!r} cannot be sent to another process: "
                      "RayRuntime needs it defined at the top level of an importable module (or script), "
                      "where the hosting process can import it by name")


def resolve(ref: KernelRef):
    """The kernel object `ref` names, imported in this process."""
    if ref.module == "__main__" or ref.path is not None:
        mod = sys.modules.get(_MAIN_ALIAS)
        if mod is None:
            spec = importlib.util.spec_from_file_location(_MAIN_ALIAS, ref.path)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[_MAIN_ALIAS] = mod
            spec.loader.exec_module(mod)
    else:
        if ref.root is not None and ref.root not in sys.path:
            try:
                importlib.import_module(ref.module)
            except ImportError:               # not on this process's path: where the driver found it
                sys.path.append(ref.root)
        mod = importlib.import_module(ref.module)
    try:
        return getattr(mod, ref.name)
    except AttributeError:
        raise LaunchError(f"ring kernel {ref.module}.{ref.name} is not in its module in the hosting "
                          "process; define it at the module's top level") from None
