"""Simulation: the host's handle on a running @persistent kernel (the same for every backend).

    sim = wave.start(p=p0, p_prev=p1, c2=0.1)    # launched once; idle at step 0
    sim.run(100)                   # asynchronous: the loop may run up to 100 more steps
    sim.wait()                     # until it got there (bounded; a stalled step counter is reported)
    sim.steps                      # steps completed, read from the mailbox
    snap = sim.read("p")           # a copy taken between two steps, never half of one
    sim.inject("p", np.s_[4, 4, 4], 1.0)          # now: at the next step boundary; returns that step
    sim.inject("p", np.s_[4, 4, 4], 1.0, step=50) # after exactly 50 steps (before step 51)
    sim.set(c2=0.2, step=80)       # scalar parameters, the same way
    sim.pause(); sim.resume(); sim.terminate()    # or `with wave.start(...) as sim:`

Protocol (ringkernel_codegen.abi.persistent): the host posts one command at a time in the control
block (command, then command_seq) and waits for its acknowledgement before the next; `run` only
raises `target`. Actions on data (read, inject, set) are served by the backend with the step loop
stopped at a boundary: "now" through CMD_BOUNDARY, at a named step through `stop_at`. A backend
subclass provides `_prepare()` (compile; buffers are ready) and `_loop()` (run the step loop until
it returns EXIT_TERMINATED or EXIT_BOUNDARY); this class owns the thread, commands and actions.

The arrays given to start() are copied; terminate() writes each field's final value back into the
array given for it (by role: after an odd number of steps a swap pair's buffers have exchanged).
"""
from __future__ import annotations

import threading
import time

import numpy as np

from ringkernel_codegen.abi.persistent import CMD_BOUNDARY, EXIT_BOUNDARY, MB, WORDS
from ringkernel_codegen.launch import _scalar

from .errors import CommandTimeout, KernelRuntimeError, LaunchError, LifecycleError
from .layout import CB
from .lifecycle import CMD_ACTIVATE, CMD_DEACTIVATE, CMD_TERMINATE, EXIT_TERMINATED, KernelState

_STATE, _CMD, _SEQ, _ACK, _HEARTBEAT = CB["state"], CB["command"], CB["command_seq"], CB["command_ack"], CB["heartbeat_ns"]
_STEPS, _TARGET, _STOP_AT, _PARKED = MB["steps"], MB["target"], MB["stop_at"], MB["parked"]
COMMAND_TIMEOUT = 10.0       # seconds a command may wait for the next step boundary


class _Backoff:
    """Host-side polling: yield for the first ~100 us (a step boundary is usually that close),
    then sleep, doubling up to `most` seconds."""

    def __init__(self, most: float = 1e-3):
        self.start, self.pause, self.most = time.perf_counter(), 20e-6, most

    def __call__(self) -> None:
        if time.perf_counter() - self.start < 100e-6:
            time.sleep(0)
            return
        time.sleep(self.pause)
        self.pause = min(self.pause * 2, self.most)


class _Action:
    """Work on the buffers done with the loop stopped at a boundary; `step` None: the next one."""

    def __init__(self, step, apply, what):
        self.step, self.apply, self.what = step, apply, what
        self.done = threading.Event()
        self.result = self.error = self.served_at = None


