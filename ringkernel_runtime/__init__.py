"""ringkernel runtime: binary layouts, queues, lifecycle and supervision, cpu/cuda backends.

The names below are imported on first use (PEP 562): a process that only launches kernels on the
cpu backend (ringkernel_runtime.backends.cpu_backend) does not load the actor runtime (Runtime,
handles, supervision, asyncio).
"""
import importlib

_LAZY = {
    **dict.fromkeys(("ActorFailedError", "ActorTerminatedError", "BackendUnavailableError", "CommandTimeout",
                     "InvalidArgumentError", "InvalidOptionsError", "LifecycleError", "MessageTypeError",
                     "QueueFullError", "ReceiveTimeout", "RingKernelError", "RuntimeClosedError",
                     "UnknownPeerError"), "errors"),
    "KernelState": "lifecycle",
    **dict.fromkeys(("OneForAll", "OneForOne", "RestForOne", "Temporary"), "supervisor"),
    "HLC": "hlc", "Timestamp": "hlc",
    "RingKernelSpec": "actor_abi", "ring_kernel": "actor_abi",
    "LaunchOptions": "runtime", "Runtime": "runtime",
    "KernelHandle": "handle", "KernelStats": "handle",
    "DeadLetter": "deadletter",
}
__all__ = sorted(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_LAZY])
