"""CUDA driver access: lazy initialisation, device facts, the primary context, memory, streams.

Nothing here touches the driver at import time. The first call that needs it runs cuInit once;
if that fails the reason is remembered and every later call raises BackendUnavailableError with
it, so `available()` is cheap after the first call and never raises.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ringkernel_codegen.backends import CUDA_EXTRA
from ringkernel_codegen.errors import BackendUnavailableError, KernelRuntimeError, RingKernelError


class CudaDriverError(RingKernelError):
    """A CUDA driver call failed (allocation, copy, module load...): the call and the error."""


@dataclass(frozen=True)
class DeviceInfo:
    """Facts about the device the backend runs on (ordinal 0 of the visible devices)."""

    ordinal: int
    name: str
    compute_capability: tuple[int, int]
    sm_count: int
    total_memory: int
    max_threads_per_block: int
    max_shared_memory_per_block: int
    max_shared_memory_per_block_optin: int
    warp_size: int
    l2_cache_size: int
    cooperative_launch: bool
    cluster_launch: bool
    can_map_host_memory: bool
    unified_addressing: bool
    driver_version: int  # e.g. 13000 for CUDA 13.0

    @property
    def arch(self) -> str:
        major, minor = self.compute_capability
        return f"sm_{major}{minor}"


class _State:
    ready = False
    cause: str | None = None  # why the backend cannot run here, once known
    device = None
    context = None
    info: DeviceInfo | None = None


_state = _State()
_lock = threading.RLock()
_thread = threading.local()


def _driver():
    try:
        from cuda.bindings import driver
    except ImportError as exc:
        raise BackendUnavailableError(
            f"cuda-python is not installed (import cuda.bindings.driver failed: {exc}); "
            f"{CUDA_EXTRA}"
        ) from exc
    return driver


def error_text(err) -> str:
    """'CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected' for a CUresult."""
    driver = _driver()
    try:
        name = driver.CUresult(err).name
    except Exception:
        name = "CUDA_ERROR"
    text = ""
    try:
        status, desc = driver.cuGetErrorString(err)
        if status == driver.CUresult.CUDA_SUCCESS and desc:
            text = ": " + desc.decode(errors="replace")
    except Exception:  # the driver library itself may be what is missing
        pass
    return f"{name} ({int(err)}){text}"


def check(result, what: str, error: type[Exception] = CudaDriverError):
    """Unpack a cuda-python result tuple; raise `error` naming the call when it failed."""
    driver = _driver()
    err, *values = result
    if err != driver.CUresult.CUDA_SUCCESS:
        raise error(f"{what} failed: {error_text(err)}")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def _attribute(driver, device, name: str) -> int:
    attr = getattr(driver.CUdevice_attribute, f"CU_DEVICE_ATTRIBUTE_{name}")
    return int(check(driver.cuDeviceGetAttribute(attr, device), f"cuDeviceGetAttribute({name})"))


def _read_info(driver, device, ordinal: int) -> DeviceInfo:
    name = check(driver.cuDeviceGetName(256, device), "cuDeviceGetName")
    a = lambda n: _attribute(driver, device, n)  # noqa: E731
    return DeviceInfo(
        ordinal=ordinal,
        name=name.split(b"\0", 1)[0].decode(errors="replace"),
        compute_capability=(a("COMPUTE_CAPABILITY_MAJOR"), a("COMPUTE_CAPABILITY_MINOR")),
        sm_count=a("MULTIPROCESSOR_COUNT"),
        total_memory=int(check(driver.cuDeviceTotalMem(device), "cuDeviceTotalMem")),
        max_threads_per_block=a("MAX_THREADS_PER_BLOCK"),
        max_shared_memory_per_block=a("MAX_SHARED_MEMORY_PER_BLOCK"),
        max_shared_memory_per_block_optin=a("MAX_SHARED_MEMORY_PER_BLOCK_OPTIN"),
        warp_size=a("WARP_SIZE"),
        l2_cache_size=a("L2_CACHE_SIZE"),
        cooperative_launch=bool(a("COOPERATIVE_LAUNCH")),
        cluster_launch=bool(a("CLUSTER_LAUNCH")),
        can_map_host_memory=bool(a("CAN_MAP_HOST_MEMORY")),
        unified_addressing=bool(a("UNIFIED_ADDRESSING")),
        driver_version=int(check(driver.cuDriverGetVersion(), "cuDriverGetVersion")),
    )


def _init_once(ordinal: int = 0) -> None:
    """cuInit, pick the device, retain its primary context; on failure remember why."""
    with _lock:
        if _state.ready or _state.cause is not None:
            return
        try:
            driver = _driver()
        except BackendUnavailableError as exc:
            _state.cause = str(exc)
            return
        try:
            (err,) = driver.cuInit(0)
        except Exception as exc:  # cuda.pathfinder could not load libcuda.so
            _state.cause = (f"no CUDA driver: cuInit could not load the driver library "
                            f"({type(exc).__name__}: {exc})")
            return
        try:
            if err != driver.CUresult.CUDA_SUCCESS:
                _state.cause = f"cuInit(0) failed with {error_text(err)}"
                return
            count = check(driver.cuDeviceGetCount(), "cuDeviceGetCount")
            if count == 0:
                _state.cause = ("no CUDA device: the driver loaded but sees 0 devices "
                                "(check CUDA_VISIBLE_DEVICES)")
                return
            device = check(driver.cuDeviceGet(ordinal), "cuDeviceGet")
            # The primary context is the one numba, CuPy and the runtime API share.
            context = check(driver.cuDevicePrimaryCtxRetain(device), "cuDevicePrimaryCtxRetain")
            check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
            _state.info = _read_info(driver, device, ordinal)
            _state.device, _state.context, _state.ready = device, context, True
        except Exception as exc:
            _state.cause = f"CUDA initialisation failed: {exc}"


def available() -> bool:
    """True when a CUDA device can be used here. Never raises."""
    try:
        _init_once()
        return _state.ready
    except Exception:
        return False


def unavailable_reason() -> str | None:
    """Why the CUDA backend cannot run here, or None when it can."""
    available()
    return _state.cause


def require_device() -> DeviceInfo:
    """The device's facts, with the primary context current in this thread; else raises."""
    _init_once()
    if not _state.ready:
        raise BackendUnavailableError(f"the CUDA backend cannot run here: {_state.cause}")
    if getattr(_thread, "context", None) is not _state.context:
        check(_driver().cuCtxSetCurrent(_state.context), "cuCtxSetCurrent")
        _thread.context = _state.context
    return _state.info


