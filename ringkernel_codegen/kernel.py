"""Decorated kernels: @kernel, @stencil, @device. Each holds its typed IR and emits/launches lazily.

What differs between kinds is asked of the kind object (kinds.py); what differs between backends
of the backend object (backends.py), whose runtime provider loads and launches. Every launch, of a
kernel or a stencil, goes through `KernelBase._run`.
"""
from __future__ import annotations

import functools
import math
import os
import threading

from . import backends, cache, kinds, signature
from .errors import CodegenError, CompileError, KernelRuntimeError, LaunchError, RingKernelError, user_entry
from .launch import (check_args, check_shared_memory, cluster_dims, config, dim3, shared_bytes_arg,
                     stage_noncontiguous)


_loading = threading.RLock()  # one thread loads a cached kernel's IR; the others then find it


def default_backend() -> str:
    """cuda when a GPU is usable from here, else cpu."""
    return backends.default().name


class DeviceFunction:
    """@device: a helper callable from kernels (inlined or emitted as a device function)."""

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)

    @user_entry
    def __call__(self, *args, **kwargs):
        raise RingKernelError(f"@device function {self.fn.__name__}() can only be called from inside kernels")


def device(fn):
    return DeviceFunction(fn)


class KernelBase:
    """The public methods are entry points (errors.user_entry): a RingKernelError raised below them
    reaches the user without ringkernel's internal frames. A subclass's own __init__, __call__ and
    __getitem__ are wrapped the same way when it is defined (__init_subclass__)."""

    kind: kinds.KernelKind = kinds.KERNEL
    cluster = None  # (x, y, z) blocks per thread-block cluster, or None: see Kernel

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("__init__", "__call__", "__getitem__"):
            method = vars(cls).get(name)
            if method is not None and not getattr(method, "__ringkernel_entry__", False):
                setattr(cls, name, user_entry(method))

    @user_entry
    def __init__(self, fn, **options):
        self.fn = fn
        self.options = options
        self.name = fn.__name__
        functools.update_wrapper(self, fn)
        self._sources: dict = {}
        self._entries: dict = {}
        self._cache_blob = None
        hit = cache.lookup(self)  # sets self._cache_key (None: this kernel is not cached)
        if hit is not None:  # what a launch reads now; the IR itself on first use (__getattr__)
            self._sources.update(hit.sources)
            self.__dict__.update(hit.state)
            self._sig, self._cache_blob, self._cached = hit.signature, hit.blob, hit
        else:
            self._f = self.kind.compile(self)
            self._sig = signature.of(self._f)
        # shared_array(0, T): the one dynamic shared array (signature.SharedArray), sized at launch, or None
        self.dynamic_shared = self._sig.dynamic_shared
        self._static_shared_bytes = self._sig.static_shared_bytes
        if self.dynamic_shared is not None and not self.kind.launched_with_grid:
            raise CodegenError(f"a {self.kind.name} cannot use dynamic shared memory (shared_array(0, ...)): it is "
                               "launched without a launch configuration", self.dynamic_shared.span,
                               "give the shared array a fixed size")
        if hit is None:
            self._cache_blob = cache.store(self)

    def __getattr__(self, name):
        """A kernel from the compile cache loads its IR on the first read of `_f`; `_sig` is made
        from the IR where a subclass set only that."""
        if name == "_f" and "_cached" in self.__dict__:
            with _loading:
                entry = self.__dict__.get("_cached")
                if entry is not None:
                    try:
                        self._f = entry.ir()
                    except Exception:  # noqa: BLE001 - unreadable after all: compile as on a miss
                        self._f = self.kind.compile(self)
                    del self.__dict__["_cached"]
            return self.__dict__["_f"]
        if name == "_sig" and "_f" in self.__dict__:
            self._sig = signature.of(self._f)
            return self._sig
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def params(self):
        return self._f.params

    @user_entry
    def ir(self) -> str:
        """The typed IR as text."""
        from .ir import printer

        return printer.function(self._f)

    @user_entry
    def source(self, backend) -> str:
        """The generated source `backend` ("cpu", "numba", "cuda", or a Backend) runs."""
        b = backends.get(backend)
        if b.name not in self._sources:
            self._sources[b.name] = self.kind.emit(self, b.emit_module())
            self._cache_blob = cache.store(self, self._cache_blob)  # the next process reuses the source too
        return self._sources[b.name]

    @user_entry
    def cuda_source(self) -> str:
        return self.source(backends.CUDA)

    @user_entry
    def numba_source(self) -> str:
        return self.source(backends.NUMBA)

    @user_entry
    def cpu_source(self) -> str:
        return self.source(backends.CPU)

    def entry(self, backend, load):
        """What `load()` returns (a loaded module's entry point), once per backend."""
        if backend not in self._entries:
            self._entries[backend] = load()
        return self._entries[backend]

    @user_entry
    def to(self, backend, boundscheck: bool | None = None) -> "BoundKernel":
        """This kernel on one backend; boundscheck=True (or RINGKERNEL_BOUNDSCHECK=1 in the
        environment, when boundscheck is not given) reports an out-of-bounds index as a
        KernelRuntimeError with the kernel's file:line, the array, the index and the extent (cpu)."""
        if boundscheck is not None and not isinstance(boundscheck, bool):
            raise LaunchError(f"boundscheck must be True, False or None, got {boundscheck!r}")
        return BoundKernel(self, _bounds_checked(backends.get(backend), boundscheck))

    def __repr__(self) -> str:
        return f"<{self.kind.name} {self.name}>"

    # ------------------------------------------------------------------ running
    def _run(self, backend, args, given=None, kwargs=None, shared_bytes: int = 0):
        """The one launch path: arguments bound (by position or parameter name) and checked, source
        emitted (what a backend cannot compile, e.g. numba and cluster_sync, is said before the launch
        shape), geometry from the kind, non-contiguous numpy arrays staged through contiguous copies,
        then the backend's provider launches; errors reach the user as RingKernelErrors (the callers
        are entry points, so without ringkernel's frames)."""
        backend = backends.get(backend)
        args = check_args(self._sig, args, backend, kwargs)
        self.source(backend)
        grid, block = self.kind.geometry(self, given, args)
        check_shared_memory(self.name, self.dynamic_shared, self._static_shared_bytes, shared_bytes, backend)
        args, writeback = stage_noncontiguous(self._sig, args)
        try:
            backend.launch(self, grid, block, args, shared_bytes)
            writeback()
        except RuntimeError as exc:
            if str(exc).startswith("ringkernel:"):
                raise KernelRuntimeError(str(exc)[len("ringkernel: "):]) from None
            raise
        except IndexError as exc:  # the bounds-checked mode's (emit/cpu_rt_launch.py bounds)
            if exc.args[:1] != ("ringkernel-bounds",) or len(exc.args) != 6:
                raise
            _, site, array, axis, index, extent = exc.args
            where = f"axis {axis} of " if axis else ""
            raise KernelRuntimeError(
                f"out-of-bounds access in {self.kind.name} '{self.name}' at {site}: index {index} is outside "
                f"{where}array '{array}' (extent {extent}); on a GPU this reads or writes another buffer's "
                "memory") from None
        except RingKernelError:
            raise
        except Exception as exc:  # numba typing errors on generated code are our bugs: say so clearly
            name = type(exc).__name__
            if "numba" in type(exc).__module__:
                raise CompileError(f"{backend.name} backend failed to compile {self.kind.name} '{self.name}' "
                                   f"({name}): {exc}\nthis is a ringkernel bug; please report it with the "
                                   "kernel source") from exc
            raise

    def _needs_cooperative(self) -> bool:
        """A grid barrier needs every block resident: launch cooperatively (grid size checked)."""
        from .emit.common import uses
        from .passes.fission import is_grid_sync

        return uses(self._f, lambda n: is_grid_sync(n) and n.callee.name == "grid_sync")

    @property
    def _cluster_sync_call(self):
        """The first cluster_sync() call in the kernel or the device functions it calls (its span), or None."""
        return self._sig.cluster_sync

    def _cuda_args(self, args) -> list:
        out = []
        for p, a in zip(self._sig.params, args):
            if hasattr(p.type, "ndim"):
                out.append(("array", a, not p.readonly))
                shape = a.shape if hasattr(a, "shape") else a.__cuda_array_interface__["shape"]
                out.extend(("long long", int(n)) for n in shape)
            else:
                out.append((p.type.c_name, a))
        return out


