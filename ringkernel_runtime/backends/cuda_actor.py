"""CUDA backend actors: one resident block per actor, driven through mapped pinned memory.

`make_actor(...)` returns a `CudaActor` with CpuActor's interface (runtime.py / handle.py drive
both the same way), so supervision, dead letters and the watchdog are shared code:

    host_lane, out             queues.Queue subclasses whose header / slot headers / payloads live
                               in mapped pinned memory (same layouts as the CPU backend; the host
                               side is the same numpy code, the kernel gets device pointers)
    k2k_lane                   the K2K inbox, in device memory (DeviceQueue): GPU actors send to
                               it without the host; the host copies it only to dead-letter leftovers
    ctrl, ctx, state           mapped too: commands go in, failures and counters come out
    run_loop(active)           first call launches the kernel (templates/ring_actor.cu.j2) on the
                               actor's own non-blocking stream; later calls resume a parked block
                               (after ctx.fail or a restart command) without relaunching

Protocol with the block (thread 0 leads; memory ordering in templates/ring_runtime.cuh):

    host                                     device block
    post(cmd): command, then command_seq ->  relaxed.sys poll of command_seq, fence.acq_rel.sys,
                                             act, fence.sys, st.release.sys command_ack
    push: payload, header, then tail     ->  poll tail, fence, block copies batch to shared memory
                                         <-  replies + headers, fence.sys, release tail; then head
    ctx.fail / CMD_RESTART               <-  failure fields, fence, release exit_reason; park
    reset_state(); exit_reason = 0;
    post(ACTIVATE | DEACTIVATE)          ->  resume: reload state and lane heads, ack
    CMD_TERMINATE                        ->  release exit_reason = TERMINATED, ack, block returns

Every host wait is bounded: run_loop polls exit_reason with short sleeps and checks the stream
(a faulted or finished kernel raises instead of waiting forever); commands use handle.py's timeouts.
K2K inboxes and their producer locks live in device memory; the host never takes the lock and
touches an inbox only while its consumer is parked or stopped (DeviceQueue).
"""
from __future__ import annotations

import re
import threading
import time

import numpy as np

from ringkernel_codegen.abi.descriptors import ACTOR_DESC, PEER_LANE, c_header  # noqa: F401  (re-exported)

from .. import actor_abi as abi
from ..errors import LaunchError
from ..layout import CB, CB_WORDS
from ..lifecycle import EXIT_FAILED, EXIT_TERMINATED, KernelState
from ..queues import _WEAK_ORDER, Queue
from .cuda_queues import DeviceQueue, MappedQueue, Memory  # noqa: F401  (re-exported)
from .cuda_resident import ResidentStream, admit, launch_resident  # noqa: F401  (re-exported)

_STATE, _CMD, _SEQ, _ACK = CB["state"], CB["command"], CB["command_seq"], CB["command_ack"]
_PREVIOUS_ACK_WAIT_S = 0.25
_EXIT, _HEARTBEAT = CB["exit_reason"], CB["heartbeat_ns"]
_ACTIVE, _DRAINING = int(KernelState.ACTIVE), int(KernelState.DRAINING)


def block_threads(source: str) -> int:
    """The block size the actor source was generated for (its `#define RK_THREADS`)."""
    m = re.search(r"^#define RK_THREADS (\d+)$", source, re.M)
    if m is None:
        raise LaunchError("the ring actor source defines no RK_THREADS (template out of date?)")
    return int(m.group(1))


# host address of a K2K inbox's header (its host shadow) -> device pointers (hdr, meta, payload, lock)
_locks: dict[int, tuple[int, int, int, int]] = {}
_locks_guard = threading.Lock()