def device_info() -> DeviceInfo:
    return require_device()


def default_arch() -> str:
    """The device's sm_XY, or sm_90 (the H100 we target) when there is no device."""
    return _state.info.arch if available() else "sm_90"


def synchronize(stream: "Stream | None" = None) -> None:
    """Wait for the device (or one stream); a fault in a kernel surfaces here."""
    require_device()
    driver = _driver()
    if stream is None:
        check(driver.cuCtxSynchronize(), "cuCtxSynchronize", KernelRuntimeError)
    else:
        check(driver.cuStreamSynchronize(stream.handle), "cuStreamSynchronize", KernelRuntimeError)


def wait_stream(handle) -> None:
    """Wait for one stream (0 = the legacy default stream, which leaves non-blocking streams,
    and a persistent kernel running on one, alone)."""
    check(_driver().cuStreamSynchronize(handle), "cuStreamSynchronize", KernelRuntimeError)


class Stream:
    """A non-blocking stream: work on it does not wait for the legacy default stream."""

    def __init__(self) -> None:
        require_device()
        driver = _driver()
        flags = int(driver.CUstream_flags.CU_STREAM_NON_BLOCKING)
        self.handle = check(driver.cuStreamCreate(flags), "cuStreamCreate")

    def synchronize(self) -> None:
        synchronize(self)

    def done(self) -> bool:
        """True when everything queued on the stream has finished (raises if it faulted)."""
        require_device()                 # any thread may ask (the watchdog, a user's terminate)
        driver = _driver()
        (err,) = driver.cuStreamQuery(self.handle)
        if err == driver.CUresult.CUDA_ERROR_NOT_READY:
            return False
        check((err,), "cuStreamQuery", KernelRuntimeError)
        return True

    def close(self) -> None:
        if getattr(self, "handle", None) is not None:
            _quiet(lambda: _driver().cuStreamDestroy(self.handle))
            self.handle = None

    __del__ = close


