"""ringkernel runtime: binary layouts, queues, lifecycle and supervision, cpu/cuda backends."""
from .errors import (  # noqa: F401
    ActorFailedError, ActorTerminatedError, BackendUnavailableError, CommandTimeout, InvalidArgumentError,
    InvalidOptionsError, LifecycleError, MessageTypeError, QueueFullError, ReceiveTimeout, RingKernelError,
    RuntimeClosedError, UnknownPeerError,
)
from .lifecycle import KernelState  # noqa: F401
from .supervisor import OneForAll, OneForOne, RestForOne, Temporary  # noqa: F401
from .hlc import HLC, Timestamp  # noqa: F401
from .actor_abi import RingKernelSpec, ring_kernel  # noqa: F401
from .runtime import LaunchOptions, Runtime  # noqa: F401
from .handle import KernelHandle, KernelStats  # noqa: F401
from .deadletter import DeadLetter  # noqa: F401
