"""Kernels drawing Philox4x32-10 random numbers (intrinsics/random.toml), used by tests/test_random.py
and tests/sim/test_random_sim.py. References (the published Random123 vectors, a pure-Python
Philox) live in the tests."""
from ringkernel_codegen import f32, f64, i32, kernel, u32, u64
from ringkernel_codegen.dsl import (
    global_id, philox4x32, philox_normal_f32, philox_normal_f64, philox_u32, philox_uniform_f32, philox_uniform_f64,
)


@kernel
def philox_blocks(ctr: u32[:], key: u32[:], out: u32[:], n: i32):
    """Row i: out[4i..4i+3] = Philox4x32-10(ctr[4i..4i+3], key[2i], key[2i+1])."""
    i = global_id()
    if i < n:
        philox4x32(out, 4 * i, ctr[4 * i], ctr[4 * i + 1], ctr[4 * i + 2], ctr[4 * i + 3], key[2 * i], key[2 * i + 1])


@kernel
def draws(seed: u64, words: u32[:, :], uf: f32[:, :], ud: f64[:, :], nf: f32[:, :], nd: f64[:, :],
          nstreams: i32, ndraws: i32):
    """Stream s = the thread's global index; draw d = the column: every helper, so the result does
    not depend on the launch shape."""
    s = global_id()
    if s < nstreams:
        for d in range(ndraws):
            words[s, d] = philox_u32(seed, s, d)
            uf[s, d] = philox_uniform_f32(seed, s, d)
            ud[s, d] = philox_uniform_f64(seed, s, d)
            nf[s, d] = philox_normal_f32(seed, s, d)
            nd[s, d] = philox_normal_f64(seed, s, d)


ALL = [philox_blocks, draws]

# Launches and arguments for tools/gpu_check.py (the convention: basic_kernels.GEOMETRY / ARGS):
# philox_blocks reads 4 counter words and 2 key words per row and writes 4 words.
GEOMETRY = {}
ARGS = {
    "philox_blocks": {"ctr": (256,), "key": (128,), "out": (256,), "n": 64},   # 64 rows: the [2, 32] launch
}
