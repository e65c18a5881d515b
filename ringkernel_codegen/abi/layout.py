"""One Python description per binary layout -> numpy dtype, C struct, C header with static_asserts.

The host (numpy), the CPU actor loop (numba, through word views) and the CUDA side (C structs)
all read these same bytes, so every layout is described once here and everything else is
generated: the emitters (ringkernel_codegen.emit) and the runtime (ringkernel_runtime.layout
re-exports this module) both import it. `tests/runtime/test_layout.py` compiles `c_header()` with nvcc.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_C_NAMES = {
    "f4": "float", "f8": "double", "i1": "int8_t", "i2": "int16_t", "i4": "int32_t",
    "i8": "int64_t", "u1": "uint8_t", "u2": "uint16_t", "u4": "uint32_t", "u8": "uint64_t",
    "b1": "bool",
}


def c_type_of(dtype: np.dtype) -> str:
    dt = np.dtype(dtype)
    key = "b1" if dt.kind == "b" else f"{dt.kind}{dt.itemsize}"
    if key not in _C_NAMES:
        raise TypeError(f"no C type for numpy dtype {dt}")
    return _C_NAMES[key]


@dataclass(frozen=True)
class Field:
    name: str
    dtype: str            # numpy scalar dtype string, e.g. "u8"
    count: int = 1        # > 1: a fixed-size array
    offset: int | None = None   # explicit offset (used to put fields on their own cache line)
    doc: str = ""


class Layout:
    """A C-compatible struct: fields at natural alignment unless an explicit offset is given."""

    def __init__(self, name: str, fields: list[Field], size: int | None = None,
                 align: int | None = None, doc: str = ""):
        self.name, self.fields, self.doc = name, list(fields), doc
        offsets, off, max_align = [], 0, 1
        for f in self.fields:
            dt = np.dtype(f.dtype)
            a = dt.alignment
            max_align = max(max_align, a)
            if f.offset is not None:
                if f.offset < off or f.offset % a:
                    raise ValueError(f"{name}.{f.name}: offset {f.offset} overlaps or misaligned")
                off = f.offset
            else:
                off = (off + a - 1) // a * a
            offsets.append(off)
            off += dt.itemsize * f.count
        self.align = align or max_align
        natural = (off + self.align - 1) // self.align * self.align
        self.size = size if size is not None else natural
        if self.size < off or self.size % self.align:
            raise ValueError(f"{name}: size {self.size} too small or not a multiple of {self.align}")
        self.offsets = dict(zip([f.name for f in self.fields], offsets))
        self.dtype = np.dtype({
            "names": [f.name for f in self.fields],
            "formats": [(f.dtype, (f.count,)) if f.count > 1 else f.dtype for f in self.fields],
            "offsets": offsets, "itemsize": self.size,
        }, align=False)

    def word(self, field: str) -> int:
        """Index of `field` in a uint64/int64 view of the struct (the njit loop addresses words)."""
        off = self.offsets[field]
        if off % 8:
            raise ValueError(f"{self.name}.{field} is not 8-byte aligned")
        return off // 8

    def c_struct(self) -> str:
        """The C struct, with explicit padding so its layout does not depend on the compiler."""
        lines = [f"/* {self.doc} */"] if self.doc else []
        lines.append(f"typedef struct alignas({self.align}) {self.name} {{")
        pos, pad = 0, 0
        for f in self.fields:
            off = self.offsets[f.name]
            dt = np.dtype(f.dtype)
            natural = (pos + dt.alignment - 1) // dt.alignment * dt.alignment
            if off != natural:
                lines.append(f"    uint8_t _pad{pad}[{off - pos}];")
                pad += 1
            arr = f"[{f.count}]" if f.count > 1 else ""
            comment = f"  /* {f.doc} */" if f.doc else ""
            lines.append(f"    {c_type_of(dt)} {f.name}{arr};{comment}")
            pos = off + dt.itemsize * f.count
        if self.size > pos:
            lines.append(f"    uint8_t _pad{pad}[{self.size - pos}];")
        lines.append(f"}} {self.name};")
        return "\n".join(lines)

    def c_asserts(self) -> str:
        out = [f"static_assert(sizeof({self.name}) == {self.size}, \"{self.name} size\");",
               "#if !defined(__CUDACC_RTC__)  /* NVRTC's offsetof is not a constant expression */"]
        for f in self.fields:
            out.append(f"static_assert(offsetof({self.name}, {f.name}) == {self.offsets[f.name]}, "
                       f"\"{self.name}.{f.name} offset\");")
        out.append("#endif")
        return "\n".join(out)


def _f(name, dtype="u8", count=1, offset=None, doc=""):
    return Field(name, dtype, count, offset, doc)


# Control block: one per actor. Host writes command/command_seq; the actor writes the rest.
CONTROL_BLOCK = Layout("rk_control_block", [
    _f("state", "i8", doc="KernelState value as the actor last reported it"),
    _f("command", "i8", doc="last command (CMD_*) posted by the host"),
    _f("command_seq", "i8", doc="host increments after writing command (release)"),
    _f("command_ack", "i8", doc="actor copies command_seq once it acted on it"),
    _f("heartbeat_ns", "i8", doc="actor's clock at its last loop iteration"),
    _f("messages_in", "i8"), _f("messages_out", "i8"),
    _f("error_code", "i8", doc="code passed to ctx.fail, or a negative runtime code"),
    _f("hlc_physical", "i8"), _f("hlc_logical", "i8"),
    _f("actor_id", "i8"), _f("node_id", "i8"),
    _f("spin_ns", "i8", doc="idle time spent spinning before backing off to sleeps"),
    _f("peer_timeout_ns", "i8", doc="how long ctx.send blocks on a full peer queue"),
    _f("last_correlation", "i8", doc="correlation id of the message in hand (watchdog report)"),
    _f("exit_reason", "i8", doc="why the loop returned (EXIT_*)"),
], size=128, doc="per-actor control block")

QUEUE_LINE = 128
# Queue header: head and tail on their own 128-byte lines; positions run free (never wrap).
QUEUE_HEADER = Layout("rk_queue_header", [
    _f("head", "u8", offset=0, doc="consumer position (consumer writes)"),
    _f("tail", "u8", offset=QUEUE_LINE, doc="producer position (producer writes)"),
    _f("capacity", "u8", offset=2 * QUEUE_LINE, doc="slots, a power of two"),
    _f("mask", "u8", doc="capacity - 1"),
    _f("payload_size", "u8", doc="bytes per payload slot"),
    _f("type_id", "u8", doc="message type every slot of this queue holds"),
    _f("producer_lock", "u8", offset=3 * QUEUE_LINE, doc="spinlock for multi-producer (K2K) lanes"),
], size=4 * QUEUE_LINE, align=QUEUE_LINE, doc="ring queue header; slots follow as header and payload arrays")

MESSAGE_HEADER = Layout("rk_message_header", [
    _f("type_id", "u4", doc="message class id (crc32 of its qualified name)"),
    _f("flags", "u4"),
    _f("correlation_id", "u8"),
    _f("hlc_physical", "u8", doc="sender's HLC physical time, ns"),
    _f("hlc_logical", "u4"),
    _f("source", "u4", doc="sending actor id (0 = host)"),
], size=32, doc="compact message header, one per slot")

K2K_ROUTE = Layout("rk_k2k_route", [
    _f("source_actor", "u4"), _f("destination_actor", "u4"),
    _f("peer_index", "u4", doc="position of the peer name in sorted order"),
    _f("type_id", "u4"),
    _f("queue_offset", "u8", doc="where the destination's K2K inbox lives (device pointer on GPU)"),
], size=24, doc="one K2K route: which queue a peer name maps to")

LAYOUTS = (CONTROL_BLOCK, QUEUE_HEADER, MESSAGE_HEADER, K2K_ROUTE)

# Word indices used by the njit loop (int64/uint64 views).
CB = {f.name: CONTROL_BLOCK.word(f.name) for f in CONTROL_BLOCK.fields}
QH_HEAD = QUEUE_HEADER.word("head")
QH_TAIL = QUEUE_HEADER.word("tail")
QH_CAPACITY = QUEUE_HEADER.word("capacity")
QH_MASK = QUEUE_HEADER.word("mask")
QH_LOCK = QUEUE_HEADER.word("producer_lock")
QH_TYPE_ID = QUEUE_HEADER.word("type_id")
QH_PAYLOAD_SIZE = QUEUE_HEADER.word("payload_size")
QH_WORDS = QUEUE_HEADER.size // 8
CB_WORDS = CONTROL_BLOCK.size // 8


def c_header(extra_structs: tuple[str, ...] = ()) -> str:
    """The whole runtime header: every layout plus its static_asserts (C++11; nvcc and NVRTC).

    Under NVRTC it includes nothing: NVRTC has no <cstdint> and the toolkit's libcu++ (CCCL) may
    not be installed, so the fixed-width types are declared here, the same types libcu++'s
    <cuda/std/cstdint> declares under NVRTC (declaring a typedef again to the same type is
    allowed, so either may come first). Define RK_NO_FIXED_WIDTH_TYPES to declare them yourself.
    size_t and ptrdiff_t are built into NVRTC; offsetof is not, and is only asserted under nvcc.
    """
    # the banner names the module users know this header by (emitted sources stay unchanged)
    parts = ["/* generated by ringkernel_runtime.layout: do not edit (C++11 / CUDA C++) */",
             "#pragma once",
             "#if defined(__CUDACC_RTC__)  /* NVRTC: no headers; the types libcu++ uses there */",
             "#if !defined(RK_NO_FIXED_WIDTH_TYPES) && !defined(RK_FIXED_WIDTH_TYPES)",
             "#define RK_FIXED_WIDTH_TYPES",
             "typedef signed char int8_t; typedef short int16_t; typedef int int32_t; "
             "typedef long long int64_t;",
             "typedef unsigned char uint8_t; typedef unsigned short uint16_t; "
             "typedef unsigned int uint32_t; typedef unsigned long long uint64_t;",
             "#endif",
             "static_assert(sizeof(int8_t) == 1 && sizeof(int16_t) == 2 && sizeof(int32_t) == 4 && "
             "sizeof(int64_t) == 8, \"fixed-width types\");",
             "static_assert(sizeof(uint8_t) == 1 && sizeof(uint16_t) == 2 && sizeof(uint32_t) == 4 && "
             "sizeof(uint64_t) == 8, \"fixed-width types\");",
             "#else", "#include <cstdint>", "#include <cstddef>", "#endif", ""]
    for lay in LAYOUTS:
        parts += [lay.c_struct(), lay.c_asserts(), ""]
    parts += list(extra_structs)
    return "\n".join(parts) + "\n"
