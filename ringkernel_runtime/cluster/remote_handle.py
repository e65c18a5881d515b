"""RemoteHandle: a KernelHandle's methods for an actor hosted by another process (RayRuntime).

Each call is one Ray actor call to the hosting process (~1 ms on a small box): move messages with
send_many / receive_many, whose cost is per batch. A send is accepted into the driver's ledger
(ledger.py) with a cluster-wide correlation id before it leaves; from then on it is a reply or a
dead letter exactly once, even if the hosting process dies (RayRuntime._recover).
"""
from __future__ import annotations

import numpy as np

from ..errors import (ActorFailedError, ActorTerminatedError, InvalidArgumentError, MessageTypeError,
                      ReceiveTimeout, RingKernelError, check_int, check_timeout)
from ..layout import MESSAGE_HEADER
from ..lifecycle import KernelState

S = KernelState


class RemoteHandle:
    def __init__(self, runtime, kernel, ref, options, name: str, slot, restart, supervised: bool,
                 parent, peers: dict):
        self.runtime, self.kernel, self.ref, self.options = runtime, kernel, ref, options
        self.name, self.slot, self.restart_policy = name, slot, restart
        self.supervised, self.parent, self.peers = supervised, parent, dict(peers)
        self.restart_count = 0                   # restarts after its hosting process died
        self.failure: str | None = None
        self._state = S.ACTIVE if options.activate else S.DRAINING
        self._failed_for_good = False
        self._restart_times: list[float] = []

    @property
    def node(self) -> int:
        """The index of the hosting process (RayRuntime(hosts=N)) it runs in now."""
        return self.slot.index

    # -- sending -------------------------------------------------------------------------------
    def _refusal(self):
        if self._state is S.TERMINATED:
            return ActorTerminatedError(f"actor {self.name} is TERMINATED; it accepts no messages")
        if self._failed_for_good:
            return ActorFailedError(f"actor {self.name} is FAILED and will not be restarted: {self.failure}")
        return None

    def send(self, msg, timeout: float | None = None) -> int:
        """Send one message (one Ray call: prefer send_many); returns its correlation id."""
        t = self.kernel.input_type
        if isinstance(msg, t):
            rec = np.array(msg.record).reshape(1)
        elif isinstance(msg, (np.void, np.ndarray)) and msg.dtype == t.dtype and msg.size == 1:
            rec = np.array(msg).reshape(1)
        else:
            raise MessageTypeError(f"actor {self.name} takes {t.__name__} messages, got {type(msg).__name__}")
        return self.runtime._send(self, rec, timeout)

    def send_many(self, batch: np.ndarray, timeout: float | None = None) -> int:
        """Send a structured array of input messages in one Ray call; returns the count accepted
        (each is then a reply or a dead letter, exactly once). Every message is accepted: what
        does not fit the actor's queue within its LaunchOptions.send_timeout is dead-lettered
        ("queue_full") by its host; `timeout` is checked but not used."""
        t = self.kernel.input_type
        if not isinstance(batch, np.ndarray) or batch.dtype != t.dtype:
            raise MessageTypeError(f"actor {self.name}: send_many needs a structured array of dtype "
                                   f"{t.__name__}.dtype, got {getattr(batch, 'dtype', type(batch).__name__)}")
        if timeout is not None:
            check_timeout(timeout)
        self.runtime._send(self, batch.reshape(-1), timeout)
        return len(batch)

    # -- receiving -----------------------------------------------------------------------------
    def receive_many(self, max_count: int, timeout: float | None = 1.0, headers: bool = False):
        """Up to max_count replies as a structured array (what arrived by the timeout)."""
        max_count = check_int(max_count, "max_count", lo=0)
        timeout = check_timeout(timeout)
        if not isinstance(headers, (bool, np.bool_)):
            raise InvalidArgumentError(f"headers={headers!r} must be True or False")
        if self.kernel.output_type is None:
            raise RingKernelError(f"actor {self.name} declares output=None: it sends no replies")
        recs, meta, _ = self.runtime._receive(self, max_count, timeout)
        return (recs, meta) if headers else recs

    def receive(self, timeout: float | None = 1.0):
        timeout = check_timeout(timeout)
        if self.kernel.output_type is None:
            raise RingKernelError(f"actor {self.name} declares output=None: it sends no replies")
        recs, _, over = self.runtime._receive(self, 1, timeout)
        if len(recs) == 0:
            if over:
                raise (self._refusal() or ActorTerminatedError(f"actor {self.name} has stopped; "
                                                                "no reply is left to receive"))
            raise ReceiveTimeout(f"no reply from actor {self.name} within {timeout}s")
        return self.kernel.output_type.from_array(recs[:1])

    # -- lifecycle -----------------------------------------------------------------------------
    def activate(self, timeout: float = 2.0) -> None:
        self.runtime._command(self, "activate", timeout)

    def deactivate(self, timeout: float = 2.0) -> None:
        self.runtime._command(self, "deactivate", timeout)

    def terminate(self, timeout: float = 2.0) -> bool:
        """Stop the actor after the message in hand; its queued input becomes dead letters."""
        return bool(self.runtime._command(self, "terminate", timeout))

    @property
    def state(self) -> KernelState:
        if self._state is S.TERMINATED or self._failed_for_good:
            return self._state
        return self.runtime._describe(self)[0]

    @property
    def stats(self):
        return self.runtime._describe(self)[1]

    def __repr__(self) -> str:
        return f"<RemoteHandle {self.name} on host {self.slot.index} {self._state.name} restarts={self.restart_count}>"


def headers(n: int, first_corr: int, physical: int, first_logical: int, type_id: int = 0) -> np.ndarray:
    """Message headers for n messages sent from the driver (correlation ids and HLC stamps in order)."""
    meta = np.zeros(n, dtype=MESSAGE_HEADER.dtype)
    meta["correlation_id"] = np.arange(first_corr, first_corr + n, dtype=np.uint64)
    meta["hlc_physical"] = physical
    meta["hlc_logical"] = np.arange(first_logical, first_logical + n, dtype=np.uint64)
    meta["type_id"] = type_id
    return meta
