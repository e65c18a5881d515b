"""Kernel kinds as objects: what differs between @kernel, @stencil and @ring_kernel lives here.

A kind compiles a decorated function to IR (its validation rules and lowering passes), writes its
source with a backend's emitter, and says the launch geometry and the CPU entry's arguments.
The decorated objects (kernel.py, ring.py) hold a kind and ask it; nothing compares kind names.

    kind.compile(k)                      -> ir.Function (k: the decorated object, its options)
    kind.cacheable, kind.cache_state(k)  -> may the compile cache (cache.py) keep it; what besides
                                            the IR its compile set on k (restored on a cache hit)
    kind.emit(k, module)                 -> source text from one emitter module
    kind.geometry(k, given, args)        -> (grid, block) of a launch (given: k[grid, block] or None)
    kind.cpu_entry_args(grid, block, args) -> the arguments of the CPU module's _rk_launch

Adding a kind is one object here, its decorator class, and its emitters (@persistent: _Persistent,
persistent_kernel.py, emit/*_persistent.py).
"""
from __future__ import annotations

from .errors import CodegenError, LaunchError
from .launch import check_cluster_grid, check_limits


class KernelKind:
    name = "?"
    launched_with_grid = True       # k[grid, block](...) (else k(...), the kind finds the geometry)
    cacheable = False               # cache.py may keep its IR between processes (its key covers the kind)

    def compile(self, k):
        raise NotImplementedError

    def cache_state(self, k) -> dict:
        """The attributes `compile` set on k besides the IR, by name (a cache hit sets them back)."""
        return {}

    def emit(self, k, module) -> str:
        raise NotImplementedError

    def geometry(self, k, given, args) -> tuple:
        raise NotImplementedError

    def cpu_entry_args(self, grid, block, args) -> tuple:
        return (*grid, *block, *args)

    def __repr__(self) -> str:
        return f"<kernel kind {self.name}>"


class _Kernel(KernelKind):
    """@kernel: the user gives grid and block; cluster kernels need whole clusters."""

    name = "kernel"
    cacheable = True

    def compile(self, k):
        from . import compile as C  # on first compile: a process served by the cache never imports it

        return C.compile_kernel(k.fn, self.name)

    def emit(self, k, module) -> str:
        return module.emit_kernel(k._f)  # emitters never change the IR they are given (tests/test_ir.py)

    def geometry(self, k, given, args) -> tuple:
        grid, block = given
        if k.cluster is not None:
            check_cluster_grid(grid, k.cluster, k.name)
        else:
            call = k._cluster_sync_call
            if call is not None:
                where = f" at {call.span.where()}" if call.span is not None else ""
                raise LaunchError(
                    f"kernel '{k.name}' calls cluster_sync(){where} but declares no cluster size, so on a GPU "
                    "every block would be a cluster of one and the barrier would not wait for the other "
                    "blocks; write @kernel(cluster=N) with N blocks per cluster (the grid must then be a "
                    "multiple of N)")
        return grid, block


class _Stencil(KernelKind):
    """@stencil: one thread per cell; the fields' shape gives the grid, the tile the block."""

    name = "stencil"
    launched_with_grid = False
    cacheable = True

    def compile(self, k):
        from . import compile as C

        f, k.extent_field, k.fields = C.compile_stencil(k.fn, k.ndim, k.halo, k.boundary)
        f.options.update(tile=k.tile, halo=k.halo, boundary=k.boundary)  # the space is f.space; these name it
        return f

    def cache_state(self, k) -> dict:
        return {"extent_field": k.extent_field, "fields": k.fields}

    def emit(self, k, module) -> str:
        return module.emit_stencil(k._f)

    def geometry(self, k, given, args) -> tuple:
        shapes = {p.name: tuple(a.shape) for p, a in zip(k._sig.params, args) if p.name in k.fields}
        shape = shapes[k.extent_field]
        bad = {n: s for n, s in shapes.items() if s != shape}
        if bad:
            raise LaunchError(f"stencil fields must share one shape; '{k.extent_field}' is {shape} but "
                              + ", ".join(f"'{n}' is {s}" for n, s in bad.items()))
        if 0 in shape:
            raise LaunchError(f"stencil '{k.name}' got an empty domain: field '{k.extent_field}' has shape {shape}; "
                              "every axis needs at least one cell (skip the call when the field is empty)")
        grid, block = k.grid_for(shape), k.block_dims()
        check_limits(grid, block, f"stencil '{k.name}' over a domain of shape {shape} with tile {k.tile}: ")
        return grid, block

    def cpu_entry_args(self, grid, block, args) -> tuple:
        return tuple(args)          # the CPU stencil loops over the cells of the domain itself


class _Ring(KernelKind):
    """@ring_kernel: an actor's handler; launched by a Runtime, never with a grid."""

    name = "ring"
    launched_with_grid = False

    def compile(self, k):
        return k._compile_handler()

    def emit(self, k, module, threads: int | None = None) -> str:
        return module.emit_ring(k, threads)

    def geometry(self, k, given, args) -> tuple:
        raise LaunchError(f"ring kernel {k.name} runs as an actor: Runtime(...).launch({k.name})")


class _Persistent(KernelKind):
    """@persistent: a resident step loop. Stencil form (Field parameters): one step is the @stencil
    body over the whole domain, geometry as a stencil's. General form: one step is a @kernel body
    (grid_sync() allowed), grid and block given to start(). Emitted by each backend's
    <emitter>_persistent module (Backend.persistent_emit_module)."""

    name = "persistent"
    launched_with_grid = False

    def compile(self, k):
        from . import compile as C
        from .passes import dynamic_shared

        if k.stencil_form:
            f, k.extent_field, k.fields = C.compile_stencil(k.fn, k.ndim, k.halo, k.boundary)
            f.options["tile"] = k.tile
            return f
        k.extent_field, k.fields = None, {}
        f = C.compile_kernel(k.fn, "kernel")
        dynamic = dynamic_shared.dynamic_array(f)
        if dynamic is not None:  # started once, with no launch to give a size
            raise CodegenError("@persistent kernels cannot use dynamic shared memory (shared_array(0, ...))",
                               dynamic.span, "give the shared array a fixed size")
        return f

    def emit(self, k, module) -> str:
        return module.emit_persistent(k._f, k)

    def geometry(self, k, given, args) -> tuple:
        return (STENCIL if k.stencil_form else KERNEL).geometry(k, given, args)

    def cpu_entry_args(self, grid, block, args) -> tuple:
        raise LaunchError("a persistent kernel is started, not launched: k.start(...)")


KERNEL, STENCIL, RING, PERSISTENT = _Kernel(), _Stencil(), _Ring(), _Persistent()
KINDS = {kind.name: kind for kind in (KERNEL, STENCIL, RING, PERSISTENT)}

__all__ = ["KINDS", "KERNEL", "KernelKind", "PERSISTENT", "RING", "STENCIL"]
