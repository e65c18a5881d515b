"""@persistent: a kernel launched once that advances a simulation step after step while the host
steers it (run, wait, read, inject, set, pause, resume, terminate) without a relaunch.

Two forms, told apart by the parameters:

    @persistent(halo=1, swap=("p", "p_prev"), boundary="zero")      # stencil form: Field params
    def wave(p: Field3D[f32], p_prev: Field3D[f32], c2: f32):
        ...                                  # one step for one cell: exactly a @stencil body

    @persistent(swap=("x", "x_new"))                                  # general form: arrays
    def jacobi(x: f32[:], x_new: f32[:], b: f32[:], n: i32):
        ...                                  # one step of the whole grid: a @kernel body,
                                             # grid_sync() allowed inside

    sim = wave.start(p=p0, p_prev=p1, c2=0.1)                  # stencil form: the fields set the grid
    sim = jacobi.start(x, x1, b, n, grid=4, block=128)         # general form: grid and block given

The compiler part lives here (options, IR, emitted sources: kinds.PERSISTENT); starting and
steering a simulation is the runtime's (the backend's provider `start_persistent`, returning a
ringkernel_runtime.simulation.Simulation). `swap` names pairs of parameters whose roles exchange
after every step (the step writes the second; next step it is read as the first).
"""
from __future__ import annotations

import math

from . import backends, kinds
from .errors import CodegenError, LaunchError, RingKernelError, user_entry
from .frontend import parse_function
from .kernel import KernelBase
from .launch import check_args, dim3
from .passes.resolve import eval_annotation, namespace
from .passes.stencil import BOUNDARIES
from . import types as T

SYNCS = ("grid", "cluster")
DEFAULT_TILES = {1: (256,), 2: (16, 16), 3: (8, 8, 8)}


def _swap_pairs(swap) -> tuple:
    if swap is None:
        return ()
    if isinstance(swap, tuple) and len(swap) == 2 and all(isinstance(s, str) for s in swap):
        swap = (swap,)
    if not isinstance(swap, (tuple, list)) or not all(
            isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in swap):
        raise RingKernelError(f"@persistent swap must be a pair of parameter names or a tuple of pairs, e.g. "
                              f"swap=(\"p\", \"p_prev\"); got {swap!r}")
    return tuple(tuple(p) for p in swap)


def _field_ndim(fn) -> int | None:
    """The fields' dimensionality when the function takes FieldND parameters (stencil form), else None."""
    probe = parse_function(fn, kind="stencil")
    ns = namespace(fn)
    for p in probe.params:
        t = eval_annotation(p.type, ns, p.span) if p.type is not None else None
        if isinstance(t, T.ArrayType) and t.field:
            return t.ndim
    return None


