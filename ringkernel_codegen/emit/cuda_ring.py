"""CUDA C++ emitter for ring-kernel handlers: a __device__ function with the same contract as the
CPU handler (ringkernel_codegen.abi.actor), for the resident actor loop in templates/ring_actor.cu.j2.

    __device__ int rk_handle_<name>(const In* _rk_msg, Out* _rk_reply, State* _rk_state,
                                    long long* _rk_ctx, rk_peer_queues* _rk_peers)
    returns 0 (reply written), 1 (no reply), 2 (failed: _rk_ctx[CTX_FAILED] set)

ctx.send("p", M(...)) builds M in a local and calls
    rk_send_peer(_rk_peers, k, _rk_ctx, &m, sizeof(M))   (k = index of "p" in sorted(peers))
which the runtime header defines (0 = sent; non-zero = failed, ctx marked).
"""
from __future__ import annotations

from ..abi import actor as abi
from ..abi import descriptors, layout, lifecycle
from ..ir import nodes as ir
from ..message import is_message_type
from .cuda import CudaEmitter, cname, emit_device
from .common import device_functions

PEERS_TYPE = "rk_peer_queues"


def _ctx(name: str) -> str:
    return f"_rk_ctx[{getattr(abi, name)} /* {name} */]"


class RingCudaEmitter(CudaEmitter):
    def e_MsgRef(self, e):
        return f"_rk_msg->{e.field_name}"

    def e_StateRef(self, e):
        return f"_rk_state->{e.field_name}"

    def s_StateStore(self, s, depth):
        self.emit(f"_rk_state->{s.field_name} = {self.expr(s.value)};", depth)

    def fill(self, target: str, call: ir.Call, depth: int):
        cls = call.callee
        for name in cls.dtype.names:
            count = cls.field_counts[name]
            if name in call.kwargs:
                self.emit(f"{target}{name} = {self.expr(call.kwargs[name])};", depth)
            elif count == 1:
                self.emit(f"{target}{name} = 0;", depth)
            else:
                self.emit(f"for (int _rk_i = 0; _rk_i < {count}; ++_rk_i) {target}{name}[_rk_i] = 0;", depth)

    def s_Fail(self, s, depth):
        self.emit("{", depth)
        self.emit(f"{_ctx('CTX_FAILED')} = 1;", depth + 1)
        self.emit(f"{_ctx('CTX_FAIL_CODE')} = {self.expr(s.value)};", depth + 1)
        self.emit(f"return {abi.FAILED};", depth + 1)
        self.emit("}", depth)

    def s_Send(self, s, depth):
        struct = s.msg_type.__name__
        self.emit("{", depth)
        self.emit(f"{struct} _rk_out;", depth + 1)
        self.fill("_rk_out.", s.value, depth + 1)
        self.emit(f"if (rk_send_peer(_rk_peers, {s.peer}, _rk_ctx, &_rk_out, sizeof({struct})) != 0) "
                  f"return {abi.FAILED};  // peer '{s.peer_name}'", depth + 1)
        self.emit("}", depth)

    def s_Return(self, s, depth):
        if s.value is not None and isinstance(s.value, ir.Call) and is_message_type(s.value.callee):
            self.emit("{", depth)
            self.fill("_rk_reply->", s.value, depth + 1)
            self.emit(f"return {abi.REPLY};", depth + 1)
            self.emit("}", depth)
        else:
            self.emit(f"return {abi.NO_REPLY};", depth)


def handler_name(f: ir.Function) -> str:
    return f"rk_handle_{f.name}"


def emit_handler(f: ir.Function, input_type, output_type, state_type) -> str:
    """The handler's device function (and the device functions it calls), without structs."""
    parts = []
    for dev in device_functions(f):
        text, _ = emit_device(dev)
        parts.append(text)
    body = RingCudaEmitter(f).body(1)  # ctx and msg are the fixed arguments below
    out_t = output_type.__name__ if output_type is not None else "rk_no_output"
    state_t = state_type.__name__ if state_type is not None else "rk_no_state"
    parts.append(
        f"__device__ __noinline__ int {handler_name(f)}(const {input_type.__name__}* __restrict__ _rk_msg, "
        f"{out_t}* __restrict__ _rk_reply, {state_t}* __restrict__ _rk_state, long long* __restrict__ _rk_ctx, "
        f"{PEERS_TYPE}* _rk_peers)\n{{\n{body}\n    return {abi.NO_REPLY};\n}}")
    return "\n\n".join(parts)


def message_structs(kernel) -> str:
    """C structs (with size/offset asserts) for every message type the actor touches, each once."""
    seen, out = set(), []
    types = [kernel.input_type, kernel.output_type, kernel.state_type, *kernel.peers.values()]
    for t in types:
        if t is None or t.__name__ in seen:
            continue
        seen.add(t.__name__)
        out.append(t.c_struct() + "\n" + t.c_asserts())
    return "\n\n".join(out)


__all__ = ["emit_handler", "handler_name", "message_structs", "cname", "PEERS_TYPE"]


def render_actor(kernel, threads: int | None = None) -> str:
    """The resident actor kernel for `kernel` (a RingKernel): templates/ring_actor.cu.j2 rendered with
    the runtime layout header, the message structs, the handler and the names the loop needs.
    `threads`: the block size (default 256 for parallel handlers, else 128)."""
    import os

    from .. import __version__
    from .cuda import _env, _text

    f = kernel._f
    peers = [dict(name=n, index=i, struct=kernel.peers[n].__name__, type_id=kernel.peers[n].type_id)
             for i, n in enumerate(sorted(kernel.peers))]
    # Constants the device loop shares with the host, generated from their Python definitions.
    consts = sorted((k, getattr(abi, k)) for k in dir(abi)
                    if k.startswith(("CTX_", "FAIL_")) or k in ("REPLY", "NO_REPLY", "FAILED"))
    consts += sorted((k, getattr(lifecycle, k)) for k in dir(lifecycle) if k.startswith(("CMD_", "EXIT_")))
    consts += [(f"STATE_{s.name}", int(s)) for s in lifecycle.KernelState]
    constants = "\n".join(f"#define RK_{k} ({int(v)})" for k, v in consts)
    return _env().get_template("ring_actor.cu.j2").render(
        version=__version__, source=os.path.basename(f.file) + (f":{f.span.line}" if f.span else ""),
        name=kernel.name, handler=handler_name(f), handler_source=kernel.cuda_handler_source(),
        input=kernel.input_type.__name__, input_type_id=kernel.input_type.type_id,
        output=kernel.output_type.__name__ if kernel.output_type is not None else "rk_no_output",
        output_type_id=kernel.output_type.type_id if kernel.output_type is not None else 0,
        state=kernel.state_type.__name__ if kernel.state_type is not None else "rk_no_state",
        has_output=kernel.output_type is not None, has_state=kernel.state_type is not None,
        parallel=bool(kernel.parallel), peers=peers, layout_header=layout.c_header().replace("#pragma once\n", ""),
        structs=message_structs(kernel), prelude=_text("cuda_prelude.cuh").replace("#pragma once\n", ""),
        ops=_text("cuda_ops.cuh"), ctx_words=abi.CTX_WORDS,
        threads=threads or (256 if kernel.parallel else 128), max_peers=max(len(peers), 1), constants=constants,
        actor_header=descriptors.c_header(), runtime=_text("ring_runtime.cuh").replace("#pragma once\n", ""))


emit_ring = render_actor       # the ring kind's entry (kinds.RING): the whole resident actor module
