"""Binary layouts: numpy dtype and generated C agree (nvcc compiles the static_asserts)."""
import shutil
import subprocess

import numpy as np
import pytest

from kernels import Add, Counter, Seq, SeqReply
from ringkernel_runtime import layout


def test_queue_head_and_tail_sit_on_their_own_128_byte_lines():
    off = layout.QUEUE_HEADER.offsets
    assert off["head"] // 128 != off["tail"] // 128
    assert all(off[f] // 128 not in (off["head"] // 128, off["tail"] // 128)
               for f in off if f not in ("head", "tail"))


def test_message_header_is_32_bytes():
    assert layout.MESSAGE_HEADER.dtype.itemsize == 32


def test_layout_dtype_offsets_match_description():
    for lay in layout.LAYOUTS:
        for f in lay.fields:
            assert lay.dtype.fields[f.name][1] == lay.offsets[f.name]
        assert lay.dtype.itemsize == lay.size


def test_message_dtype_matches_numpy_aligned_struct():
    ref = np.dtype([("seq", "i8"), ("producer", "i8"), ("fail", "i8"), ("pad", "i8", (5,))], align=True)
    assert Seq.dtype == ref and Seq.dtype.itemsize == 64
    assert Add.dtype == np.dtype([("a", "f4"), ("b", "f4")], align=True)


@pytest.mark.nvcc
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not on PATH")
def test_generated_header_compiles_with_nvcc(tmp_path):
    structs = tuple(m.c_struct() + "\n" + m.c_asserts() for m in (Add, Seq, SeqReply, Counter))
    hdr = tmp_path / "ringkernel_runtime.h"
    hdr.write_text(layout.c_header(structs))
    src = tmp_path / "check.cu"
    src.write_text('#include "ringkernel_runtime.h"\n__global__ void k(rk_queue_header* q) { q->head = 1; }\n')
    r = subprocess.run(["nvcc", "-arch=sm_90", "-std=c++17", "-c", str(src), "-o", str(tmp_path / "c.o")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
