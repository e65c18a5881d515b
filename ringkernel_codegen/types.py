"""Scalar and array types of the kernel language, and the C/numba promotion rules."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScalarType:
    """A scalar type; `kind` is 'f' (float), 'i' (signed), 'u' (unsigned) or 'b' (boolean)."""

    name: str
    kind: str
    bits: int
    c_name: str
    numba_name: str

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(np.bool_ if self.kind == "b" else f"{self.kind}{self.bits // 8}")

    @property
    def is_float(self) -> bool:
        return self.kind == "f"

    @property
    def is_int(self) -> bool:
        return self.kind in "iu"

    @property
    def is_bool(self) -> bool:
        return self.kind == "b"

    def __getitem__(self, item) -> "ArrayType":
        """`f32[:]`, `f32[:, :]`, `f32[:, :, :]` build array types (C order)."""
        dims = item if isinstance(item, tuple) else (item,)
        if not dims or not all(isinstance(d, slice) and d == slice(None) for d in dims):
            raise TypeError(f"array types are written {self.name}[:], {self.name}[:, :] or {self.name}[:, :, :]")
        return ArrayType(self, len(dims))

    def __call__(self, value):
        """Outside kernels a type converts a Python value (so constants like f32(0.5) work)."""
        return self.np_dtype.type(value)

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ArrayType:
    """A C-ordered array of `dtype` with `ndim` dimensions; `field` marks a stencil field."""

    dtype: ScalarType
    ndim: int
    field: bool = False

    @property
    def name(self) -> str:
        if self.field:
            return f"Field{self.ndim}D[{self.dtype.name}]"
        return f"{self.dtype.name}[{', '.join([':'] * self.ndim)}]"

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class VoidType:
    name: str = "void"

    def __repr__(self) -> str:
        return "void"


VOID = VoidType()

f16 = None  # half precision is not supported yet; the name is kept free on purpose
f32 = ScalarType("f32", "f", 32, "float", "float32")
f64 = ScalarType("f64", "f", 64, "double", "float64")
i8 = ScalarType("i8", "i", 8, "signed char", "int8")
i16 = ScalarType("i16", "i", 16, "short", "int16")
i32 = ScalarType("i32", "i", 32, "int", "int32")
i64 = ScalarType("i64", "i", 64, "long long", "int64")
u8 = ScalarType("u8", "u", 8, "unsigned char", "uint8")
u16 = ScalarType("u16", "u", 16, "unsigned short", "uint16")
u32 = ScalarType("u32", "u", 32, "unsigned int", "uint32")
u64 = ScalarType("u64", "u", 64, "unsigned long long", "uint64")
boolean = ScalarType("boolean", "b", 8, "bool", "boolean")

SCALARS: dict[str, ScalarType] = {
    t.name: t for t in (f32, f64, i8, i16, i32, i64, u8, u16, u32, u64, boolean)
}
# numpy-style aliases users may write in annotations or dtype arguments
ALIASES = {"float32": f32, "float64": f64, "int8": i8, "int16": i16, "int32": i32, "int64": i64,
           "uint8": u8, "uint16": u16, "uint32": u32, "uint64": u64, "bool": boolean, "bool_": boolean}


def from_numpy(dtype) -> ScalarType:
    """The scalar type for a numpy dtype (or anything np.dtype accepts)."""
    dt = np.dtype(dtype)
    for t in SCALARS.values():
        if t.np_dtype == dt:
            return t
    raise TypeError(f"numpy dtype {dt} has no ringkernel scalar type")


class _FieldFactory:
    def __init__(self, ndim: int):
        self.ndim = ndim

    def __getitem__(self, dtype: ScalarType) -> ArrayType:
        if not isinstance(dtype, ScalarType):
            raise TypeError(f"Field{self.ndim}D[...] takes a scalar type such as f32")
        return ArrayType(dtype, self.ndim, field=True)

    def __repr__(self) -> str:
        return f"Field{self.ndim}D"


Field1D = _FieldFactory(1)
Field2D = _FieldFactory(2)
Field3D = _FieldFactory(3)


def promote(a: ScalarType, b: ScalarType) -> ScalarType:
    """C usual arithmetic conversions, restricted to our types (bool and small ints widen to i32)."""
    if a.is_float or b.is_float:
        if a.is_float and b.is_float:
            return a if a.bits >= b.bits else b
        return a if a.is_float else b
    a, b = widen_small(a), widen_small(b)
    if a == b:
        return a
    if a.kind == b.kind:
        return a if a.bits >= b.bits else b
    signed, unsigned = (a, b) if a.kind == "i" else (b, a)
    if unsigned.bits >= signed.bits:
        return unsigned
    return signed


def widen_small(t: ScalarType) -> ScalarType:
    """Integer promotion: bool, 8- and 16-bit integers compute as i32."""
    if t.is_bool or (t.is_int and t.bits < 32):
        return i32
    return t
