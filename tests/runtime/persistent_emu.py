"""Run the CUDA C++ @persistent loop on the CPU through the real Simulation host code (tests only).

The kernel's `cuda_source()` (templates/persistent.cu.j2, sync="grid") is compiled by g++ with
cuda_host_emu.h and emu_include/ (a one-block cooperative_groups grid: its barrier is the block's)
under RK_HOST_EMULATION, with an entry that runs ONE block on std::threads. `EmuSimulation` is the
Simulation the cuda backend uses in all but memory and launch: the control block + mailbox and
scalars are host arrays (the same address on both sides, like mapped memory), the device buffers
are separate host arrays reached only through copies, and the host serves the loop's parks with
the same code (Simulation._wait_parked / _serve). It checks the device loop's protocol (commands,
parks, boundaries, swap roles, the step) against the host; not the GPU memory model, not timing.
"""
from __future__ import annotations

import ctypes
import hashlib
import math
import os
import shutil
import subprocess
import tempfile
import threading

import numpy as np

from ringkernel_codegen.abi.persistent import WORDS
from ringkernel_runtime.simulation import Simulation

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.join(HERE, "cuda_host_emu.h")
INCLUDE = os.path.join(HERE, "emu_include")
_CACHE = os.path.join(tempfile.gettempdir(), f"ringkernel-persistent-emu-{os.getuid()}")
SYNC_WORDS = 8


def compiler() -> str | None:
    return shutil.which("g++")


def _entry(kernel) -> str:
    """extern "C" rk_emu_persistent(void** a, tx, ty, tz): the kernel on tx*ty*tz threads, one block."""
    args = ["(rk_persistent_block*)a[0]", "(rk_persistent_sync*)a[1]", "(const double*)a[2]",
            "(const long long*)a[3]"]
    i = 4
    for p, (where, _) in zip(kernel.params, kernel.slots()):
        if where == "array":
            args.append(f"({p.type.dtype.c_name}*)a[{i}]")
            i += 1
            for _ in range(p.type.ndim):
                args.append(f"*(const long long*)a[{i}]")
                i += 1
    return f'''
extern "C" __attribute__((visibility("default"))) int rk_emu_persistent(void** a, unsigned tx, unsigned ty, unsigned tz) {{
  const unsigned threads = tx * ty * tz;
  std::barrier<> bar((std::ptrdiff_t)threads);
  rk_emu_barrier = &bar;
  blockDim = {{tx, ty, tz}};
  gridDim = {{1, 1, 1}};
  std::thread* ts = new std::thread[threads];
  for (unsigned t = 0; t < threads; ++t)
    ts[t] = std::thread([=] {{ threadIdx = {{t % tx, (t / tx) % ty, t / (tx * ty)}}; blockIdx = {{0, 0, 0}};
                              {kernel._f.name}_persistent({", ".join(args)}); }});
  for (unsigned t = 0; t < threads; ++t) ts[t].join();
  delete[] ts;
  return 0;
}}
'''


def build(kernel) -> str:
    text = kernel.cuda_source() + _entry(kernel)
    key = hashlib.sha256(text.encode() + open(SHIM, "rb").read()).hexdigest()[:20]
    os.makedirs(_CACHE, exist_ok=True)
    lib = os.path.join(_CACHE, f"{kernel.name}-{key}.so")
    if not os.path.exists(lib):
        src = lib[:-3] + ".cpp"
        with open(src, "w") as fh:
            fh.write(text)
        tmp = f"{lib}.{os.getpid()}.tmp"
        cmd = [compiler(), "-std=c++20", "-O1", "-g0", "-fPIC", "-shared", "-fvisibility=hidden",
               "-DRK_HOST_EMULATION", "-include", SHIM, "-I", INCLUDE, "-x", "c++", src, "-o", tmp, "-lpthread"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"g++ failed for {kernel.name}:\n{r.stderr[-4000:]}")
        os.replace(tmp, lib)
    return lib


class EmuSimulation(Simulation):
    def _prepare(self) -> None:
        k = self.kernel
        self._lib = ctypes.CDLL(build(k), mode=os.RTLD_LOCAL | os.RTLD_NOW)
        self._sync = np.zeros(SYNC_WORDS + len(self.fs) + len(self.is_) + 1, np.int64)
        self._device = [b.copy() for b in self.buffers]          # "device memory": reached by copies
        self._shapes = [np.array([n], np.int64) for d in self._device for n in d.shape]
        ptrs = [self.ctrl.ctypes.data, self._sync.ctypes.data, self.fs.ctypes.data, self.is_.ctypes.data]
        s = iter(self._shapes)
        for d in self._device:
            ptrs.append(d.ctypes.data)
            ptrs.extend(next(s).ctypes.data for _ in d.shape)
        self._argv = (ctypes.c_void_p * len(ptrs))(*ptrs)
        assert len(self.ctrl) == WORDS

    def start(self) -> "EmuSimulation":
        self._prepare()
        tx, ty, tz = (self.block + (1, 1))[:3] if len(self.block) < 3 else self.block
        run = self._lib.rk_emu_persistent
        run.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint]
        self._launcher = threading.Thread(target=run, args=(self._argv, tx, ty, tz), daemon=True,
                                          name=f"emu-persistent-{self.name}")
        self._launcher.start()
        self._thread = threading.Thread(target=self._main, name=f"ringkernel-sim-{self.name}", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> int:
        return self._wait_parked(lambda: not self._launcher.is_alive())

    def _host_copy(self, j: int) -> np.ndarray:
        return self._device[j].copy()

    def _inject(self, j: int, index, value) -> None:
        host = self._device[j].copy()
        host[index] = value
        self._device[j][...] = host


def start(kernel, *args, grid=None, block=None, **kwargs) -> EmuSimulation:
    """Like kernel.start(...), with the CUDA C++ loop emulated on one block."""
    from ringkernel_codegen import backends
    from ringkernel_codegen.launch import check_args, config

    args = check_args(kernel._f, args, backends.CPU, kwargs)
    given = config((grid, block))[:2] if grid is not None else None
    geometry = kernel.kind.geometry(kernel, given, args)
    if math.prod(geometry[0]) < 1:
        raise ValueError("empty grid")
    return EmuSimulation(kernel, geometry, args).start()
