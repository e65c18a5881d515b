"""numba.cuda emitter for ring kernels: the handler as a numba.cuda device function, and the whole
resident actor module (templates/ring_actor_numba.py.j2, the same protocol as ring_actor.cu.j2).

    handler(_rk_msg, _rk_reply, _rk_state, _rk_ctx, _rk_mctx, _rk_ctrl, _rk_beat, <per peer k:
            _rk_p{k}h, _rk_p{k}m, _rk_p{k}p, _rk_p{k}l>) -> 0 reply written | 1 no reply | 2 failed

msg, reply and state are records (shared memory, the reply queue slot, shared memory); ctx the
thread's int64 context (actor_abi.CTX_*); mctx the mapped context the host writes CTX_ABORT into;
ctrl the control block and beat the block's heartbeat stamp (shared memory): sends beat the
heartbeat (rate-limited), so a handler that sends for long, or waits on a full inbox, is not a stall.
Peer k (in sorted(peers) order) is its K2K inbox: header words, slot headers, payloads, and the
producer lock in device memory. ctx.send("p", M(...)) locks the inbox and waits for room
(ringkernel_runtime.backends.numba_ops.send_begin), fills the payload slot in place, then publishes
(send_commit). Ordered accesses go through numba_ops, which links templates/numba_actor_ops.cu.
"""
from __future__ import annotations

import os

from ..abi import actor as abi
from ..abi import layout, lifecycle
from ..abi.simulator import numba_simulator
from ..ir import nodes as ir
from .cpu_ring import RingPyOps
from .numba import HEADER, NumbaEmitter, _devices

RING_HEADER = HEADER + '''from ringkernel_runtime import actor_abi as _abi
from ringkernel_runtime.backends import numba_ops as _rko
'''
ARGS = ["_rk_msg", "_rk_reply", "_rk_state", "_rk_ctx", "_rk_mctx", "_rk_ctrl", "_rk_beat"]


def peer_names(k: int) -> list[str]:
    return [f"_rk_p{k}h", f"_rk_p{k}m", f"_rk_p{k}p", f"_rk_p{k}l"]


class RingNumbaEmitter(RingPyOps, NumbaEmitter):
    def emit_send(self, k, call, depth):
        h, m, p, lock = peer_names(k)
        self.emit(f"_rk_j = _rko.send_begin({h}, {lock}, _rk_ctx, _rk_mctx, _rk_ctrl, _rk_beat, {k})", depth)
        self.emit("if _rk_j < 0:", depth)
        self.emit("return _abi.FAILED", depth + 1)
        self.fill(f"{p}[_rk_j]", call, depth)
        self.emit(f"_rko.send_commit({h}, {m}, {lock}, _rk_ctx, _rk_j)", depth)


def _source(f: ir.Function) -> str:
    return os.path.basename(f.file) + (f":{f.span.line}" if f.span else "")


def emit_handler(f: ir.Function, n_peers: int) -> str:
    """The module header, the device functions the handler calls, and the handler itself."""
    out = [RING_HEADER.format(source=_source(f), kind="ring_kernel", name=f.name), *_devices(f)]
    params = ARGS + [name for k in range(n_peers) for name in peer_names(k)]
    out.extend(RingNumbaEmitter(f).handler("@cuda.jit(device=True)", params))
    return "\n".join(out) + "\n"


def default_threads(kernel) -> int:
    """Block size of the numba actor: the CUDA C++ actor's, or 8 in the simulator (one Python
    thread per CUDA thread there)."""
    if numba_simulator():
        return 8
    return 256 if kernel.parallel else 128


def _dtype_expr(dt) -> str:
    return "np." + repr(dt)


def render_actor(kernel, threads: int | None = None) -> str:
    """The numba.cuda module of the resident actor for `kernel` (a RingKernel)."""
    from .cuda import _env

    threads = threads or default_threads(kernel)
    inp, out, st = kernel.input_type, kernel.output_type, kernel.state_type
    meta = layout.MESSAGE_HEADER.dtype
    # messages staged per batch: at most one per thread, and at most ~16 KB of shared memory
    stage = max(1, min(threads, 16384 // (inp.dtype.itemsize + meta.itemsize)))
    n_peers = len(kernel.peers)
    peers = [name for k in range(n_peers) for name in (f"p{k}_hdr", f"p{k}_meta", f"p{k}_pay", f"p{k}_lock")]
    cb = {k: layout.CB[k] for k in layout.CB}
    qh = dict(head=layout.QH_HEAD, tail=layout.QH_TAIL, capacity=layout.QH_CAPACITY, mask=layout.QH_MASK)
    L = lifecycle
    return _env().get_template("ring_actor_numba.py.j2").render(
        handler_source=emit_handler(kernel._f, n_peers).rstrip("\n"), name=kernel.name,
        threads=threads, stage=stage, parallel=bool(kernel.parallel), simulator=numba_simulator(),
        has_output=out is not None, has_state=st is not None,
        output_type_id=out.type_id if out is not None else 0,
        input_descr=_dtype_expr(inp.dtype),
        output_descr=_dtype_expr(out.dtype if out is not None else abi.NO_OUTPUT_DTYPE),
        state_descr=_dtype_expr(st.dtype if st is not None else abi.NO_STATE_DTYPE),
        meta_descr=_dtype_expr(meta), ctx_words=abi.CTX_WORDS, cb=cb, qh=qh,
        active=int(L.KernelState.ACTIVE), draining=int(L.KernelState.DRAINING),
        cmd=dict(activate=L.CMD_ACTIVATE, deactivate=L.CMD_DEACTIVATE, terminate=L.CMD_TERMINATE,
                 restart=L.CMD_RESTART, resume=L.CMD_RESUME),
        exit=dict(terminated=L.EXIT_TERMINATED, restart=L.EXIT_RESTART, failed=L.EXIT_FAILED),
        peer_params="".join(", " + p for p in peers),
        peer_args="".join(", " + p for p in peers)) + "\n"


emit_ring = render_actor       # the ring kind's entry (kinds.RING): the whole resident actor module