# Resident actor kernels never finish, and freeing memory may wait for the device to go idle: while
# any is resident, frees are queued and done when the last one has stopped (cuda_actor counts them).
# Others that free on their own (numba's deferred deallocations, numba_actor.py) register hooks run
# when the first launch starts (0 -> 1) and when the last one stops (1 -> 0).
_resident_lock = threading.RLock()      # reentrant: a finaliser run by GC inside it may _release()
_resident_transition = threading.RLock()  # orders the transitions and their hooks
_resident_count = 0
_deferred_frees: list = []
_resident_hooks: list = []              # (on_first_started, on_last_stopped) pairs


def add_resident_hooks(on_first_started, on_last_stopped) -> None:
    """Call `on_first_started()` when a resident launch starts while none runs, and
    `on_last_stopped()` when the last one has stopped (after the queued frees are done). Hooks run
    one transition at a time, in the thread that started or stopped the launch; whatever they
    raise is ignored. If launches are resident now, `on_first_started` is called at once. Adding
    the same pair again does nothing."""
    with _resident_transition:
        if (on_first_started, on_last_stopped) in _resident_hooks:
            return
        _resident_hooks.append((on_first_started, on_last_stopped))
        with _resident_lock:
            resident = _resident_count > 0
        if resident:
            _quiet(on_first_started)


def remove_resident_hooks(on_first_started, on_last_stopped) -> None:
    with _resident_transition:
        if (on_first_started, on_last_stopped) in _resident_hooks:
            _resident_hooks.remove((on_first_started, on_last_stopped))


def resident_count() -> int:
    """How many resident launches are counted now."""
    with _resident_lock:
        return _resident_count


def resident_started() -> None:
    global _resident_count
    with _resident_transition:
        with _resident_lock:
            _resident_count += 1
            first = _resident_count == 1
        if first:
            for on_first_started, _ in list(_resident_hooks):
                _quiet(on_first_started)


def resident_stopped() -> None:
    global _resident_count
    with _resident_transition:
        with _resident_lock:
            last = _resident_count == 1
            _resident_count = max(_resident_count - 1, 0)
            pending = _deferred_frees[:] if _resident_count == 0 else []
            if pending:
                _deferred_frees.clear()
        for release in pending:
            _quiet(release)
        if last:
            for _, on_last_stopped in list(_resident_hooks):
                _quiet(on_last_stopped)


def deferred_frees() -> int:
    """How many frees wait for the resident actors to stop."""
    with _resident_lock:
        return len(_deferred_frees)


def _release(release) -> None:
    with _resident_lock:
        if _resident_count > 0:
            _deferred_frees.append(release)
            return
    _quiet(release)


def _quiet(release) -> None:
    """Run a release call from a finaliser, where raising helps no one (e.g. at exit)."""
    try:
        release()
    except Exception:
        pass


def _host_pointer(array: np.ndarray) -> int:
    return int(array.__array_interface__["data"][0])


