"""Decorated kernels: @kernel, @stencil, @device. Each holds its typed IR and emits/launches lazily."""
from __future__ import annotations

import copy
import functools
import math

from . import compile as C
from .errors import CompileError, KernelRuntimeError, LaunchError, RingKernelError
from .ir import printer
from .launch import check_args, check_cluster_grid, cluster_dims, config, dim3
from .loader import load_source
from .passes.stencil import BOUNDARIES

BACKENDS = ("cpu", "numba", "cuda")


@functools.lru_cache(maxsize=1)
def default_backend() -> str:
    """cuda when a GPU is usable from here, else cpu."""
    try:
        from ringkernel_runtime.backends import cuda as cuda_backend

        return "cuda" if cuda_backend.available() else "cpu"
    except Exception:  # noqa: BLE001 - any failure to reach a GPU means: no GPU
        return "cpu"


class DeviceFunction:
    """@device: a helper callable from kernels (inlined or emitted as a device function)."""

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        raise RingKernelError(f"@device function {self.fn.__name__}() can only be called from inside kernels")


def device(fn):
    return DeviceFunction(fn)


class KernelBase:
    kind = "kernel"
    cluster = None  # (x, y, z) blocks per thread-block cluster, or None: see Kernel

    def __init__(self, fn, **options):
        self.fn = fn
        self.options = options
        self.name = fn.__name__
        functools.update_wrapper(self, fn)
        self._f = self._compile()
        self._sources: dict = {}
        self._entries: dict = {}

    def _compile(self):
        return C.compile_kernel(self.fn, self.kind)

    @property
    def params(self):
        return self._f.params

    def ir(self) -> str:
        """The typed IR as text."""
        return printer.function(self._f)

    def cuda_source(self) -> str:
        if "cuda" not in self._sources:
            from .emit import cuda

            self._sources["cuda"] = self._emit(cuda)
        return self._sources["cuda"]

    def numba_source(self) -> str:
        if "numba" not in self._sources:
            from .emit import numba as nb

            self._sources["numba"] = self._emit(nb)
        return self._sources["numba"]

    def cpu_source(self) -> str:
        if "cpu" not in self._sources:
            from .emit import cpu

            self._sources["cpu"] = self._emit(cpu)
        return self._sources["cpu"]

    def source(self, backend: str) -> str:
        return {"cpu": self.cpu_source, "numba": self.numba_source, "cuda": self.cuda_source}[backend]()

    def _emit(self, module) -> str:
        return module.emit_kernel(copy.deepcopy(self._f))

    def to(self, backend: str) -> "BoundKernel":
        if backend not in BACKENDS:
            raise RingKernelError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
        return BoundKernel(self, backend)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name}>"

    # ------------------------------------------------------------------ running
    def _entry(self, backend: str):
        if backend in self._entries:
            return self._entries[backend]
        if backend == "cpu":
            module = load_source(self.cpu_source(), f"{self.name}_cpu")
            entry = module._rk_launch
        elif backend == "numba":
            module = load_source(self.numba_source(), f"{self.name}_numba")
            entry = getattr(module, self.name)
        else:
            from ringkernel_runtime.backends import cuda as cuda_backend

            cuda_backend.require_device()
            entry = cuda_backend
        self._entries[backend] = entry
        return entry

    def _run(self, backend, grid, block, args):
        args = check_args(self._f, args, backend)
        self.source(backend)  # what a backend cannot compile (numba: cluster_sync) is said before launch shape
        self._check_cluster(grid)
        entry = self._entry(backend)
        try:
            if backend == "cpu":
                entry(*grid, *block, *args)
            elif backend == "numba":
                entry[grid, block](*args)
            else:
                entry.launch_source(self.cuda_source(), self.name, grid, block, self._cuda_args(args),
                                    cooperative=self._needs_cooperative(), cluster=self.cluster)
        except RuntimeError as exc:
            if str(exc).startswith("ringkernel:"):
                raise KernelRuntimeError(str(exc)[len("ringkernel: "):]) from None
            raise
        except RingKernelError:
            raise
        except Exception as exc:  # numba typing errors on generated code are our bugs: say so clearly
            name = type(exc).__name__
            if "numba" in type(exc).__module__:
                raise CompileError(f"{backend} backend failed to compile kernel '{self.name}' ({name}): {exc}\n"
                                   "this is a ringkernel bug; please report it with the kernel source") from exc
            raise

    def _needs_cooperative(self) -> bool:
        """A grid barrier needs every block resident: launch cooperatively (grid size checked)."""
        from .emit.common import uses
        from .passes.fission import is_grid_sync

        return uses(self._f, lambda n: is_grid_sync(n) and n.callee.name == "grid_sync")

    def _check_cluster(self, grid) -> None:
        """Checked on every backend, so a CPU run refuses what a GPU launch would get silently wrong."""
        if self.cluster is not None:
            check_cluster_grid(grid, self.cluster, self.name)
            return
        call = self._cluster_sync_call
        if call is not None:
            where = f" at {call.span.where()}" if call.span is not None else ""
            raise LaunchError(f"kernel '{self.name}' calls cluster_sync(){where} but declares no cluster size, so "
                              "on a GPU every block would be a cluster of one and the barrier would not wait for "
                              "the other blocks; write @kernel(cluster=N) with N blocks per cluster "
                              "(the grid must then be a multiple of N)")

    @functools.cached_property
    def _cluster_sync_call(self):
        """The first cluster_sync() call in the kernel or the device functions it calls, or None."""
        from .emit.common import device_functions
        from .ir import nodes as ir
        from .passes.fission import is_grid_sync

        return next((n for fn in (self._f, *device_functions(self._f)) for n in ir.walk(fn.body)
                     if is_grid_sync(n) and n.callee.name == "cluster_sync"), None)

    def _cuda_args(self, args) -> list:
        out = []
        for p, a in zip(self._f.params, args):
            if hasattr(p.type, "ndim"):
                out.append(("array", a, not p.readonly))
                shape = a.shape if hasattr(a, "shape") else a.__cuda_array_interface__["shape"]
                out.extend(("long long", int(n)) for n in shape)
            else:
                out.append((p.type.c_name, a))
        return out


