"""Run the CUDA C++ actor loop on the CPU, through the real host runtime (tests only).

A ring kernel's `cuda_source(threads=...)` is compiled by g++ with cuda_host_emu.h force-included
and RK_HOST_EMULATION defined (the PTX helpers' C++-atomics branches), into a shared library whose
`rk_emu_run(descs, block, nblocks, threads)` runs one block on std::threads. `EmuActor` is a
CudaActor whose memory is plain host memory (a device pointer is the host address; "device"
memory is a separate host buffer reached only through copies, like DeviceQueue on a GPU) and whose
kernel function launches each block on its own loaded copy of the library (private statics =
private shared memory) from a Python thread. Everything else -- descriptors, mapped queues,
commands, parking, restarts, pools, dead letters, the watchdog -- is the code a GPU run uses.

    with emulated_runtime() as rt: ...   # Runtime whose actors are EmuActors

What it cannot check: the GPU memory model (x86 is stronger), warp collectives, timing.
"""
from __future__ import annotations

import contextlib
import ctypes
import itertools
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading

import numpy as np

from ringkernel_runtime import Runtime
from ringkernel_runtime.backends import cuda_actor

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.join(HERE, "cuda_host_emu.h")
THREADS = 8
_build_lock = threading.Lock()
_CACHE = os.path.join(tempfile.gettempdir(), f"ringkernel-host-emu-{os.getuid()}")


def compiler() -> str | None:
    return shutil.which("g++")


def build(source: str, kernel_name: str) -> str:
    """Path of the shared library for `source` (cached by content)."""
    entry = f"\nRK_EMU_ENTRY(rk_actor_{kernel_name})\n"
    text = source + entry
    shim = open(SHIM, "rb").read()
    key = hashlib.sha256(text.encode() + shim).hexdigest()[:20]
    os.makedirs(_CACHE, exist_ok=True)
    lib = os.path.join(_CACHE, f"{kernel_name}-{key}.so")
    with _build_lock:
        if not os.path.exists(lib):
            cu = os.path.join(_CACHE, f"{kernel_name}-{key}.cpp")
            with open(cu, "w") as fh:
                fh.write(text)
            tmp = lib + f".{os.getpid()}.tmp"
            cmd = [compiler(), "-std=c++20", "-O1", "-g0", "-fPIC", "-shared", "-fno-gnu-unique",
                   "-fvisibility=hidden", "-DRK_HOST_EMULATION", "-include", SHIM, "-x", "c++", cu,
                   "-o", tmp, "-lpthread"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"g++ failed for {kernel_name}:\n{r.stderr[-4000:]}")
            os.replace(tmp, lib)
    return lib


class EmuStream:
    """The block threads of one launch; done() once all returned (raises if one failed)."""

    def __init__(self):
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def done(self) -> bool:
        if any(t.is_alive() for t in self.threads):
            return False
        if self.errors:
            from ringkernel_codegen.errors import KernelRuntimeError
            raise KernelRuntimeError(f"emulated block failed: {self.errors[0]!r}")
        return True


_COPY_IDS = itertools.count()


class EmuFunction:
    """`function.launch(grid, block, args, stream)` as cuda_launch.Kernel has it, on host threads."""

    def __init__(self, lib_path: str):
        self.lib_path = lib_path
        self.copies: list[str] = []

    def launch(self, grid, block, args, stream=None, cooperative=False):
        (kind, descs), = args
        assert kind == "ptr"
        nblocks = int(np.prod(grid)) if not isinstance(grid, int) else grid
        threads = int(np.prod(block)) if not isinstance(block, int) else block
        for b in range(nblocks):
            # a process-wide counter, not id(self): ids of freed functions are reused while their
            # copies may still be loaded, and overwriting a loaded library crashes the process
            copy = f"{self.lib_path}.{os.getpid()}.{next(_COPY_IDS)}.so"
            shutil.copyfile(self.lib_path, copy)           # own statics: own shared memory
            self.copies.append(copy)
            lib = ctypes.CDLL(copy, mode=os.RTLD_LOCAL | os.RTLD_NOW)
            run = lib.rk_emu_run
            run.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint]

            def body(run=run, b=b):
                try:
                    run(descs, b, nblocks, threads)
                except BaseException as exc:  # noqa: BLE001 - reported by EmuStream.done
                    stream.errors.append(exc)

            t = threading.Thread(target=body, name=f"emu-block-{b}", daemon=True)
            stream.threads.append(t)
            t.start()


class HostMemory(cuda_actor.Memory):
    """Host memory standing in for mapped memory (same address both sides) and device memory
    (a separate buffer, reached through copies)."""

    def __init__(self):
        self.keep = []

    def host_array(self, shape, dtype):
        a = np.zeros(shape, dtype)
        self.keep.append(a)
        return a

    def device_pointer(self, array):
        return array.ctypes.data

    def device_copy(self, host):
        a = host.copy()
        self.keep.append(a)
        return a, a.ctypes.data

    def copy_to_host(self, owner, host):
        host[...] = owner

    def write_word(self, owner, index, value):
        owner.view(np.uint64)[index] = value


class EmuActor(cuda_actor.CudaActor):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, memory=HostMemory(), **kwargs)

    def compile(self) -> None:
        self.source = self.kernel.cuda_source(threads=THREADS)
        self.threads = cuda_actor.block_threads(self.source)
        self.function = EmuFunction(build(self.source, self.kernel.name))

    def _new_stream(self):
        return EmuStream()


class _EmuBackend:
    """What Runtime expects of a GPU backend module."""

    @staticmethod
    def make_actor(*args):
        return EmuActor(*args)

    @staticmethod
    def make_pool(actors):
        return cuda_actor.CudaPool(actors)


@contextlib.contextmanager
def emulated_runtime(**kwargs):
    rt = Runtime(backend="cpu", **kwargs)
    rt._actors, rt.backend = _EmuBackend, "cuda-emu"
    with rt:
        yield rt
