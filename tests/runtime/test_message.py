"""@message classes: dtype, construction, field access, errors."""
import numpy as np
import pytest

from kernels import Add, Seq
from ringkernel_codegen.message import Array, MessageDefinitionError, message
from ringkernel_codegen.types import f32, f64, i32, u8


def test_fields_are_readable_as_attributes():
    m = Add(a=1.0, b=2.5)
    assert (m.a, m.b) == (1.0, 2.5)
    assert m.record.dtype == Add.dtype


def test_array_fields_and_mixed_alignment():
    @message
    class Mixed:
        flag: u8
        x: f64
        v: Array(i32, 3)

    assert Mixed.dtype == np.dtype([("flag", "u1"), ("x", "f8"), ("v", "i4", (3,))], align=True)
    m = Mixed(flag=1, x=2.0, v=[1, 2, 3])
    assert list(m.v) == [1, 2, 3]
    assert "uint8_t flag;" in Mixed.c_struct() and "int32_t v[3];" in Mixed.c_struct()


def test_unknown_field_is_an_actionable_error():
    with pytest.raises(MessageDefinitionError, match="fields are a, b"):
        Add(c=1.0)


def test_unsupported_field_type_is_rejected():
    with pytest.raises(MessageDefinitionError, match="not supported"):
        @message
        class Bad:
            x: list


def test_zeros_builds_a_batch_and_type_ids_differ():
    assert Seq.zeros(3).dtype == Seq.dtype and len(Seq.zeros(3)) == 3
    assert Add.type_id != Seq.type_id


def test_string_annotations_resolve(tmp_path, monkeypatch):
    (tmp_path / "strmsg.py").write_text(
        "from __future__ import annotations\nfrom ringkernel_codegen.types import f32\n"
        "from ringkernel_codegen.message import message\n@message\nclass P:\n    x: f32\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import strmsg
    assert strmsg.P.dtype == np.dtype([("x", "f4")])
    _ = f32
