"""KernelHandle: the user's view of one launched actor (send, receive, lifecycle, stats).

The handle is backend-neutral: it drives a backend actor object (backends/cpu.py `CpuActor`)
through its queues (`host_lane`, `k2k_lane`, `out`: queues.Queue), control block (`ctrl`,
`post(cmd)`, `acked(seq)`), `ctx`, `reset_state()` and `run_loop(active)`.

Nothing is lost on any path. The actor's loop runs on the handle's thread (a GPU block: the
thread waits for it); once that thread has returned, nothing consumes the actor's inboxes again.
A TERMINATED actor's inboxes (host queue and K2K inbox) are dead-lettered when its loop has
returned, again whenever one of its K2K producers stops (it may have been the last writer), and
periodically by the runtime's watchdog while a producer still runs: what a peer sends to a stopped
actor becomes a dead letter carrying its correlation id. An actor that failed for good (not
restarted) refuses sends at once and keeps its queued input until it is terminated.

The methods live in handle_lifecycle.py (start, serve, fail, restart, terminate, settle) and
handle_messaging.py (send, receive); KernelStats, StopReport and ActorRecord in reports.py.
"""
from __future__ import annotations

import itertools
import threading
import weakref
from collections import deque

from .handle_lifecycle import HandleLifecycle
from .handle_messaging import HandleMessaging
from .errors import RingKernelError
from .layout import CB
from .lifecycle import Lifecycle
from .reports import ActorRecord, KernelStats, StopReport  # noqa: F401 - imported from here too


class KernelHandle(HandleLifecycle, HandleMessaging):
    def __init__(self, runtime, kernel, actor, options, name: str, parent=None, restart_policy=None,
                 supervised: bool = True, peer_handles: tuple = ()):
        self.runtime, self.kernel, self.actor, self.options = runtime, kernel, actor, options
        self.name, self.parent, self.restart_policy = name, parent, restart_policy
        self.supervised = supervised        # spawned into its parent's group (False: rt.launch)
        self.lifecycle = Lifecycle(name)
        self.restart_count = 0
        self.escalated = False
        self.escalations: list[tuple[float, str, str]] = []
        self.failure: str | None = None     # why it failed last
        self.terminate_report: StopReport | None = None
        self._restart_times: deque[float] = deque()
        self._stalled = False
        self._terminating = False
        self._failed_for_good = False       # FAILED and not restarted: refuses input from then on
        self._active_wanted = options.activate
        self._corr = itertools.count(1)
        self._life_lock = threading.RLock()
        self._drain_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop_done = threading.Event()  # the loop returned for good: nothing consumes the inboxes
        self._retired = False                # out of the runtime's tables (terminated and stopped)
        self._peer_handles = tuple(peer_handles)   # K2K targets, by peer index (sorted peer names)
        self._producers: weakref.WeakSet = weakref.WeakSet()   # handles wired to send to this one
        self.crash: BaseException | None = None
        self.started_ns = 0
        # the per-message send and receive paths, bound once
        self._input_type, self._lane, self._tick = kernel.input_type, actor.host_lane, runtime.hlc.tick
        self._observe = runtime.hlc.observe
        out = kernel.output_type
        self._replies = actor.out if out is not None else None
        self._output_type = out
        self._set_reply_record = out.record.__set__ if out is not None else None   # the slot's setter

    # -- inspection ----------------------------------------------------------------------------
    def read_state(self):
        if self.kernel.state_type is None:
            raise RingKernelError(f"actor {self.name} declares no state=")
        return self.kernel.state_type.from_array(self.actor.state.copy())

    @property
    def stats(self) -> KernelStats:
        c = self.actor.ctrl
        return KernelStats(int(c[CB["messages_in"]]), int(c[CB["messages_out"]]),
                           self.actor.host_lane.depth() + self.actor.k2k_lane.depth(),
                           self.actor.out.depth() if self.kernel.output_type else 0,
                           self.restart_count, int(c[CB["heartbeat_ns"]]) / 1e9, int(c[CB["error_code"]]))

    def __repr__(self) -> str:
        return f"<KernelHandle {self.name} {self.state.name} restarts={self.restart_count}>"