def _bounds_checked(backend: backends.Backend, boundscheck: bool | None) -> backends.Backend:
    """The backend a launch runs on: its bounds-checked variant when asked for (boundscheck=True,
    or RINGKERNEL_BOUNDSCHECK=1 when boundscheck is None and the backend has one)."""
    if boundscheck is None:
        boundscheck = os.environ.get("RINGKERNEL_BOUNDSCHECK", "") not in ("", "0") and \
            backend.bounds_checked is not None
    if not boundscheck:
        return backend
    if backend.bounds_checked is None:
        raise LaunchError(f"boundscheck=True: the {backend.name} backend has no bounds-checked mode; "
                          "check indices on the cpu backend, e.g. k.to('cpu', boundscheck=True)[grid, block](...)")
    return backend.bounds_checked


class Kernel(KernelBase):
    """cluster: blocks per thread-block cluster (int or (x, y, z)); a kernel calling cluster_sync() needs it."""

    kind = kinds.KERNEL

    def __init__(self, fn, cluster=None):
        self.cluster = None if cluster is None else cluster_dims(cluster, getattr(fn, "__name__", repr(fn)))
        super().__init__(fn, cluster=self.cluster)

    def __getitem__(self, key):
        return self.to(backends.default())[key]

    def __call__(self, *args, **kwargs):
        raise LaunchError(f"kernel '{self.name}' is launched with a grid and a block: "
                          f"{self.name}[blocks, threads](...), e.g. {self.name}[(n + 255) // 256, 256](...), "
                          f"or on one backend {self.name}.to('cpu')[blocks, threads](...)")