class Persistent(KernelBase):
    """A @persistent kernel: `start(...)` launches it once and returns the simulation's handle."""

    kind = kinds.PERSISTENT

    def __init__(self, fn, halo=1, swap=None, boundary="skip", sync="grid", cluster=None, tile=None):
        name = getattr(fn, "__name__", repr(fn))
        if sync not in SYNCS:
            raise RingKernelError(f"@persistent sync must be one of {', '.join(map(repr, SYNCS))}, got {sync!r}")
        if boundary not in BOUNDARIES:
            raise RingKernelError(f"@persistent boundary must be one of {', '.join(BOUNDARIES)}, got {boundary!r}")
        if not isinstance(halo, int) or isinstance(halo, bool) or halo < 0:
            raise RingKernelError(f"@persistent halo must be a non-negative int, got {halo!r}")
        self.ndim = _field_ndim(fn)
        self.stencil_form = self.ndim is not None
        if tile is None:
            tile = DEFAULT_TILES[self.ndim or 1]
        tile = (tile,) if isinstance(tile, int) else tuple(tile)
        if not all(isinstance(t, int) and not isinstance(t, bool) and t > 0 for t in tile) or \
                math.prod(tile) > 1024 or (self.stencil_form and len(tile) != self.ndim):
            raise RingKernelError(f"@persistent tile must be {self.ndim or '1-3'} positive ints with at most 1024 "
                                  f"cells, got {tile!r}")
        if sync == "cluster":
            from .launch import cluster_dims
            cluster = cluster_dims(cluster if cluster is not None else 2, name)
        elif cluster is not None:
            raise RingKernelError(f"@persistent(cluster=...) of '{name}' needs sync=\"cluster\"")
        self.tile, self.halo, self.boundary, self.sync, self.cluster = tile, halo, boundary, sync, cluster
        self.swap = _swap_pairs(swap)
        super().__init__(fn, halo=halo, swap=self.swap, boundary=boundary, sync=sync, cluster=cluster, tile=tile)
        self._check_swap()

    def _check_swap(self):
        by_name = {p.name: p for p in self._f.params}
        for reserved in ("grid", "block"):
            if reserved in by_name:
                raise CodegenError(f"a persistent kernel's parameter cannot be called '{reserved}': start(..., "
                                   f"{reserved}=...) gives the launch shape", self._f.span, "rename the parameter")
        seen = set()
        for a, b in self.swap:
            for n in (a, b):
                if n not in by_name:
                    raise CodegenError(f"swap names '{n}', which is not a parameter of '{self.name}'", self._f.span,
                                       f"its parameters are {', '.join(by_name)}")
                if n in seen:
                    raise CodegenError(f"'{n}' appears twice in swap", self._f.span, "each parameter swaps with one other")
                seen.add(n)
            ta, tb = by_name[a].type, by_name[b].type
            if not isinstance(ta, T.ArrayType) or ta != tb:
                raise CodegenError(f"swap pairs two arrays of one type; '{a}' is {getattr(ta, 'name', ta)} and "
                                   f"'{b}' is {getattr(tb, 'name', tb)}", self._f.span)

    # ------------------------------------------------------------------ what the runtime asks
    def slots(self) -> list:
        """Where each parameter lives while the simulation runs, in parameter order: ("array", i) the
        i-th buffer, ("float", i) / ("int", i) the i-th word of the float64 / int64 scalar arrays
        (integers and booleans as int64 bits). The emitted step and the runtime both follow it."""
        out, n = [], {"array": 0, "float": 0, "int": 0}
        for p in self._f.params:
            where = "array" if isinstance(p.type, T.ArrayType) else "float" if p.type.is_float else "int"
            out.append((where, n[where]))
            n[where] += 1
        return out

    def swap_buffers(self) -> tuple:
        """The swap pairs as buffer indices (see slots)."""
        slots = dict(zip((p.name for p in self._f.params), self.slots()))
        return tuple((slots[a][1], slots[b][1]) for a, b in self.swap)

    def buffer_for(self, slot: int, steps: int) -> int:
        """The buffer that plays array slot `slot` after `steps` steps (swap pairs exchange each step)."""
        if steps % 2:
            for a, b in self.swap_buffers():
                if slot == a:
                    return b
                if slot == b:
                    return a
        return slot

    def grid_for(self, shape) -> tuple:
        rev = list(reversed(shape))
        return dim3(tuple(-(-rev[i] // self.tile[len(self.tile) - 1 - i]) for i in range(self.ndim)), "grid")

    def block_dims(self) -> tuple:
        return dim3(tuple(reversed(self.tile)), "block")

    def source(self, backend) -> str:
        b = backends.get(backend)
        if b.name not in self._sources:
            self._sources[b.name] = self.kind.emit(self, b.persistent_emit_module())
        return self._sources[b.name]

    def __call__(self, *args, **kwargs):
        self._run(None, args)

    def _run(self, backend, args, given=None, kwargs=None):
        """k(...), k.to(b)(...), k.to(b)[grid, block](...): a persistent kernel is never launched per call."""
        raise LaunchError(f"a persistent kernel is started once and then steered: sim = {self.name}.start(...) "
                          f"(or {self.name}.to('cpu').start(...)); sim.run(n); sim.wait(); sim.read(name); "
                          "sim.terminate()")

    @user_entry
    def start(self, *args, grid=None, block=None, **kwargs):
        """Launch once on the default backend (k.to(name).start(...) for another); returns the running
        simulation, idle at step 0 until run(n)."""
        return self.to(backends.default()).start(*args, grid=grid, block=block, **kwargs)

    def _start(self, backend, args, kwargs, grid, block):
        backend = backends.get(backend)
        args = check_args(self._f, args, backend, kwargs)
        self.source(backend)
        given = None
        if self.stencil_form:
            if grid is not None or block is not None:
                raise LaunchError(f"persistent stencil '{self.name}' takes its grid from the fields' shape and "
                                  "its block from tile=...; drop grid= and block=")
        else:
            if grid is None or block is None:
                raise LaunchError(f"persistent kernel '{self.name}' needs a grid and a block: "
                                  f"{self.name}.start(..., grid=blocks, block=threads)")
            from .launch import config
            given = config((grid, block))[:2]  # (grid, block); a persistent kernel has no dynamic shared memory
        geometry = self.kind.geometry(self, given, args)
        return backend.start_persistent(self, geometry, args)


@user_entry
def persistent(fn=None, *, halo=1, swap=None, boundary="skip", sync="grid", cluster=None, tile=None):
    """@persistent(halo=1, swap=("p", "p_prev"), boundary="skip", sync="grid" | "cluster", cluster=None,
    tile=None): a resident kernel stepping a simulation the host steers (see Persistent.start)."""
    def wrap(f):
        return Persistent(f, halo=halo, swap=swap, boundary=boundary, sync=sync, cluster=cluster, tile=tile)
    if fn is None:
        return user_entry(wrap)
    return wrap(fn)


__all__ = ["Persistent", "persistent"]
