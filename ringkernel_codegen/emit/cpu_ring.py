"""CPU emitter for ring-kernel handlers: an njit(nogil=True) function following
ringkernel_runtime.actor_abi: handler(msg, reply, state, ctx, peer_queues) -> int32."""
from __future__ import annotations


from ..ir import nodes as ir
from ..message import is_message_type
from .common import device_functions
from .cpu import CTX, HEADER, CpuEmitter, emit_device

ARGS = ["_rk_msg", "_rk_reply", "_rk_state", "_rk_ctx", "_rk_peers"]
RING_HEADER = HEADER + '''from ringkernel_runtime import actor_abi as _abi
from ringkernel_runtime import queues as _q
'''


class RingPyOps:
    """Ring-context operations shared by the Python-syntax emitters (CPU njit and numba.cuda).

    Subclasses say how `ctx.send` reaches a peer (`emit_send`); everything else follows the
    handler contract of ringkernel_runtime.actor_abi.
    """

    def e_MsgRef(self, e):
        return f"_rk_msg.{e.field_name}"

    def e_StateRef(self, e):
        return f"_rk_state.{e.field_name}"

    def s_StateStore(self, s, depth):
        self.emit(f"_rk_state.{s.field_name} = {self.expr(s.value)}", depth)

    def fill(self, target: str, call: ir.Call, depth: int):
        """Write every field of a message constructor into `target` (missing fields are zero)."""
        cls = call.callee
        for name in cls.dtype.names:
            count = cls.field_counts[name]
            if name in call.kwargs:
                self.emit(f"{target}.{name} = {self.expr(call.kwargs[name])}", depth)
            elif count == 1:
                self.emit(f"{target}.{name} = 0", depth)
            else:
                self.emit(f"{target}.{name}[:] = 0", depth)

    def s_Fail(self, s, depth):
        self.emit("_rk_ctx[_abi.CTX_FAILED] = 1", depth)
        self.emit(f"_rk_ctx[_abi.CTX_FAIL_CODE] = {self.expr(s.value)}", depth)
        self.emit("return _abi.FAILED", depth)

    def s_Send(self, s, depth):
        self.emit_send(s.peer, s.value, depth)

    def s_Return(self, s, depth):
        if s.value is not None and isinstance(s.value, ir.Call) and is_message_type(s.value.callee):
            self.fill("_rk_reply", s.value, depth)
            self.emit("return _abi.REPLY", depth)
        else:
            self.emit("return _abi.NO_REPLY", depth)

    def emit_send(self, k: int, call: ir.Call, depth: int):
        raise NotImplementedError

    def handler(self, decorator: str, params: list[str], prologue: tuple[str, ...] = ()) -> list[str]:
        """The handler function: decorator, signature, typed locals, body, default NO_REPLY."""
        f = self.f
        self.emit(decorator, 0)
        self.emit(f"def {f.name}({', '.join(params)}):", 0)
        for line in prologue:
            self.emit(line, 1)
        self.declare_locals(1)
        self.block(f.body, 1)
        if not (f.body and isinstance(f.body[-1], ir.Return)):
            self.emit("return _abi.NO_REPLY", 1)
        return self.lines


class RingCpuEmitter(RingPyOps, CpuEmitter):
    def s_Alloc(self, s, depth):
        # a handler runs as the one thread of its block, so a shared array is its own scratch (CUDA
        # leaves a __shared__ array's contents undefined from one handler call to the next)
        self.emit(f"{s.name} = np.zeros({s.shape!r}, {self.tname(s.dtype)})", depth)

    def emit_send(self, k, call, depth):
        slot = f"_rk_out{k}"
        self.emit(f"{slot} = _rk_peers[{k}][3][0]", depth)
        self.fill(slot, call, depth)
        self.emit(f"if _q.send_peer(_rk_peers[{k}], _rk_ctx, {slot}, {k}) != 0:", depth)
        self.emit("return _abi.FAILED", depth + 1)


def sends(f: ir.Function) -> bool:
    return any(isinstance(n, ir.Send) for n in ir.walk(f.body))


def emit_handler(f: ir.Function) -> str:
    out = [RING_HEADER.format(source=f.file.rsplit("/", 1)[-1] + (f":{f.span.line}" if f.span else ""),
                              kind="ring_kernel", name=f.name)]
    for dev in device_functions(f):
        out.extend(emit_device(dev))
    # handlers that send reach numba's dynamic globals inside the queue helpers: not cacheable;
    # a handler runs as one thread of one block: the launch context is trivial
    out.extend(RingCpuEmitter(f).handler(f"@njit(nogil=True, error_model='numpy', cache={not sends(f)})", ARGS,
                                         (f"{', '.join(CTX)} = {', '.join(['0'] * 6 + ['1'] * 6)}",)))
    return "\n".join(out) + "\n"


def emit_ring(kernel, threads: int | None = None) -> str:
    """The ring kind's entry (kinds.RING): the njit handler the CPU actor loop calls (`threads`
    has no meaning here: the CPU loop runs one message at a time per actor thread)."""
    return emit_handler(kernel._f)