class BoundKernel:
    """A kernel pinned to one backend: k.to("cpu")[grid, block](...) or stencil.to("cpu")(...)."""

    def __init__(self, kernel: KernelBase, backend: backends.Backend):
        self.kernel, self.backend = kernel, backend

    @user_entry
    def __getitem__(self, key):
        if not self.kernel.kind.launched_with_grid:
            raise LaunchError(f"a {self.kernel.kind.name} is launched without a grid: "
                              f"{self.kernel.name}.to('{self.backend.name}')(...)")
        grid, block, shared = config(key)
        kernel, backend = self.kernel, self.backend
        # shared_bytes= is the dynamic shared memory size, unless the kernel has a parameter of that name
        keyword = "shared_bytes" not in {p.name for p in kernel._sig.params}

        @user_entry
        def launch(*args, **kwargs):
            size = shared
            if keyword and "shared_bytes" in kwargs:
                size = shared_bytes_arg(kwargs.pop("shared_bytes"))
                if shared:
                    raise LaunchError("the dynamic shared memory size is given twice (kernel[grid, block, 0, n] and "
                                      "shared_bytes=): give it once")
            return kernel._run(backend, args, (grid, block), kwargs, shared_bytes=size)

        return launch

    @user_entry
    def __call__(self, *args, **kwargs):
        if self.kernel.kind.launched_with_grid:
            raise LaunchError(f"launch a kernel with a grid and block: {self.kernel.name}[blocks, threads](...)")
        return self.kernel._run(self.backend, args, kwargs=kwargs)

    @user_entry
    def start(self, *args, grid=None, block=None, **kwargs):
        """Start a @persistent kernel on this backend (see persistent_kernel.Persistent.start)."""
        start = getattr(self.kernel, "_start", None)
        if start is None:
            raise LaunchError(f"only @persistent kernels are started; {self.kernel.name} is a {self.kernel.kind.name}: "
                              f"launch it with {self.kernel.name}.to('{self.backend.name}')(...)")
        return start(self.backend, args, kwargs, grid, block)

    def __repr__(self):
        return f"<{self.kernel.kind.name} {self.kernel.name} on {self.backend.name}>"


class Stencil(KernelBase):
    kind = kinds.STENCIL

    def __init__(self, fn, tile=(16, 16), halo=1, boundary="skip"):
        tile = (tile,) if isinstance(tile, int) else tuple(tile)
        # bool is an int subclass: @stencil(halo=True) would compile to `True` in C and read out of
        # bounds on the CPU; refuse it like any other non-integer
        if not 1 <= len(tile) <= 3 or not all(isinstance(t, int) and not isinstance(t, bool) and t > 0
                                              for t in tile):
            raise RingKernelError(f"@stencil tile must be 1-3 positive ints, got {tile!r}")
        if math.prod(tile) > 1024:
            raise RingKernelError(f"@stencil tile {tile} has more than 1024 cells (one thread per cell)")
        if not isinstance(halo, int) or isinstance(halo, bool) or halo < 0:
            raise RingKernelError(f"@stencil halo must be a non-negative int, got {halo!r}")
        from .passes.stencil import BOUNDARIES

        if boundary not in BOUNDARIES:
            raise RingKernelError(f"@stencil boundary must be one of {', '.join(BOUNDARIES)}, got {boundary!r}")
        self.tile, self.halo, self.boundary, self.ndim = tile, halo, boundary, len(tile)
        super().__init__(fn, tile=tile, halo=halo, boundary=boundary)

    def __call__(self, *args, **kwargs):
        return self.to(backends.default())(*args, **kwargs)

    def grid_for(self, shape) -> tuple:
        """Blocks covering the whole domain: x from the last axis, one tile per block."""
        rev = list(reversed(shape))
        return dim3(tuple(-(-rev[i] // self.tile[len(self.tile) - 1 - i]) for i in range(self.ndim)), "grid")

    def block_dims(self) -> tuple:
        return dim3(tuple(reversed(self.tile)), "block")


@user_entry
def kernel(fn=None, *, cluster=None):
    """@kernel or @kernel(cluster=2): a CUDA-style kernel launched as k[grid, block](...)."""
    if fn is None:
        return user_entry(lambda f: Kernel(f, cluster=cluster))
    return Kernel(fn, cluster=cluster)


@user_entry
def stencil(fn=None, *, tile=(16, 16), halo=1, boundary="skip"):
    """@stencil(tile=(16, 16), halo=1, boundary="skip"): one thread per cell over the whole domain."""
    if fn is None:
        return user_entry(lambda f: Stencil(f, tile=tile, halo=halo, boundary=boundary))
    return Stencil(fn, tile=tile, halo=halo, boundary=boundary)
