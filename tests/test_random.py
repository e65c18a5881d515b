"""Philox4x32-10 intrinsics (intrinsics/random.toml) against the published Random123 known-answer
vectors and a pure-Python Philox (tests/philox_ref.py): bit-exact words and uniforms, normals to f32
rounding, the same numbers for any launch shape, CUDA C++ that compiles. The numba.cuda spelling
runs in the simulator (tests/sim/test_random_sim.py)."""
import subprocess

import numpy as np
import pytest

from tests import philox_ref as ref
from tests.kernels import random_kernels as R
from ringkernel_codegen.emit import cpu_rt_random  # noqa: E402

SEED = 0x1234_5678_9ABC_DEF0  # both key words non-zero


def kat_arrays():
    ctr = np.array([w for c, _, _ in ref.KAT for w in c], np.uint32)
    key = np.array([w for _, k, _ in ref.KAT for w in k], np.uint32)
    return ctr, key, np.array([w for _, _, o in ref.KAT for w in o], np.uint32)


def test_reference_reproduces_the_published_vectors():
    for ctr, key, out in ref.KAT:
        assert ref.philox(ctr, key) == out


def test_philox4x32_kernel_reproduces_the_published_vectors(target):
    ctr, key, expected = kat_arrays()
    out = np.zeros(12, np.uint32)
    R.philox_blocks.to(target)[1, 32](ctr, key, out, 3)
    assert [hex(v) for v in out] == [hex(v) for v in expected]


def run_draws(target, grid, block, streams=10, ndraws=9, seed=SEED):
    shape = (streams, ndraws)
    outs = [np.zeros(shape, np.uint32), np.zeros(shape, np.float32), np.zeros(shape, np.float64),
            np.zeros(shape, np.float32), np.zeros(shape, np.float64)]
    R.draws.to(target)[grid, block](np.uint64(seed), *outs, streams, ndraws)
    return outs


def test_draws_match_the_reference_bit_for_bit(target):
    words, uf, ud, nf, nd = run_draws(target, 3, 4)
    s, d = np.indices(words.shape)
    cells = list(zip(s.ravel().tolist(), d.ravel().tolist()))
    assert words.ravel().tolist() == [ref.u32(SEED, a, b) for a, b in cells]
    assert uf.ravel().tolist() == [ref.uniform_f32(SEED, a, b) for a, b in cells]
    assert ud.ravel().tolist() == [ref.uniform_f64(SEED, a, b) for a, b in cells]
    np.testing.assert_allclose(nd.ravel(), [ref.normal_f64(SEED, a, b) for a, b in cells], rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(nf.ravel(), [ref.normal_f32(SEED, a, b) for a, b in cells], rtol=2e-6, atol=2e-5)


@pytest.mark.parametrize("grid,block", [(1, 64), (5, 2), (10, 1), (2, 33)])
def test_a_stream_is_the_same_for_any_launch_shape(grid, block):
    base = run_draws("cpu", 3, 4)
    for got, want in zip(run_draws("cpu", grid, block), base):
        np.testing.assert_array_equal(got, want)


def test_high_words_of_seed_stream_and_draw_are_used():
    """Streams and draws beyond 2^32 land in the counter's high words, the seed's in the key's."""
    for seed, stream, draw in [(SEED, 2**40 + 3, 2**35 + 6), (2**63 + 1, 2**64 - 1, 2**64 - 1), (0, 1 << 32, 4 << 32)]:
        args = [np.uint64(v) for v in (seed, stream, draw)]
        assert cpu_rt_random.philox_u32(*args) == ref.u32(seed, stream, draw)
        assert cpu_rt_random.philox_uniform_f64(*args) == ref.uniform_f64(seed, stream, draw)
    assert ref.u32(1, 0, 0) != ref.u32(1 << 32, 0, 0) != ref.u32(0, 0, 0)


def test_uniforms_stay_strictly_inside_zero_one():
    f32_of, f64_of = cpu_rt_random._f32_of, cpu_rt_random._f64_of
    assert f32_of(np.uint32(0)) == np.float32(2.0 ** -24) and f32_of(np.uint32(0xFFFFFFFF)) == np.float32(1 - 2.0 ** -24)
    assert f64_of(np.uint32(0), np.uint32(0)) == 2.0 ** -53 and f64_of(np.uint32(0xFFFFFFFF), np.uint32(0xFFFFFFFF)) == 1 - 2.0 ** -53


def test_moments_of_many_draws():
    """4,096 streams x 16 draws: mean and variance within 5 standard errors of U(0,1) and N(0,1)."""
    words, uf, ud, nf, nd = run_draws("cpu", 64, 64, streams=4096, ndraws=16, seed=7)
    n = uf.size
    for u in (uf, ud):
        assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
        assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / n)
    for z in (nf, nd):
        assert abs(z.mean()) < 5 / np.sqrt(n)
        assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(np.corrcoef(nd[:, 0::2].ravel(), nd[:, 1::2].ravel())[0, 1]) < 5 / np.sqrt(n / 2)
    assert len(np.unique(words)) > 0.99 * words.size


@pytest.mark.nvcc
@pytest.mark.parametrize("k", R.ALL, ids=lambda k: k.name)
def test_cuda_source_compiles_with_nvcc(nvcc, tmp_path, k):
    cu = tmp_path / f"{k.name}.cu"
    cu.write_text(k.cuda_source())
    proc = subprocess.run([nvcc, "-arch=sm_90", "-std=c++17", "-c", str(cu), "-o", str(tmp_path / "k.o")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