class Simulation:
    def __init__(self, kernel, geometry, args):
        self.kernel, self.name = kernel, kernel.name
        self.grid, self.block = geometry
        self.params = list(kernel.params)
        self.slots = kernel.slots()
        self.originals = list(args)
        self.buffers = [np.ascontiguousarray(a).copy() for a, (w, _) in zip(args, self.slots) if w == "array"]
        self.originals_shape = [b.shape for b in self.buffers]
        self.buffer_dtypes = [b.dtype for b in self.buffers]
        self.fs = np.zeros(max(1, sum(w == "float" for w, _ in self.slots)), dtype=np.float64)
        self.is_ = np.zeros(max(1, sum(w == "int" for w, _ in self.slots)), dtype=np.int64)
        for p, a, slot in zip(self.params, args, self.slots):
            if slot[0] != "array":
                self._store_scalar(p, slot, a)
        self.ctrl = np.zeros(WORDS, dtype=np.int64)
        self.ctrl[_STATE] = int(KernelState.ACTIVE)
        self.ctrl[_STOP_AT] = -1
        self._seq = 0
        self._cmd_lock = threading.Lock()      # one command in the slot at a time
        self._lock = threading.Lock()          # the pending actions
        self._pending: list[_Action] = []
        self._failure: BaseException | None = None
        self._late: str | None = None
        self._thread: threading.Thread | None = None
        self._finished = threading.Event()
        self._written_back = False

    # ------------------------------------------------------------------ backend hooks
    def _prepare(self) -> None:
        raise NotImplementedError

    def _loop(self) -> int:
        raise NotImplementedError

    _served_park = 0

    def _wait_parked(self, ended) -> int:
        """For a loop that parks on the device (cuda, numba): EXIT_BOUNDARY at each new park, once
        (mailbox `parked`), EXIT_TERMINATED when `ended()` says the kernel returned."""
        backoff = _Backoff()
        while True:
            if ended():
                return EXIT_TERMINATED
            park = int(self.ctrl[_PARKED])
            if park != 0 and park != self._served_park:
                self._served_park = park
                return EXIT_BOUNDARY
            backoff()

    def _host_copy(self, j: int) -> np.ndarray:
        """A host copy of buffer j (called at a boundary, or after the loop ended)."""
        return self.buffers[j].copy()

    def _inject(self, j: int, index, value) -> None:
        self.buffers[j][index] = value

    # ------------------------------------------------------------------ the simulation's thread
    def start(self) -> "Simulation":
        self._prepare()
        self._thread = threading.Thread(target=self._main, name=f"ringkernel-sim-{self.name}", daemon=True)
        self._thread.start()
        return self

    def _main(self) -> None:
        try:
            while self._loop() == EXIT_BOUNDARY:
                self._serve()
            self.ctrl[_STATE] = int(KernelState.TERMINATED)
        except BaseException as exc:  # noqa: BLE001 - reported to the host on its next call
            self._failure = exc
            self.ctrl[_STATE] = int(KernelState.FAILED)
        finally:
            self._finished.set()
            with self._lock:
                pending, self._pending = self._pending, []
            for a in pending:
                a.error = self._stopped_error(a.what)
                a.done.set()

    def _serve(self) -> None:
        """At a step boundary, loop stopped: run the due actions, acknowledge CMD_BOUNDARY, set the
        next stop."""
        steps = int(self.ctrl[_STEPS])
        # the command in the slot, read BEFORE the due actions are taken: an action is queued before
        # its CMD_BOUNDARY's sequence is published, so the command acknowledged below is one whose
        # action is in `due` (one posted after this read waits for the next boundary)
        seq, cmd = int(self.ctrl[_SEQ]), int(self.ctrl[_CMD])
        with self._lock:
            due = [a for a in self._pending if a.step is None or a.step <= steps]
            self._pending = [a for a in self._pending if a not in due]
        for a in due:
            a.served_at = steps
            if a.step is not None and a.step < steps:
                a.error = LifecycleError(f"{a.what} at step {a.step} came too late: the simulation had already "
                                         f"completed {steps} steps; schedule it before run() passes that step")
                self._late = str(a.error)
            else:
                try:
                    a.result = a.apply(steps)
                except Exception as exc:  # noqa: BLE001 - the caller's bad index or value
                    a.error = exc
            a.done.set()
        if seq != int(self.ctrl[_ACK]) and cmd == CMD_BOUNDARY:
            self.ctrl[_ACK] = seq
        with self._lock:
            self.ctrl[_STOP_AT] = min((a.step for a in self._pending if a.step is not None), default=-1)

    # ------------------------------------------------------------------ commands
    def _check_usable(self, what: str) -> None:
        if self._failure is not None:
            raise KernelRuntimeError(f"simulation '{self.name}' failed at step {self.steps}: "
                                     f"{type(self._failure).__name__}: {self._failure}") from None
        if self._late is not None:
            late, self._late = self._late, None
            raise LifecycleError(late)
        if self._finished.is_set():
            raise LifecycleError(f"simulation '{self.name}' was terminated; {what} needs a running simulation "
                                 "(start a new one)")

    def _stopped_error(self, what):
        if self._failure is not None:
            return KernelRuntimeError(f"simulation '{self.name}' failed: {type(self._failure).__name__}: "
                                      f"{self._failure}")
        return LifecycleError(f"simulation '{self.name}' stopped before {what} was served")

    def _post(self, cmd: int, what: str, timeout: float) -> None:
        """One command in the slot at a time (this lock): write it, then its sequence; wait for the
        acknowledgement. One that timed out may still be taken later, or be replaced by the next."""
        with self._cmd_lock:
            self._check_usable(what)
            self._seq += 1
            self.ctrl[_CMD] = cmd
            self.ctrl[_SEQ] = self._seq
            self._wait_for(lambda: int(self.ctrl[_ACK]) >= self._seq, timeout,
                           f"{what}: the step loop did not reach a step boundary")

    def _wait_for(self, done, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        backoff = _Backoff(2e-3)
        while not done():
            if self._finished.is_set() and not done():
                self._check_usable(what)
                raise self._stopped_error(what)
            if time.monotonic() > deadline:
                raise CommandTimeout(f"simulation '{self.name}': {what} within {timeout} s ({self._report()})")
            backoff()

    def _report(self) -> str:
        age = (time.time_ns() - int(self.ctrl[_HEARTBEAT])) / 1e9 if self.ctrl[_HEARTBEAT] else None
        beat = "no heartbeat yet" if age is None else f"last heartbeat {age:.3g} s ago"
        return (f"state {self.state.name}, {self.steps} steps done of {int(self.ctrl[_TARGET])} asked, {beat}; "
                f"the step loop is stuck inside a step or the machine is overloaded")

    def _act(self, step, apply, what: str, timeout: float):
        """Schedule an action; `step` None: at the next boundary, waited for (returns its result)."""
        self._check_usable(what)
        if step is not None:
            step = int(step)
            if step < self.steps:
                raise LifecycleError(f"{what} at step {step}: the simulation has already completed {self.steps} "
                                     "steps")
        a = _Action(step, apply, what)
        with self._lock:
            self._pending.append(a)
            if step is not None:
                current = int(self.ctrl[_STOP_AT])
                self.ctrl[_STOP_AT] = step if current < 0 else min(current, step)
                if self.steps > step:              # the loop passed the step while it was being scheduled
                    if a in self._pending:
                        self._pending.remove(a)
                        raise LifecycleError(f"{what} at step {step}: the simulation has already completed "
                                             f"{self.steps} steps")
        if step is not None:
            return step
        try:
            self._post(CMD_BOUNDARY, what, timeout)
        except CommandTimeout:
            with self._lock:                       # not taken yet: it must never apply later
                if a in self._pending:
                    self._pending.remove(a)
                    raise
        if not a.done.wait(timeout):               # never return a result that was not produced
            with self._lock:
                if a in self._pending:             # not taken: withdraw it, it must never apply later
                    self._pending.remove(a)
                    raise CommandTimeout(f"simulation '{self.name}': {what} was not served within {timeout} s "
                                         f"({self._report()})")
            if not a.done.wait(timeout):           # taken and being applied: give it one more timeout
                raise CommandTimeout(f"simulation '{self.name}': {what} is still being applied after "
                                     f"{2 * timeout} s ({self._report()})")
        if a.error is not None:
            raise a.error
        return a.result

    # ------------------------------------------------------------------ the user's API
    @property
    def steps(self) -> int:
        """Steps completed (the loop's counter in the mailbox)."""
        return int(self.ctrl[_STEPS])

    @property
    def state(self) -> KernelState:
        return KernelState(int(self.ctrl[_STATE]))

    @property
    def paused(self) -> bool:
        return self.state == KernelState.DRAINING

    def run(self, n: int, wait: bool = False, timeout: float | None = None) -> "Simulation":
        """Let the loop run `n` more steps (asynchronous unless wait=True)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise LaunchError(f"run(n) takes a number of steps >= 0, got {n!r}")
        self._check_usable("run")
        with self._lock:                          # several host threads may ask for steps at once
            self.ctrl[_TARGET] = int(self.ctrl[_TARGET]) + int(n)
        if wait:
            self.wait(timeout)
        return self

    def wait(self, timeout: float | None = None, stall: float = 30.0) -> int:
        """Until every step asked for is done; returns the step count. `timeout`: give up after that
        many seconds; `stall`: report a step counter that has not moved for that long (watchdog)."""
        self._check_usable("wait")
        target = int(self.ctrl[_TARGET])
        if self.paused and self.steps < target:
            raise LifecycleError(f"simulation '{self.name}' is paused at step {self.steps} of {target}: resume() "
                                 "before wait()")
        deadline = None if timeout is None else time.monotonic() + timeout
        last, moved = self.steps, time.monotonic()
        backoff = _Backoff()
        while self.steps < target:
            if self._finished.is_set():
                self._check_usable("wait")
            now = time.monotonic()
            if self.steps != last:
                last, moved = self.steps, now
            elif now - moved > stall:
                raise CommandTimeout(f"simulation '{self.name}' stalled: its step counter has not moved for "
                                     f"{stall} s ({self._report()})")
            if deadline is not None and now > deadline:
                raise CommandTimeout(f"simulation '{self.name}' did not reach step {target} within {timeout} s "
                                     f"({self._report()})")
            backoff()
        self._check_usable("wait")
        return self.steps

    def _field(self, name: str) -> int:
        for p, (where, i) in zip(self.params, self.slots):
            if p.name == name:
                if where != "array":
                    raise LaunchError(f"'{name}' is a scalar parameter of '{self.name}'; read and set change "
                                      "scalars with set(...)")
                return i
        names = [p.name for p, (w, _) in zip(self.params, self.slots) if w == "array"]
        raise LaunchError(f"'{self.name}' has no array parameter '{name}'; its arrays are {', '.join(names)}")

    def snapshot(self, *names: str, timeout: float = COMMAND_TIMEOUT) -> tuple:
        """(step, {name: copy}) taken between two steps: every field from the same step."""
        slots = {n: self._field(n) for n in names}

        def take(steps):
            return steps, {n: self._host_copy(self.kernel.buffer_for(i, steps)) for n, i in slots.items()}

        if self._finished.is_set() and self._failure is None:
            return take(self.steps)
        return self._act(None, take, f"read({', '.join(map(repr, names))})", timeout)

    def read(self, name: str, timeout: float = COMMAND_TIMEOUT) -> np.ndarray:
        """A copy of field `name` between two steps (never half a step)."""
        return self.snapshot(name, timeout=timeout)[1][name]

    def inject(self, name: str, index, value, step: int | None = None, timeout: float = COMMAND_TIMEOUT) -> int:
        """field[index] = value between two steps: now (at the next boundary; waits) or after exactly
        `step` steps (returns at once). Returns the step count at which it applies."""
        slot = self._field(name)
        shape, dtype = tuple(self.originals_shape[slot]), self.buffer_dtypes[slot]
        value = np.asarray(value, dtype=dtype)
        probe = np.empty(shape, dtype=np.bool_)
        try:
            probe[index] = True
            np.broadcast_to(value, probe[index].shape)
        except (IndexError, ValueError, TypeError) as exc:
            raise LaunchError(f"inject('{name}', {index!r}, ...): {exc} (field shape {shape})") from None

        def apply(steps):
            self._inject(self.kernel.buffer_for(slot, steps), index, value)
            return steps

        return self._act(step, apply, f"inject('{name}')", timeout)

    def set(self, step: int | None = None, timeout: float = COMMAND_TIMEOUT, **scalars) -> int:
        """Change scalar parameters between two steps (now, or after exactly `step` steps)."""
        todo = []
        by_name = {p.name: (p, slot) for p, slot in zip(self.params, self.slots)}
        for name, value in scalars.items():
            if name not in by_name or by_name[name][1][0] == "array":
                names = [p.name for p, (w, _) in zip(self.params, self.slots) if w != "array"]
                raise LaunchError(f"set({name}=...): '{self.name}' has no scalar parameter '{name}'; its scalars "
                                  f"are {', '.join(names) or 'none'}")
            p, slot = by_name[name]
            todo.append((p, slot, _scalar(p, value)))

        def apply(steps):
            for p, slot, v in todo:
                self._store_scalar(p, slot, v)
            return steps

        return self._act(step, apply, f"set({', '.join(scalars)})", timeout)

    def _store_scalar(self, p, slot, value) -> None:
        where, i = slot
        if where == "float":
            self.fs[i] = float(value)
        else:
            self.is_[i] = np.asarray(value).astype(np.int64)

    def pause(self, timeout: float = COMMAND_TIMEOUT) -> None:
        """Stop at the next step boundary (acknowledged there)."""
        self._post(CMD_DEACTIVATE, "pause", timeout)

    def resume(self, timeout: float = COMMAND_TIMEOUT) -> None:
        self._post(CMD_ACTIVATE, "resume", timeout)

    def terminate(self, timeout: float = COMMAND_TIMEOUT) -> None:
        """Stop the loop at the next step boundary and write the fields back into the caller's arrays."""
        if not self._finished.is_set():
            self._post(CMD_TERMINATE, "terminate", timeout)
            self._thread.join(timeout)
        if self._failure is not None:
            self._check_usable("terminate")
        self._write_back()

    def _write_back(self) -> None:
        if self._written_back:
            return
        self._written_back = True
        steps = self.steps
        for a, (where, i) in zip(self.originals, self.slots):
            if where == "array":
                a[...] = self._host_copy(self.kernel.buffer_for(i, steps))

    def __enter__(self) -> "Simulation":
        return self

    def __exit__(self, *exc) -> None:
        if not self._finished.is_set():
            self.terminate()

    def __repr__(self) -> str:
        return f"<simulation {self.name}: {self.state.name}, step {self.steps}>"


__all__ = ["COMMAND_TIMEOUT", "Simulation"]