class CudaActor:
    """The mapped memory and the resident block of one actor; the handle (handle.py) drives it."""

    def __init__(self, kernel, actor_id: int, capacity: int, initial_state: np.ndarray, spin_ns: int,
                 peer_timeout_ns: int, batch: int, node_id: int = 0, memory: Memory | None = None):
        if not hasattr(kernel, "cuda_source"):
            raise LaunchError(f"ring kernel {kernel.name} has no CUDA source (a hand-written njit handler); "
                              "write it with ringkernel_codegen's @ring_kernel or use Runtime(backend='cpu')")
        self.kernel, self.memory = kernel, memory or Memory()
        mem = self.memory
        inp, out = kernel.input_type, kernel.output_type
        self.host_lane = MappedQueue(inp.dtype, capacity, inp.type_id, mem)
        self.k2k_lane = DeviceQueue(inp.dtype, capacity, inp.type_id, mem)
        self.has_output = out is not None
        self.out = MappedQueue(out.dtype if out else abi.NO_OUTPUT_DTYPE, capacity if out else 2,
                               out.type_id if out else 0, mem)
        self.initial_state = initial_state
        self.state = mem.host_array(initial_state.shape, initial_state.dtype)
        self.state[...] = initial_state
        self.ctrl = mem.host_array(CB_WORDS, np.int64)
        self.ctrl[CB["actor_id"]] = actor_id
        self.ctrl[CB["node_id"]] = node_id
        self.ctrl[CB["spin_ns"]] = spin_ns
        self.ctrl[CB["peer_timeout_ns"]] = peer_timeout_ns
        self.ctx = mem.host_array(abi.CTX_WORDS, np.int64)
        self.ctx[abi.CTX_ACTOR_ID] = actor_id
        self.ctx[abi.CTX_NODE_ID] = node_id
        self.ctx[abi.CTX_PEER_TIMEOUT_NS] = peer_timeout_ns
        self.desc = mem.host_array(1, ACTOR_DESC.dtype)
        self._lock_owner, self.k2k_lock = mem.device_zeros(128)
        with _locks_guard:
            _locks[self.k2k_lane.hdr.ctypes.data] = (*self.k2k_lane.pointers, self.k2k_lock)
        self.batch, self.spin_ns = batch, spin_ns
        self.peers: tuple = ()
        self._peer_table = None
        self._seq = 0
        self._cmd_lock = threading.Lock()
        self._beat_seen, self._beat_host = 0, 0
        self.source: str | None = None
        self.function = None
        self.stream = None
        self.launched = False
        self.pool: CudaPool | None = None   # set when the actor is a member of a pool launch
        self._entered = False               # run_loop called once: later calls resume the block
        self.fault: BaseException | None = None   # the kernel faulted or ended: never resumed

    # -- commands (same as CpuActor) ----------------------------------------------------------------
    def post(self, cmd: int) -> int:
        """Write a command, then publish its sequence number; returns the sequence to wait for.

        The control block has one command slot: a command posted before the block read the last
        one would replace it. So post first waits (briefly, bounded) for the previous command's
        acknowledgement; a block that does not answer (a handler busy for long) gets the newer
        command. Terminate does not depend on this: it also sets ctx[CTX_ABORT], which the block
        checks on every poll.
        """
        with self._cmd_lock:
            if self.launched and int(self.ctrl[_ACK]) < self._seq:
                deadline = time.monotonic() + _PREVIOUS_ACK_WAIT_S
                while int(self.ctrl[_ACK]) < self._seq and time.monotonic() < deadline:
                    time.sleep(20e-6)
            self._seq += 1
            self.ctrl[_CMD] = cmd
            if _WEAK_ORDER:
                from ..atomics import fence
                fence()
            self.ctrl[_SEQ] = self._seq
            return self._seq

    def acked(self, seq: int) -> bool:
        return int(self.ctrl[_ACK]) >= seq

    def reset_state(self) -> None:
        """Only while the block is parked (failed or restarting): it reloads state on resume."""
        self.state[...] = self.initial_state

    def fail_lane(self) -> Queue:
        return self.k2k_lane if int(self.ctx[abi.CTX_FAIL_LANE]) == 1 else self.host_lane

    @property
    def heartbeat_ns(self) -> int:
        """Host time (time.time_ns) at which the block's heartbeat was last seen to change.

        The block stamps %globaltimer, whose epoch need not match the host clock, so the watchdog
        compares host times only. 0 until the first beat.
        """
        beat = int(self.ctrl[_HEARTBEAT])
        if beat != self._beat_seen:
            self._beat_seen, self._beat_host = beat, time.time_ns()
        return self._beat_host

    # -- compile and launch ------------------------------------------------------------------------
    def compile(self) -> None:
        """Generate, compile (NVRTC, cached) and load the actor kernel; errors surface at launch."""
        from .cuda import get_kernel
        self.source = self.kernel.cuda_source()
        self.threads = block_threads(self.source)
        self.function = get_kernel(self.source, f"rk_actor_{self.kernel.name}")

    def fill_descriptor(self) -> None:
        """Point the block at its memory and its peers' inboxes (done once, before the launch)."""
        mem, d = self.memory, self.desc[0]
        d["ctrl"], d["ctx"] = mem.device_pointer(self.ctrl), mem.device_pointer(self.ctx)
        for prefix, q in (("host", self.host_lane), ("k2k", self.k2k_lane), ("out", self.out)):
            d[f"{prefix}_hdr"], d[f"{prefix}_meta"], d[f"{prefix}_payload"] = q.pointers
        d["state"] = mem.device_pointer(self.state)
        table = mem.host_array(max(len(self.peers), 1), PEER_LANE.dtype)
        for k, (hdr, _meta, _payload, _scratch) in enumerate(self.peers):
            with _locks_guard:
                inbox = _locks.get(hdr.ctypes.data)
            if inbox is None:
                raise LaunchError("a peer of a cuda actor must be a cuda actor of the same runtime")
            table[k] = inbox
        self._peer_table = table
        d["peers"], d["n_peers"] = mem.device_pointer(table), len(self.peers)
        d["batch"], d["spin_ns"] = self.batch, self.spin_ns

    def _new_stream(self):
        return self.memory.resources.streams.get()

    def _launch(self, active: bool) -> None:
        if self.pool is not None:
            self.pool.launch(active)
            return
        self.fill_descriptor()
        self.ctrl[_STATE] = _ACTIVE if active else _DRAINING
        self.ctrl[_EXIT] = 0
        if self.function is None:
            self.compile()
        try:
            self.stream = launch_resident(f"actor {self.kernel.name}", self.function, 1, self.threads,
                                          [("ptr", self.memory.device_pointer(self.desc))], self._new_stream)
        except Exception as exc:          # never launched: nothing to resume, nothing to restart
            self.fault = exc
            raise
        self.launched = True

    def run_loop(self, active: bool, poll_s: float = 1e-3) -> int:
        """Launch (first call) or resume the parked block, then wait for its next exit reason."""
        if not self._entered:
            self._entered = True
            self._launch(active)
        else:
            from ..lifecycle import CMD_RESUME
            if self.fault is not None:
                raise self.fault              # the grid is gone: nothing to resume
            self.ctrl[_STATE] = _ACTIVE if active else _DRAINING   # the block parks; it reads it on RESUME
            self.ctrl[_EXIT] = 0
            self.post(CMD_RESUME)
        return self.wait_exit(poll_s)

    def wait_exit(self, poll_s: float = 1e-3) -> int:
        """Block until the kernel reports an exit reason; raise if the kernel ended without one."""
        from ringkernel_codegen.errors import KernelRuntimeError
        delay, checks = 20e-6, 0
        while True:
            reason = int(self.ctrl[_EXIT])
            if reason:
                return reason
            checks += 1
            if checks % 16 == 0 and self.stream is not None and self._stream_done():
                reason = int(self.ctrl[_EXIT])
                if reason:
                    return reason
                self.launched = False
                self.fault = KernelRuntimeError(f"the actor kernel of {self.kernel.name} ended without an exit "
                                                "reason (see the CUDA error above, if any)")
                raise self.fault
            time.sleep(delay)
            delay = min(delay * 2, poll_s)

    def _stream_done(self) -> bool:
        """stream.done(), remembering a fault (a faulted grid is gone for good: no restart)."""
        try:
            return self.stream.done()
        except Exception as exc:
            self.launched = False
            self.fault = exc
            raise

    def _others_run_on(self) -> bool:
        """In a pool: this block published EXIT_TERMINATED (its last act) while others still run.
        The last member to stop waits for the grid itself (so the launch counts as stopped)."""
        if self.pool is None or int(self.ctrl[_EXIT]) != EXIT_TERMINATED:
            return False
        return any(int(m.ctrl[_EXIT]) != EXIT_TERMINATED for m in self.pool.members)

    def wait_stopped(self, timeout: float) -> bool:
        """After CMD_TERMINATE: True once the block has returned (its stream is idle; in a pool,
        where other blocks keep running, once it published EXIT_TERMINATED, its last act)."""
        if not self.launched or self.stream is None:
            return True
        deadline = time.monotonic() + timeout
        delay = 20e-6
        while True:
            try:
                if self.stream.done() or self._others_run_on():
                    self.launched = False
                    return True
            except Exception:  # a faulted kernel has stopped too; run_loop reported the fault
                self.launched = False
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 1e-3)

    def close(self) -> None:
        with _locks_guard:
            _locks.pop(self.k2k_lane.hdr.ctypes.data, None)


