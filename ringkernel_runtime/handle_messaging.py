"""KernelHandle's messaging: send and receive (blocking, batched and async), and when input is refused."""
from __future__ import annotations

import asyncio
import itertools
import time

import numpy as np

from .deadletter import DeadLetter
from .errors import (ActorFailedError, ActorTerminatedError, InvalidArgumentError, MessageTypeError,
                     QueueFullError, ReceiveTimeout, RingKernelError, check_int, check_timeout)
from .lifecycle import KernelState
from .queues import wait_until

S = KernelState
_TERMINATED, _FAILED = S.TERMINATED, S.FAILED
_INF = float("inf")
_new = object.__new__


class HandleMessaging:
    """KernelHandle's sending and receiving methods (the state they use is set up in KernelHandle.__init__)."""

    # -- sending -------------------------------------------------------------------------------
    def _refusal(self) -> ActorTerminatedError | None:
        """The error a send gets now, or None while the actor takes input (a supervised actor
        between a failure and its restart does: the message waits for the restarted loop)."""
        st = self.lifecycle._state
        if st is S.TERMINATED:
            return ActorTerminatedError(
                f"actor {self.name} is TERMINATED; it accepts no messages. Spawn or launch it again "
                "(rt.spawn / rt.launch).")
        if st is S.FAILED and not self.restartable:
            why = f": {self.failure}" if self.failure else ""
            return ActorFailedError(
                f"actor {self.name} is FAILED{' (escalated)' if self.escalated else ''} and will not be "
                f"restarted{why}; it accepts no messages (its queued input is dead-lettered when it is "
                "terminated). Spawn it with a restart policy, or launch it again.")
        return None

    def _check_alive(self) -> None:
        err = self._refusal()
        if err is not None:
            raise err

    def _record_of(self, msg):
        t = self.kernel.input_type
        if isinstance(msg, t):
            return msg.record
        if isinstance(msg, (np.void, np.ndarray)) and msg.dtype == t.dtype and msg.size == 1:
            return msg
        got = type(msg).__name__ if not hasattr(msg, "dtype") else f"{type(msg).__name__} with dtype {msg.dtype}"
        raise MessageTypeError(f"actor {self.name} takes {t.__name__} messages, got {got}; "
                               f"build one with {t.__name__}({', '.join(f'{n}=...' for n in t.dtype.names)})")

    def send(self, msg, timeout: float | None = None) -> int:
        """Enqueue one message; returns its correlation id (copied into the reply's header).

        Raises ActorTerminatedError (ActorFailedError) at once when the actor is terminated or
        failed for good; QueueFullError when its queue stays full for `timeout` seconds
        (default: LaunchOptions.send_timeout; only with overflow="block")."""
        # the per-message path: every attribute it needs was bound in KernelHandle.__init__,
        # locks are taken without `with` (twice the cost), the queue and clock inline their rules
        rec = msg.record if type(msg) is self._input_type else self._record_of(msg)
        if timeout is not None:
            timeout = check_timeout(timeout)
        q = self._lane
        lock = q.send_lock
        lock.acquire()             # terminate drains under this lock: a send is processed,
        try:                       # dead-lettered or refused, never lost
            st = self.lifecycle._state
            if st is _TERMINATED or st is _FAILED:
                self._check_alive()
            corr = next(self._corr)
            physical, logical = self._tick()
            if q.push_one(rec, corr, physical, logical):
                return corr
            letter = self._send_to_full_queue(q, rec, corr, physical, logical, timeout)
        finally:
            lock.release()
        if letter is not None:
            self.runtime.dead_letters.add(letter)      # outside the lock: hooks may run
        return corr

    def _send_to_full_queue(self, q, rec, corr, physical, logical, timeout):
        """The queue was full: apply the overflow policy (the caller holds q.send_lock); returns
        the dead letter to file, or None when the message went in after waiting."""
        policy = self.options.overflow
        if policy == "dead_letter":
            return DeadLetter("queue_full", self.kernel.input_type.from_record(rec), self.name,
                              time.time(), None, corr)
        timeout = self.options.send_timeout if timeout is None else timeout
        if policy == "error" or not wait_until(lambda: q.free() > 0 or self._refusal() is not None, timeout):
            raise QueueFullError(f"actor {self.name}: input queue full ({q.capacity} messages) for "
                                 f"{0 if policy == 'error' else timeout}s; raise queue_capacity, "
                                 "receive replies faster, or use overflow='dead_letter'")
        self._check_alive()
        q.push_one(rec, corr, physical, logical)
        return None

    def _alive_now(self) -> bool:
        return self._refusal() is None

    def send_many(self, batch: np.ndarray, timeout: float | None = None) -> int:
        """Enqueue a structured array of input messages (blocks while full); returns the count.

        An error raised after some of the batch was enqueued (QueueFullError, or ActorTerminatedError
        when the actor stopped while the call waited for room) says how many in `exc.sent`: those
        were accepted (each is then processed or dead-lettered); the rest were not."""
        t = self.kernel.input_type
        if not isinstance(batch, np.ndarray) or batch.dtype != t.dtype:
            got = getattr(batch, "dtype", type(batch).__name__)
            raise MessageTypeError(f"actor {self.name}: send_many needs a structured array of dtype "
                                   f"{t.__name__}.dtype = {t.dtype}, got {got}; build it with "
                                   f"{t.__name__}.zeros(n)")
        timeout = self.options.send_timeout if timeout is None else check_timeout(timeout)
        batch = batch.reshape(-1)
        q, n, sent = self.actor.host_lane, len(batch), 0
        deadline = time.perf_counter() + timeout
        letters = []
        with q.send_lock:
            err = self._refusal()
            if err is not None:
                err.sent = 0
                raise err
            if self.options.overflow == "error" and q.free() < n:
                raise QueueFullError(f"actor {self.name}: {n} messages do not fit ({q.free()} free); "
                                     "send smaller batches or raise queue_capacity")
            while sent < n:
                ts = self.runtime.hlc.reserve(n - sent)
                first = next(self._corr)
                k = q.push_many(batch[sent:], first, ts.physical, ts.logical)
                self._corr = itertools.count(first + max(k, 1))
                sent += k
                if sent == n:
                    break
                if self.options.overflow == "dead_letter":
                    now = time.time()
                    letters = [DeadLetter("queue_full", t.from_record(batch[i]), self.name, now)
                               for i in range(sent, n)]
                    break
                remaining = deadline - time.perf_counter()
                if remaining <= 0 or not wait_until(lambda: q.free() > 0 or self._refusal() is not None,
                                                    remaining):
                    err = QueueFullError(f"actor {self.name}: queue stayed full for {timeout}s after "
                                         f"{sent} of {n} messages; the first {sent} were sent")
                    err.sent = sent
                    raise err
                err = self._refusal()
                if err is not None:               # it stopped while we waited: `sent` were accepted
                    err.sent = sent
                    raise err
        self.runtime.dead_letters.add_many(letters)
        return sent

    # -- receiving -----------------------------------------------------------------------------
    def _out_queue(self):
        if self.kernel.output_type is None:
            raise RingKernelError(f"actor {self.name} declares output=None: it sends no replies")
        return self.actor.out

    def _replies_over(self) -> bool:
        """No reply can come any more: terminated or failed for good, and the loop has returned."""
        return self._loop_done.is_set() and self.lifecycle._state in (S.TERMINATED, S.FAILED) \
            and self._refusal() is not None

    def receive(self, timeout: float | None = 1.0):
        """The next reply (an instance of the output message class).

        Raises ReceiveTimeout (a TimeoutError) when none arrives within `timeout` seconds (None:
        wait as long as it takes), and at once ActorTerminatedError (ActorFailedError) when the
        actor has stopped and no reply is left."""
        if type(timeout) is not float or not 0.0 <= timeout < _INF:
            timeout = check_timeout(timeout)
        q = self._replies
        if q is None:
            q = self._out_queue()                      # raises: output=None
        lock = q.receive_lock
        lock.acquire()
        try:
            got = q.pop_record()
            if got is None:
                got = self._wait_for_reply(q, timeout)
        finally:
            lock.release()
        rec, phys, logical = got
        self._observe(phys, logical)
        reply = _new(self._output_type)
        self._set_reply_record(reply, rec)  # `reply.record = rec`: rec is a private copy (pop_record)
        return reply

    def _wait_for_reply(self, q, timeout):
        """No reply was waiting: wait up to `timeout` (the caller holds q.receive_lock)."""
        wait_until(lambda: q.depth() > 0 or self._replies_over(), timeout)
        got = q.pop_record()
        if got is None:
            if self._replies_over():
                err = self._refusal()
                raise type(err)(f"{err} No reply is left to receive.")
            raise ReceiveTimeout(f"no reply from actor {self.name} within {timeout}s "
                                 f"(state {self.state.name}, {q.depth()} replies queued)")
        return got

    def receive_many(self, max_count: int, timeout: float | None = 1.0, headers: bool = False):
        """Up to max_count replies as a structured array (what arrived by the timeout; maybe empty;
        at once what is left when the actor has stopped).

        With headers=True returns (replies, message_headers) (correlation ids, HLC stamps).
        """
        max_count = check_int(max_count, "max_count", lo=0)
        timeout = check_timeout(timeout)
        if not isinstance(headers, (bool, np.bool_)):
            raise InvalidArgumentError(f"headers={headers!r} must be True or False")
        q = self._out_queue()
        parts, metas, got = [], [], 0
        deadline = time.perf_counter() + (timeout if timeout is not None else 1e9)
        with q.receive_lock:
            while True:
                recs, meta = q.pop_many(max_count - got)
                if len(recs):
                    parts.append(recs)
                    metas.append(meta)
                    got += len(recs)
                remaining = deadline - time.perf_counter()
                if got >= max_count or remaining <= 0:
                    break
                if self._replies_over() and q.depth() == 0:
                    break
                wait_until(lambda: q.depth() > 0 or self._replies_over(), remaining)
        out = np.concatenate(parts) if len(parts) > 1 else (parts[0] if parts else q.payload[:0].copy())
        meta = np.concatenate(metas) if len(metas) > 1 else (metas[0] if metas else q.meta[:0].copy())
        if len(meta):
            self.runtime.hlc.update(int(meta["hlc_physical"].max()), int(meta["hlc_logical"].max()))
        return (out, meta) if headers else out

    async def send_async(self, msg, timeout: float | None = None) -> int:
        return await asyncio.to_thread(self.send, msg, timeout)

    async def send_many_async(self, batch, timeout: float | None = None) -> int:
        return await asyncio.to_thread(self.send_many, batch, timeout)

    async def receive_async(self, timeout: float | None = 1.0):
        return await asyncio.to_thread(self.receive, timeout)

    async def receive_many_async(self, max_count: int, timeout: float | None = 1.0, headers: bool = False):
        return await asyncio.to_thread(self.receive_many, max_count, timeout, headers)
