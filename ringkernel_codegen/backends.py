"""Backends: where a kernel runs, as objects in one registry.

A backend pairs what the compiler writes for it (its emitters and the intrinsic-table column it
spells from) with a *provider* in the runtime that loads, launches and hosts actors:

    Backend("cuda", label="CUDA C++", emitter="cuda", ring_emitter="cuda_ring",
            provider="ringkernel_runtime.backends.cuda_backend")

The compiler never imports the runtime: a provider is loaded by the module name the registry
holds, the first time something runs on that backend (tinygrad's Device finds its runtimes the
same way). A provider module offers

    available() -> bool, unavailable_reason() -> str | None
    launch(kernel, grid, block, args)        run a @kernel / @stencil launch (args checked)
    start_persistent(kernel, geometry, args) start a @persistent kernel; returns its Simulation
    make_actor(...)                          Runtime's actors (and optionally make_pool, prepare,
                                             preload, admit: see ringkernel_runtime/runtime.py)

Everything that differs between backends is an attribute or a method here or in the provider;
nobody outside this module compares backend names. A new backend is one `register(Backend(...))`,
one emitter module (or reusing one) and one provider module.
"""
from __future__ import annotations

import importlib
import importlib.util
import threading
from dataclasses import dataclass, field

from .errors import BackendUnavailableError, RingKernelError
from .launch import MAX_SHARED_DEFAULT, MAX_SHARED_OPTIN

# what a lean `pip install ringkernel` (cpu backend, codegen, `ringkernel-codegen emit`) lacks for the GPU backends
CUDA_EXTRA = 'pip install "ringkernel[cuda]"'


def missing_module(module: str) -> bool:
    """True when `module` cannot be found (imports nothing but its parent packages)."""
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


@dataclass(eq=False)
class Backend:
    name: str                       # what users write: .to("cuda"), Runtime(backend="cuda")
    label: str                      # what errors call it: "CUDA C++"
    emitter: str                    # module of ringkernel_codegen.emit writing its kernels and stencils
    ring_emitter: str               # module of ringkernel_codegen.emit writing its ring-kernel actors
    provider: str                   # runtime module that launches and hosts actors (loaded lazily)
    accepts_device_arrays: bool     # __cuda_array_interface__ arguments (else numpy only)
    file_pattern: str = "{name}.txt"  # where `ringkernel-codegen emit` writes a kernel's source
    column: str = ""                # the intrinsic table's column, when it is not the emitter's name
    bounds_checked: "Backend | None" = None  # its variant that checks every index (.to(name, boundscheck=True))
    preference: int = 0             # "auto"/default picks the available backend with the highest
    requires: tuple[tuple[str, str], ...] = ()  # (module, distribution) it needs beyond the lean install
    max_shared_bytes: int = MAX_SHARED_DEFAULT  # shared memory per block (fixed + dynamic) a launch may use
    persistent_emitter: str | None = None  # module writing its @persistent kernels (default: <emitter>_persistent)
    _provider: object = field(default=None, repr=False)
    _missing: object = field(default=False, repr=False)  # missing()'s answer once known (False: not yet)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def spelling_key(self) -> str:
        """The intrinsic table's column this backend's emitters spell from."""
        return self.column or self.emitter

    def emit_module(self):
        return importlib.import_module(f"{__package__}.emit.{self.emitter}")

    def ring_emit_module(self):
        return importlib.import_module(f"{__package__}.emit.{self.ring_emitter}")

    def missing(self) -> str | None:
        """What to install when a package this backend needs is absent, or None. Never raises."""
        if self._missing is False:  # asked on every default launch: look once per process
            absent = [dist for module, dist in self.requires if missing_module(module)]
            self._missing = (f"{', '.join(absent)} {'is' if len(absent) == 1 else 'are'} not installed; "
                             f"{CUDA_EXTRA}") if absent else None
        return self._missing

    def persistent_emit_module(self):
        return importlib.import_module(f"{__package__}.emit.{self.persistent_emitter or self.emitter + '_persistent'}")

    def runtime(self):
        """The provider module (imported on first use)."""
        if self._provider is None:
            why = self.missing()
            if why is not None:
                raise BackendUnavailableError(f"the {self.name} backend needs {why}")
            with self._lock:
                if self._provider is None:
                    try:
                        self._provider = importlib.import_module(self.provider)
                    except ImportError as exc:
                        raise BackendUnavailableError(
                            f"the {self.name} backend's runtime ({self.provider}) cannot be imported: {exc}"
                        ) from exc
        return self._provider

    def unavailable_reason(self) -> str | None:
        """Why this backend cannot run here, or None when it can. Never raises."""
        why = self.missing()
        if why is not None:
            return why
        try:
            rt = self.runtime()
            return None if rt.available() else (rt.unavailable_reason() or "not available")
        except Exception as exc:  # noqa: BLE001 - any failure to reach it means: not here
            return f"{type(exc).__name__}: {exc}"

    def available(self) -> bool:
        return self.unavailable_reason() is None

    def require(self):
        """The provider, or BackendUnavailableError naming the cause."""
        why = self.unavailable_reason()
        if why is not None:
            raise BackendUnavailableError(f"the {self.name} backend is not available here ({why}); "
                                          "use .to('cpu') or Runtime(backend='cpu')")
        return self.runtime()

    def launch(self, kernel, grid, block, args, shared_bytes: int = 0) -> None:
        """Run a kernel launch; shared_bytes: dynamic shared memory per block (passed to the provider
        only when a launch asks for some)."""
        provider = self.require()
        if shared_bytes:
            provider.launch(kernel, grid, block, args, shared_bytes=shared_bytes)
        else:
            provider.launch(kernel, grid, block, args)

    def start_persistent(self, kernel, geometry, args):
        """Launch a @persistent kernel once; the provider returns the running simulation's handle."""
        provider = self.require()
        start = getattr(provider, "start_persistent", None)
        if start is None:
            raise BackendUnavailableError(f"the {self.name} backend cannot run @persistent kernels yet; "
                                          "use .to('cpu')")
        return start(kernel, geometry, args)

    def __repr__(self) -> str:
        return f"<backend {self.name}>"