class CudaPool:
    """Several actors of one ring kernel resident in ONE launch: block i runs member i.

    The first member whose loop starts launches the whole grid (descriptors in one mapped array,
    indexed by blockIdx.x in ring_actor.cu.j2). Afterwards every member is driven alone through
    its own control block, exactly like a single actor: a failed member parks and is resumed by
    the supervisor without a relaunch, a terminated member's block returns while the others run.
    The pool's size is fixed at launch.
    """

    def __init__(self, members: list[CudaActor]):
        if not members:
            raise LaunchError("a pool needs at least one actor")
        kernels = {id(m.kernel) for m in members}
        if len(kernels) != 1:
            raise LaunchError("every member of a pool runs the same ring kernel")
        self.members = list(members)
        self.descs = members[0].memory.host_array(len(members), ACTOR_DESC.dtype)
        self.launches = 0
        self.failed: BaseException | None = None   # the launch was refused or failed: no member runs
        self._lock = threading.Lock()
        for m in self.members:
            m.pool = self

    def launch(self, active: bool) -> None:
        """Launch the grid once (idempotent): every member's descriptor, state and exit reason first."""
        with self._lock:
            if self.failed is not None:
                raise self.failed
            if self.launches:
                return
            try:
                self._launch_grid(active)
            except Exception as exc:      # every member is failed for good: nothing to restart
                self.failed = exc
                for m in self.members:
                    m.fault = exc
                raise

    def _launch_grid(self, active: bool) -> None:
        first = self.members[0]
        if first.function is None:
            first.compile()
        for i, m in enumerate(self.members):
            m.fill_descriptor()
            self.descs[i] = m.desc[0]
            m.ctrl[_STATE] = _ACTIVE if active else _DRAINING
            m.ctrl[_EXIT] = 0
            m.function, m.threads, m.source = first.function, first.threads, first.source
        # a plain launch: the blocks never wait for each other, so no cooperative launch is
        # needed; but every block must become resident beside the actors already running (one
        # that waited for a free slot would wait forever), which the residency ledger checks
        # for the whole device before launching, refusing with the numbers
        stream = launch_resident(f"pool of {len(self.members)} {first.kernel.name} actors", first.function,
                                 len(self.members), first.threads,
                                 [("ptr", first.memory.device_pointer(self.descs))], first._new_stream)
        self.launches += 1
        for m in self.members:
            m.stream, m.launched = stream, True


