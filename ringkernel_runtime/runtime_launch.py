"""Runtime's launching: launch, spawn, launch_pool, and building, wiring, admitting and registering actors."""
from __future__ import annotations

import numpy as np

from . import actor_abi as abi
from ringkernel_codegen.errors import RingKernelError
from .errors import (CompileError, InvalidOptionsError, LaunchError, MessageTypeError, RuntimeClosedError,
                     UnknownPeerError, check_name)
from .handle import KernelHandle
from .launch_options import LaunchOptions
from .layout import CB
from .supervisor import RestartPolicy, Temporary


class RuntimeLaunching:
    """Runtime's launching methods (the state they use is set up in Runtime.__init__)."""

    # -- launching -----------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closing:
            raise RuntimeClosedError("this Runtime is closed (its `with` block ended or close() was called); "
                                     "it launches no more actors. Make a new Runtime.")

    @staticmethod
    def _options(options) -> "LaunchOptions":
        if options is None:
            return LaunchOptions()
        if not isinstance(options, LaunchOptions):
            raise InvalidOptionsError(f"options={options!r} must be a LaunchOptions")
        return options.validate()

    def launch(self, kernel, options: LaunchOptions | None = None, name: str | None = None) -> KernelHandle:
        """Start an unsupervised actor (a failure leaves it FAILED); it is its own supervision group."""
        self._check_open()
        name = check_name(name, allow_none=True, error=InvalidOptionsError)
        return self._start(kernel, self._options(options), name, None, Temporary(), supervised=False)

    def spawn(self, kernel, name: str, restart: RestartPolicy | None = None, parent: KernelHandle | None = None,
              options: LaunchOptions | None = None) -> KernelHandle:
        """Start a supervised actor registered as `name` (restart defaults to OneForOne()), in the
        supervision group of `parent` (None: the root group of spawned actors)."""
        from .supervisor import OneForOne
        self._check_open()
        name = check_name(name, error=InvalidOptionsError)
        self._check_parent(parent)
        if restart is not None and not isinstance(restart, RestartPolicy):
            raise InvalidOptionsError(f"restart={restart!r} must be a restart policy such as OneForOne()")
        return self._start(kernel, self._options(options), name, parent, restart or OneForOne(), supervised=True)

    def _check_parent(self, parent) -> None:
        if parent is not None and not isinstance(parent, KernelHandle):
            raise LaunchError(f"parent must be a handle from rt.spawn/rt.launch, got {parent!r}")
        if parent is not None and parent.runtime is not self:
            raise LaunchError(f"parent {parent.name} belongs to another Runtime")

    def launch_pool(self, kernel, count: int, options: LaunchOptions | None = None, name: str | None = None,
                    restart: RestartPolicy | None = None, parent: KernelHandle | None = None) -> list[KernelHandle]:
        """Start `count` actors of one ring kernel as a pool; returns their handles.

        On the cuda backend the pool is ONE launch of `count` resident blocks (block i runs
        member i); each member keeps its own queues and control block, so it is sent to,
        supervised, failed, restarted (without a relaunch) and terminated on its own. On the cpu
        backend the members are `count` actor threads, and on the numba backend `count` separate
        launches: the same behaviour. Members are registered as "<name>/<i>"; `restart=None`
        leaves them unsupervised (like `launch`), a policy supervises each (like `spawn`).
        """
        self._check_open()
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise LaunchError(f"launch_pool needs count >= 1 actors, got {count!r}")
        self._check_parent(parent)
        name = check_name(name, allow_none=True, error=InvalidOptionsError)
        if restart is not None and not isinstance(restart, RestartPolicy):
            raise InvalidOptionsError(f"restart={restart!r} must be a restart policy such as OneForOne()")
        options = self._options(options)
        base = name or f"{getattr(kernel, 'name', 'pool')}-pool{next(self._pool_ids)}"
        policy = restart or Temporary()
        made = [self._make(kernel, options) for _ in range(count)]
        actors = [a for a, _ in made]
        make_pool = getattr(self._actors, "make_pool", None)
        if make_pool is not None:
            make_pool(actors)
        self._admit(actors)
        return [self._register(kernel, a, options, f"{base}/{i}", parent, policy, restart is not None, peers)
                for i, (a, peers) in enumerate(made)]

    def _start(self, kernel, options, name, parent, policy, supervised) -> KernelHandle:
        actor, peers = self._make(kernel, options)
        self._admit([actor])
        return self._register(kernel, actor, options, name or f"{kernel.name}#{actor.ctrl[CB['actor_id']]}",
                              parent, policy, supervised, peers)

    def _make(self, kernel, options):
        """A compiled actor with its peers wired, not yet running; and the peer handles."""
        abi.check_kernel(kernel)
        options.validate()
        cap = options.queue_capacity
        state = self._initial_state(kernel, options.state)
        lanes, peers = self._wire_peers(kernel, options.peers)
        actor_id = next(self._ids)
        args = (kernel, actor_id, int(cap), state, int(options.spin_us * 1e3), int(options.peer_timeout * 1e9),
                int(options.batch), self.node_id)
        try:
            actor = self._actors.make_actor(*args)
        except MemoryError:
            need = int(cap) * (kernel.input_type.dtype.itemsize + 32) * 2
            raise InvalidOptionsError(f"LaunchOptions(queue_capacity={cap}): not enough memory for the "
                                      f"actor's queues (about {need / 2**20:.0f} MiB of input lanes alone); "
                                      "use a smaller queue_capacity") from None
        actor.peers = lanes
        self._compile(kernel, actor)
        return actor, peers

    def _admit(self, actors: list) -> None:
        """GPU backends: refuse here, in the caller's thread, actors whose blocks could not all be
        resident beside the running ones (backends/cuda_resident.admit), before any is started."""
        admit = getattr(self._actors, "admit", None)
        if admit is not None:
            try:
                admit(actors)
            except BaseException:
                for actor in actors:
                    getattr(actor, "close", lambda: None)()
                raise

    def _register(self, kernel, actor, options, name, parent, policy, supervised=True, peers=()) -> KernelHandle:
        handle = KernelHandle(self, kernel, actor, options, name, parent, policy, supervised, peers)
        self.supervisor.add(handle)                  # (never under self._lock: callbacks may launch)
        try:
            with self._lock:
                if self._closing:                    # close() began after this launch did
                    getattr(actor, "close", lambda: None)()
                    self._check_open()
                self.registry.register(name, handle)
                self._handles.append(handle)
                for target in peers:
                    target._producers.add(handle)
                    if target._retired:              # stopped meanwhile: drain what we send it
                        self._orphans.add(target)
                handle._start()                      # under the lock: close() sees it running or not at all
        except BaseException:
            if handle._thread is None:
                self.supervisor.remove(handle)
            raise
        return handle

    @staticmethod
    def _initial_state(kernel, init) -> np.ndarray:
        st = kernel.state_type
        arr = np.zeros(1, dtype=st.dtype if st is not None else abi.NO_STATE_DTYPE)
        if init is None:
            return arr
        if st is None:
            raise LaunchError(f"LaunchOptions(state=...) given but {kernel.name} declares no state=")
        if isinstance(init, dict):
            for k, v in init.items():
                if k not in st.dtype.names:
                    raise LaunchError(f"state field {k!r} is not in {st.__name__} ({', '.join(st.dtype.names)})")
                try:
                    arr[k] = v
                except (TypeError, ValueError, OverflowError) as exc:
                    raise InvalidOptionsError(f"LaunchOptions(state={{{k!r}: {v!r}}}): {exc}") from None
        elif isinstance(init, st):
            arr[0] = init.record
        elif getattr(init, "dtype", None) == st.dtype:
            arr[0] = init
        else:
            raise MessageTypeError(f"LaunchOptions(state=...) must be a {st.__name__} or a dict of its fields")
        return arr

    def _wire_peers(self, kernel, peers: dict) -> tuple:
        declared = dict(kernel.peers)
        for pname in peers:
            if pname not in declared:
                raise UnknownPeerError(f"{kernel.name} declares no peer {pname!r}; declared peers: "
                                       f"{', '.join(sorted(declared)) or 'none'} (see @ring_kernel(peers=...))")
        lanes, handles = [], []
        for pname in sorted(declared):
            if pname not in peers:
                raise UnknownPeerError(f"{kernel.name} sends to peer {pname!r} but LaunchOptions(peers=...) "
                                       f"does not wire it; pass peers={{'{pname}': handle}}")
            target = peers[pname]
            # a bridge endpoint (cluster/bridge.Outbox) stands in for a peer hosted by another process
            if not isinstance(target, KernelHandle) and not getattr(target, "is_bridge_endpoint", False):
                raise LaunchError(f"peer {pname!r} must be a handle from rt.launch/rt.spawn, got {target!r}")
            if target.runtime is not self:
                raise LaunchError(f"peer {pname!r} ({target.name}) belongs to another Runtime")
            refusal = target._refusal()
            if refusal is not None:
                raise LaunchError(f"peer {pname!r}: {refusal}")
            if target.kernel.input_type is not declared[pname]:
                raise MessageTypeError(f"peer {pname!r} ({target.name}) takes {target.kernel.input_type.__name__}, "
                                       f"but {kernel.name} sends it {declared[pname].__name__}")
            inbox = target.actor.k2k_lane
            lanes.append((inbox.hdr, inbox.meta, inbox.payload, np.zeros(1, dtype=inbox.dtype)))
            handles.append(target)
        return tuple(lanes), tuple(handles)

    @staticmethod
    def _compile(kernel, actor) -> None:
        try:
            actor.compile()
        except RingKernelError:
            raise
        except Exception as exc:
            where = getattr(actor, "where", None) or type(actor).__module__.rsplit(".", 1)[-1]
            raise CompileError(f"ring kernel {kernel.name} failed to compile for the {where} backend "
                               f"(handler contract: ringkernel_runtime.actor_abi): {exc}") from exc
