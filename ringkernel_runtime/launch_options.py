"""LaunchOptions: how one actor is launched (queue size, peers, overflow, timeouts), and their validation."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidOptionsError, check_int, check_timeout

_OVERFLOW = ("block", "dead_letter", "error")
MAX_QUEUE_CAPACITY = 1 << 26          # messages per lane
MAX_BATCH = 1 << 20


@dataclass
class LaunchOptions:
    queue_capacity: int = 1024            # per lane, power of two
    peers: dict = field(default_factory=dict)   # peer name -> KernelHandle
    state: object = None                  # initial state: state_type instance, dict or None (zeros)
    overflow: str = "block"               # "block" (up to send_timeout) | "dead_letter" | "error"
    send_timeout: float = 5.0
    activate: bool = True                 # False: launch DRAINING (deactivated)
    spin_us: float = 200.0                # idle spinning before backing off to short sleeps
    # ctx.send blocks this long on a full peer inbox, then gives up: the message is dead-lettered
    # ("peer_full:<peer>") and the sender FAILS like ctx.fail (restarted if supervised; an
    # unsupervised rt.launch actor stays FAILED). A consumer paused longer than this fails its
    # producers, and a failed producer no longer drains its own inbox, so the failure walks up an
    # unsupervised chain. Supervise the actors, or raise peer_timeout above the longest pause (on the
    # cpu backend a send blocked longer than stall_timeout is taken for a stall: raise both).
    peer_timeout: float = 1.0
    batch: int = 256                      # messages handled per lane per poll (>= 1)
    stall_timeout: float | None = 2.0     # watchdog: fail an actor silent this long (None: off)

    def __post_init__(self):
        self.validate()

    def validate(self) -> "LaunchOptions":
        """Check every field (also done at launch: the fields may be changed after construction);
        raises InvalidOptionsError (a LaunchError and a ValueError) naming the field."""
        E = InvalidOptionsError
        cap = check_int(self.queue_capacity, "LaunchOptions(queue_capacity)", error=E)
        if cap < 2 or cap & (cap - 1) or cap > MAX_QUEUE_CAPACITY:
            raise E(f"LaunchOptions(queue_capacity={cap}) must be a power of two >= 2 and <= "
                    f"{MAX_QUEUE_CAPACITY} (e.g. 1024)")
        if not isinstance(self.peers, Mapping):
            raise E(f"LaunchOptions(peers={self.peers!r}) must be a dict of peer name -> handle")
        for pname in self.peers:
            if not isinstance(pname, str):
                raise E(f"LaunchOptions(peers=...): peer name {pname!r} must be a str")
        if not isinstance(self.overflow, str) or self.overflow not in _OVERFLOW:
            raise E(f"overflow={self.overflow!r}; use one of {', '.join(_OVERFLOW)}")
        check_timeout(self.send_timeout, "LaunchOptions(send_timeout)", allow_none=False, error=E)
        if not isinstance(self.activate, (bool, np.bool_)):
            raise E(f"LaunchOptions(activate={self.activate!r}) must be True or False")
        spin = check_timeout(self.spin_us, "LaunchOptions(spin_us)", allow_none=False, error=E)
        if spin > 1e7:
            raise E(f"LaunchOptions(spin_us={self.spin_us!r}) must be <= 1e7 (10 s of spinning)")
        pt = check_timeout(self.peer_timeout, "LaunchOptions(peer_timeout)", allow_none=False, error=E)
        if pt > 1e8:
            raise E(f"LaunchOptions(peer_timeout={self.peer_timeout!r}) must be <= 1e8 seconds")
        check_int(self.batch, "LaunchOptions(batch)", lo=1, hi=MAX_BATCH, error=E)
        st = check_timeout(self.stall_timeout, "LaunchOptions(stall_timeout)", error=E)
        if st == 0:
            raise E("LaunchOptions(stall_timeout=0) must be > 0 seconds (None: no watchdog)")
        return self