class DeviceArray:
    """A C-ordered array in device memory; exposes __cuda_array_interface__ for launches."""

    def __init__(self, shape, dtype=np.float32) -> None:
        require_device()
        self.shape = tuple(int(s) for s in np.atleast_1d(np.asarray(shape, dtype=np.int64)))
        self.dtype = np.dtype(dtype)
        self.nbytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        # cuMemAlloc refuses 0 bytes; an empty array still needs a valid pointer to pass.
        self.ptr = int(check(_driver().cuMemAlloc(max(self.nbytes, 1)), "cuMemAlloc"))

    @classmethod
    def from_host(cls, array: np.ndarray) -> "DeviceArray":
        array = np.ascontiguousarray(array)
        result = cls(array.shape, array.dtype)
        result.copy_from_host(array)
        return result

    def _check_host(self, array: np.ndarray) -> np.ndarray:
        if array.nbytes != self.nbytes or not array.flags.c_contiguous:
            raise ValueError(f"host array must be C-contiguous with {self.nbytes} bytes "
                             f"(got {array.nbytes} bytes, shape {array.shape})")
        return array

    def copy_from_host(self, array: np.ndarray) -> None:
        array = self._check_host(np.ascontiguousarray(array, dtype=self.dtype))
        require_device()                 # the context must be current in the calling thread
        if self.nbytes:
            check(_driver().cuMemcpyHtoD(self.ptr, _host_pointer(array), self.nbytes),
                  "cuMemcpyHtoD")

    def copy_to_host(self, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            out = np.empty(self.shape, self.dtype)
        self._check_host(out)
        require_device()
        if self.nbytes:
            check(_driver().cuMemcpyDtoH(_host_pointer(out), self.ptr, self.nbytes),
                  "cuMemcpyDtoH", KernelRuntimeError)
        return out

    @property
    def __cuda_array_interface__(self) -> dict:
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (self.ptr, False),
                "strides": None, "version": 3}

    def free(self) -> None:
        if getattr(self, "ptr", None):
            ptr = self.ptr
            _release(lambda: _driver().cuMemFree(ptr))
            self.ptr = 0

    __del__ = free

    def __enter__(self) -> "DeviceArray":
        return self

    def __exit__(self, *exc) -> None:
        self.free()


class MappedBuffer:
    """Pinned host memory mapped into the device's address space (cuMemHostAlloc DEVICEMAP).

    The host reads and writes it through numpy views (`array`); kernels through `device_ptr`.
    Views keep the buffer alive, so the memory is freed when the last view is gone; `free()`
    releases it at once and leaves every view dangling.
    """

    def __init__(self, nbytes: int) -> None:
        info = require_device()
        if not info.can_map_host_memory:
            raise BackendUnavailableError(f"{info.name} cannot map host memory")
        driver = _driver()
        self.nbytes = int(nbytes)
        flags = driver.CU_MEMHOSTALLOC_DEVICEMAP | driver.CU_MEMHOSTALLOC_PORTABLE
        self.host_ptr = int(check(driver.cuMemHostAlloc(max(self.nbytes, 1), flags),
                                  "cuMemHostAlloc"))
        self.device_ptr = int(check(driver.cuMemHostGetDevicePointer(self.host_ptr, 0),
                                    "cuMemHostGetDevicePointer"))

    def array(self, shape, dtype=np.uint8, offset: int = 0) -> np.ndarray:
        """A numpy view of part of the buffer (C order), starting `offset` bytes in."""
        view = _HostView(self, offset, shape, np.dtype(dtype))
        return np.asarray(view)

    def free(self) -> None:
        if getattr(self, "host_ptr", None):
            ptr = self.host_ptr
            _release(lambda: _driver().cuMemFreeHost(ptr))
            self.host_ptr = 0

    __del__ = free


class _HostView:
    """Carries __array_interface__ for a slice of a MappedBuffer and keeps the buffer alive."""

    def __init__(self, owner: MappedBuffer, offset: int, shape, dtype: np.dtype) -> None:
        shape = tuple(int(s) for s in np.atleast_1d(np.asarray(shape, dtype=np.int64)))
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if offset < 0 or offset + nbytes > owner.nbytes or offset % dtype.alignment:
            raise ValueError(f"view of {nbytes} bytes at offset {offset} does not fit a "
                             f"{owner.nbytes}-byte mapped buffer (or is misaligned)")
        self.owner = owner
        self.__array_interface__ = {"shape": shape, "typestr": dtype.str, "version": 3,
                                    "data": (owner.host_ptr + offset, False),
                                    "descr": dtype.descr}


def mapped_array(shape, dtype=np.float32) -> np.ndarray:
    """A zeroed numpy array in mapped pinned memory; kernels get it by pointer, without copies."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    array = MappedBuffer(nbytes).array(shape, dtype)
    array.fill(0)
    return array


def mapped_device_pointer(array: np.ndarray) -> int | None:
    """The device address of a numpy array that lives in a MappedBuffer, else None."""
    base = array
    while base is not None and not isinstance(base, _HostView):
        base = getattr(base, "base", None)
    if base is None:
        return None
    owner = base.owner
    offset = _host_pointer(array) - owner.host_ptr
    if not 0 <= offset <= owner.nbytes:
        return None
    return owner.device_ptr + offset