class Kernel(KernelBase):
    """cluster: blocks per thread-block cluster (int or (x, y, z)); a kernel calling cluster_sync() needs it."""

    kind = "kernel"

    def __init__(self, fn, cluster=None):
        self.cluster = None if cluster is None else cluster_dims(cluster, getattr(fn, "__name__", repr(fn)))
        super().__init__(fn, cluster=self.cluster)

    def __getitem__(self, key):
        return self.to(default_backend())[key]


class BoundKernel:
    """A kernel pinned to one backend: k.to("cpu")[grid, block](...) or stencil.to("cpu")(...)."""

    def __init__(self, kernel: KernelBase, backend: str):
        self.kernel, self.backend = kernel, backend

    def __getitem__(self, key):
        if isinstance(self.kernel, Stencil):
            raise LaunchError("stencils are launched without a grid: heat.to('cpu')(u, out, alpha)")
        grid, block = config(key)
        kernel, backend = self.kernel, self.backend

        def launch(*args):
            return kernel._run(backend, grid, block, args)

        return launch

    def __call__(self, *args):
        if not isinstance(self.kernel, Stencil):
            raise LaunchError(f"launch a kernel with a grid and block: {self.kernel.name}[blocks, threads](...)")
        return self.kernel._launch(self.backend, args)

    def __repr__(self):
        return f"<{self.kernel.kind} {self.kernel.name} on {self.backend}>"


class Stencil(KernelBase):
    kind = "stencil"

    def __init__(self, fn, tile=(16, 16), halo=1, boundary="skip"):
        tile = (tile,) if isinstance(tile, int) else tuple(tile)
        if not 1 <= len(tile) <= 3 or not all(isinstance(t, int) and t > 0 for t in tile):
            raise RingKernelError(f"@stencil tile must be 1-3 positive ints, got {tile!r}")
        if math.prod(tile) > 1024:
            raise RingKernelError(f"@stencil tile {tile} has more than 1024 cells (one thread per cell)")
        if not isinstance(halo, int) or halo < 0:
            raise RingKernelError(f"@stencil halo must be a non-negative int, got {halo!r}")
        if boundary not in BOUNDARIES:
            raise RingKernelError(f"@stencil boundary must be one of {', '.join(BOUNDARIES)}, got {boundary!r}")
        self.tile, self.halo, self.boundary, self.ndim = tile, halo, boundary, len(tile)
        super().__init__(fn, tile=tile, halo=halo, boundary=boundary)

    def _compile(self):
        f, self.extent_field, self.fields = C.compile_stencil(self.fn, self.ndim, self.halo, self.boundary)
        f.options["tile"] = self.tile
        return f

    def _emit(self, module) -> str:
        return module.emit_stencil(copy.deepcopy(self._f), self.ndim, self.halo, self.boundary, self.extent_field)

    def __call__(self, *args):
        return self._launch(default_backend(), args)

    def grid_for(self, shape) -> tuple:
        """Blocks covering the whole domain: x from the last axis, one tile per block."""
        rev = list(reversed(shape))
        return dim3(tuple(-(-rev[i] // self.tile[len(self.tile) - 1 - i]) for i in range(self.ndim)), "grid")

    def block_dims(self) -> tuple:
        return dim3(tuple(reversed(self.tile)), "block")

    def _launch(self, backend, args):
        checked = check_args(self._f, args, backend)
        shapes = {p.name: tuple(a.shape) for p, a in zip(self._f.params, checked) if p.name in self.fields}
        shape = shapes[self.extent_field]
        bad = {n: s for n, s in shapes.items() if s != shape}
        if bad:
            raise LaunchError(f"stencil fields must share one shape; '{self.extent_field}' is {shape} but "
                              + ", ".join(f"'{n}' is {s}" for n, s in bad.items()))
        grid, block = self.grid_for(shape), self.block_dims()
        entry = self._entry(backend)
        if backend == "cpu":
            entry(*checked)
        elif backend == "numba":
            entry[grid, block](*checked)
        else:
            entry.launch_source(self.cuda_source(), self.name, grid, block, self._cuda_args(checked))


def kernel(fn=None, *, cluster=None):
    """@kernel or @kernel(cluster=2): a CUDA-style kernel launched as k[grid, block](...)."""
    if fn is None:
        return lambda f: Kernel(f, cluster=cluster)
    return Kernel(fn, cluster=cluster)


def stencil(fn=None, *, tile=(16, 16), halo=1, boundary="skip"):
    """@stencil(tile=(16, 16), halo=1, boundary="skip"): one thread per cell over the whole domain."""
    if fn is None:
        return lambda f: Stencil(f, tile=tile, halo=halo, boundary=boundary)
    return Stencil(fn, tile=tile, halo=halo, boundary=boundary)