_registry: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    if backend.name in _registry or backend.name == "auto":
        raise RingKernelError(f"a backend named {backend.name!r} is already registered")
    _registry[backend.name] = backend
    return backend


def names() -> tuple[str, ...]:
    return tuple(_registry)


def get(name) -> Backend:
    """The backend called `name` (a Backend passes through); unknown names list the known ones."""
    if isinstance(name, Backend):
        return name
    try:
        return _registry[name]
    except (KeyError, TypeError):
        raise RingKernelError(f"unknown backend {name!r}; use one of {', '.join(map(repr, _registry))}") from None


def default() -> Backend:
    """The available backend with the highest preference (cuda with a GPU, else cpu)."""
    for backend in sorted(_registry.values(), key=lambda b: -b.preference):
        if backend.preference > 0 and backend.available():
            return backend
    return _registry["cpu"]


def resolve(name) -> Backend:
    """`get`, with "auto" meaning `default()`."""
    return default() if name == "auto" else get(name)


CPU = register(Backend("cpu", "the CPU backend", "cpu", "cpu_ring", "ringkernel_runtime.backends.cpu_backend",
                       accepts_device_arrays=False, file_pattern="{name}_cpu.py", preference=1,
                       max_shared_bytes=MAX_SHARED_OPTIN))  # emulates the cuda backend's opt-in
# not registered: reached as CPU.bounds_checked (k.to("cpu", boundscheck=True), RINGKERNEL_BOUNDSCHECK=1)
CPU.bounds_checked = Backend("cpu-boundscheck", "the CPU backend (bounds-checked)", "cpu_checked", "cpu_ring",
                             "ringkernel_runtime.backends.cpu_checked_backend", accepts_device_arrays=False,
                             file_pattern="{name}_cpu_checked.py", column="cpu", max_shared_bytes=MAX_SHARED_OPTIN)
NUMBA = register(Backend("numba", "numba.cuda", "numba", "numba_ring", "ringkernel_runtime.backends.numba_backend",
                         accepts_device_arrays=True, file_pattern="{name}_numba.py",
                         requires=(("numba_cuda", "numba-cuda"),)))
CUDA = register(Backend("cuda", "CUDA C++", "cuda", "cuda_ring", "ringkernel_runtime.backends.cuda_backend",
                        accepts_device_arrays=True, file_pattern="{name}.cu", preference=2,
                        requires=(("cuda.bindings", "cuda-python"),),
                        max_shared_bytes=MAX_SHARED_OPTIN))  # opts in above 48 KiB (cuda_launch.py)

__all__ = ["Backend", "CPU", "CUDA", "CUDA_EXTRA", "NUMBA", "default", "get", "names", "register", "resolve"]
