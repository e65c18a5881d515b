"""Actors across processes and nodes on Ray: `RayRuntime` (ray_runtime.py) with the Runtime's methods.

Ray is an optional extra (`pip install "ringkernel[ray]"`): nothing here imports it until a
RayRuntime is made, so `import ringkernel_runtime` (and this package) works without it.

    hosting process (Ray actor)        host.py     NodeHost: one local Runtime of the chosen backend
    cross-process K2K                  bridge.py   Outbox (a wired peer's local stand-in) + batching thread
    exactly-once accounting            ledger.py   every accepted message, until a reply or a dead letter
    the user's API                     ray_runtime.py, remote_handle.py
"""
from __future__ import annotations

from ..errors import BackendUnavailableError

RAY_INSTALL_HINT = 'pip install "ringkernel[ray]"'


def require_ray():
    """The `ray` module, or a BackendUnavailableError saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise BackendUnavailableError(
            f"RayRuntime needs Ray, which is not installed here ({exc}); install it with "
            f"`{RAY_INSTALL_HINT}` (or use Runtime(...) on one machine)") from None
    return ray


def __getattr__(name):
    if name in ("RayRuntime", "RemoteHandle"):
        from . import ray_runtime, remote_handle
        return getattr(ray_runtime if name == "RayRuntime" else remote_handle, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