def make_pool(actors: list) -> CudaPool:
    """The backend hook runtime.py calls for Runtime.launch_pool on the cuda backend."""
    return CudaPool(actors)


def prepare(arena_mib: int | None = None) -> None:
    """The backend hook Runtime(backend="cuda") calls at start: the memory arenas' first chunks and
    the stream pool, allocated before any actor is resident (cuda_resources)."""
    from .cuda_resources import reserve
    reserve(arena_mib)


def preload(kernel) -> None:
    """The backend hook Runtime.preload calls: compile and load the actor module now (the same
    cached module every later CudaActor.compile of this kernel gets)."""
    from .cuda import get_kernel
    get_kernel(kernel.cuda_source(), f"rk_actor_{kernel.name}")


def make_actor(kernel, actor_id: int, capacity: int, initial_state: np.ndarray, spin_ns: int,
               peer_timeout_ns: int, batch: int, node_id: int = 0) -> CudaActor:
    """The backend hook runtime.py calls for Runtime(backend="cuda")."""
    return CudaActor(kernel, actor_id, capacity, initial_state, spin_ns, peer_timeout_ns, batch, node_id)


__all__ = ["ACTOR_DESC", "PEER_LANE", "CudaActor", "CudaPool", "DeviceQueue", "MappedQueue", "Memory", "c_header",
           "admit", "launch_resident", "make_actor", "make_pool", "prepare", "preload",
           "EXIT_FAILED"]
