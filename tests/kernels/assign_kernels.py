"""Kernels whose locals are assigned on some path before every read (all must be accepted)."""
from ringkernel_codegen import f32, i32, kernel
from ringkernel_codegen.dsl import global_id


@kernel
def loop_carried(x: f32[:], out: f32[:], n: i32):
    if global_id() == 0:
        for j in range(n):
            if j > 0:
                out[j] = x[j] - prev  # noqa: F821 - assigned by the previous iteration
            prev = x[j]


@kernel
def both_branches(x: f32[:], out: f32[:], n: i32):
    i = global_id()
    if i < n:
        if x[i] > 0:
            v = x[i]
        else:
            v = -x[i]
        out[i] = v


@kernel
def while_carried(out: i32[:], n: i32):
    if global_id() == 0:
        k = 0
        while k < n:
            if k > 0:
                out[k] = last + 1  # noqa: F821 - assigned by the previous iteration
            last = out[k]
            k += 1


@kernel
def divide(x: f32[:], out: f32[:], n: i32):
    i = global_id()
    if i < n:
        out[i] = x[i] / f32(0.0)


# Any 1D launch its arrays cover (the convention: basic_kernels.GEOMETRY).
GEOMETRY: dict = {}
ARGS: dict = {}
