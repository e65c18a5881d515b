"""@ring_kernel: an actor's message handler, compiled through the IR like any kernel.

    @ring_kernel(input=Add, output=Sum, state=Totals, peers={"log": Entry})
    def adder(ctx, msg: Add) -> Sum:
        ctx.state.count += 1
        ctx.send("log", Entry(value=msg.a))
        return Sum(value=msg.a + msg.b)

The object satisfies ringkernel_runtime.actor_abi (name, input_type, output_type, state_type,
peers, parallel, cpu_handler()), so `Runtime.launch` runs it on the CPU backend.
"""
from __future__ import annotations


from . import backends, kinds
from . import compile as C
from .emit.common import constant_arrays
from .errors import CodegenError, RingKernelError, user_entry
from .frontend import parse_function
from .ir import printer
from .loader import load_source
from .message import is_message_type
from .passes import dynamic_shared
from .passes.resolve import eval_annotation, namespace
from .passes.ring import RingHooks


def _check_type(value, what: str, optional: bool):
    if value is None and optional:
        return
    if not is_message_type(value):
        raise RingKernelError(f"@ring_kernel({what}=...) must be a @message class, got {value!r}")


class RingKernel:
    """Its public methods are entry points (errors.user_entry): RingKernelErrors without internal frames."""

    kind = kinds.RING

    @user_entry
    def __init__(self, fn, input, output=None, state=None, peers=None, parallel=False):
        _check_type(input, "input", False)
        _check_type(output, "output", True)
        _check_type(state, "state", True)
        peers = dict(peers or {})
        for name, t in peers.items():
            if not isinstance(name, str):
                raise RingKernelError(f"@ring_kernel peers keys are names (str), got {name!r}")
            _check_type(t, f"peers['{name}']", False)
        if parallel and state is not None:
            raise RingKernelError("@ring_kernel(parallel=True) handlers are stateless; drop state= or parallel=")
        self.fn, self.name = fn, fn.__name__
        self.input_type, self.output_type, self.state_type = input, output, state
        self.peers, self.parallel = peers, parallel
        self.__doc__, self.__wrapped__ = fn.__doc__, fn
        self._f = self.kind.compile(self)
        self._handler = None
        self._sources: dict = {}

    def _compile_handler(self):
        probe = parse_function(self.fn, kind="ring", allow_untyped_first=True)
        if len(probe.params) != 2:
            raise CodegenError(f"a ring kernel handler takes (ctx, msg), got {len(probe.params)} parameters",
                               probe.span, f"write `def {self.name}(ctx, msg: {self.input_type.__name__}):`")
        ctx_name, msg_param = probe.params[0].name, probe.params[1]
        if msg_param.type is not None:
            ann = eval_annotation(msg_param.type, namespace(self.fn), msg_param.span)
            if ann is not self.input_type:
                raise CodegenError(f"the handler's message is annotated {getattr(ann, '__name__', ann)} "
                                   f"but input={self.input_type.__name__}", msg_param.span,
                                   "annotate it with the input message type or drop the annotation")
        hooks = RingHooks(ctx_name, msg_param.name, self.input_type, self.output_type, self.state_type,
                          self.peers)
        f = C.compile_kernel(self.fn, "ring", hooks=hooks, infer_hooks=hooks)
        consts = constant_arrays(f)
        if consts:  # the actor-loop emitters do not declare them (yet): refuse rather than fail later
            raise CodegenError(f"ring kernel handlers cannot read module-level arrays yet "
                               f"('{consts[0].name[len('_rk_const_'):]}')", consts[0].span,
                               "copy the values into the state message, or send them in a message")
        dynamic = dynamic_shared.dynamic_array(f)
        if dynamic is not None:  # an actor is launched by its Runtime, with no launch size to give
            raise CodegenError("ring kernel handlers cannot use dynamic shared memory (shared_array(0, ...))",
                               dynamic.span, "give the shared array a fixed size")
        return f

    @user_entry
    def ir(self) -> str:
        return printer.function(self._f)

    @user_entry
    def source(self, backend, threads: int | None = None) -> str:
        """The generated module for `backend`: for "cuda" the resident actor kernel, "numba" the
        numba.cuda actor module, "cpu" the njit handler the CPU actor loop calls (`threads`: the
        GPU actor's block size; default 256 for parallel handlers, else 128)."""
        b = backends.get(backend)
        key = (b.name, threads)
        if key not in self._sources:
            self._sources[key] = self.kind.emit(self, b.ring_emit_module(), threads)
        return self._sources[key]

    @user_entry
    def cpu_source(self) -> str:
        return self.source(backends.CPU)

    @user_entry
    def cuda_source(self, threads: int | None = None) -> str:
        """The whole resident actor kernel: runtime header, message structs, handler, actor loop."""
        return self.source(backends.CUDA, threads)

    @user_entry
    def numba_source(self, threads: int | None = None) -> str:
        """The resident actor as a numba.cuda module (run with Runtime(backend="numba"))."""
        return self.source(backends.NUMBA, threads)

    @user_entry
    def cuda_handler_source(self) -> str:
        """The handler as a CUDA __device__ function (see emit/cuda_ring.py for its contract)."""
        from .emit import cuda_ring

        return cuda_ring.emit_handler(self._f, self.input_type, self.output_type, self.state_type)

    @user_entry
    def cpu_handler(self):
        """The njit handler for the CPU actor loop (contract: ringkernel_runtime.actor_abi)."""
        if self._handler is None:
            module = load_source(self.cpu_source(), f"{self.name}_ring_cpu")
            self._handler = getattr(module, self.name)
        return self._handler

    def __repr__(self) -> str:
        out = self.output_type.__name__ if self.output_type else None
        return f"<ring_kernel {self.name}: {self.input_type.__name__} -> {out}>"


@user_entry
def ring_kernel(fn=None, *, input=None, output=None, state=None, peers=None, parallel=False):
    """@ring_kernel(input=Msg, output=Reply | None, state=State, peers={...}, parallel=False)."""
    @user_entry
    def wrap(f):
        if input is None:
            raise RingKernelError("@ring_kernel needs input=<@message class>")
        return RingKernel(f, input, output, state, peers, parallel)
    if fn is not None:
        return wrap(fn)
    return wrap

