"""@kernel(cluster=N): thread-block clusters from the DSL.

cluster_sync() waits for the blocks of one cluster. The CPU emulator runs it as a grid barrier
(stronger, never weaker), so a CPU run is a reference for a GPU run; every backend refuses at launch
what a GPU would get silently wrong: a cluster_sync() kernel without a cluster size (each block
would be a cluster of one) and a grid that is not a whole number of clusters.
"""
import subprocess

import numpy as np
import pytest

from ringkernel_codegen import CodegenError, LaunchError, f32, i32, kernel
from ringkernel_codegen.dsl import block_dim_x, block_idx_x, cluster_sync, global_id, grid_sync, thread_idx_x

cuda_backend = pytest.importorskip("ringkernel_runtime.backends.cuda")

BLOCK = 32


@kernel(cluster=4)
def rotate_in_cluster(x: f32[:], out: f32[:], n: i32):
    """Every block writes, the cluster syncs, then each block reads the next block of its cluster."""
    i = global_id()
    if i < n:
        x[i] = f32(i) * 2.0 + 1.0
    cluster_sync()
    b = block_idx_x()
    j = (b - b % 4 + (b + 1) % 4) * block_dim_x() + thread_idx_x()
    if i < n and j < n:
        out[i] = x[j]


@kernel
def rotate_without_cluster(x: f32[:], out: f32[:], n: i32):
    i = global_id()
    if i < n:
        x[i] = f32(i)
    cluster_sync()
    j = (block_idx_x() ^ 1) * block_dim_x() + thread_idx_x()
    if i < n and j < n:
        out[i] = x[j]


@kernel(cluster=(2, 1, 1))
def scale_in_pairs(x: f32[:], n: i32):
    """Declares clusters but never syncs them: fine, the blocks just launch in pairs."""
    i = global_id()
    if i < n:
        x[i] = x[i] * 2.0


@kernel(cluster=2)
def cluster_then_grid_sync(x: f32[:], out: f32[:], n: i32):
    i = global_id()
    if i < n:
        x[i] = f32(i)
    cluster_sync()
    grid_sync()
    j = (i + block_dim_x()) % n
    if i < n:
        out[i] = x[j]


def rotated_reference(grid: int, block: int, cluster: int) -> np.ndarray:
    """What rotate_in_cluster leaves in `out`, from index arithmetic alone."""
    i = np.arange(grid * block)
    b, t = i // block, i % block
    partner = b - b % cluster + (b + 1) % cluster
    return (2.0 * (partner * block + t) + 1.0).astype(np.float32)


def buffers(grid: int):
    n = grid * BLOCK
    return np.zeros(n, np.float32), np.zeros(n, np.float32), n


@pytest.fixture
def recorder(monkeypatch):
    """launch_source replaced by a recorder: checks what `.to("cuda")` launches without a GPU."""
    calls = []
    provider = pytest.importorskip("ringkernel_runtime.backends.cuda_backend")   # what .to("cuda") calls
    monkeypatch.setattr(provider, "available", lambda: True)
    monkeypatch.setattr(provider, "launch_source",
                        lambda source, name, grid, block, args, **kw: calls.append((name, grid, block, kw)))
    return calls


# ---------------------------------------------------------------------------- running on the CPU
def test_reads_after_cluster_sync_see_the_other_blocks_of_the_cluster():
    x, out, n = buffers(8)
    rotate_in_cluster.to("cpu")[8, BLOCK](x, out, n)
    np.testing.assert_array_equal(out, rotated_reference(8, BLOCK, 4))


def test_a_kernel_with_clusters_but_no_cluster_sync_runs():
    x = np.arange(4 * BLOCK, dtype=np.float32)
    scale_in_pairs.to("cpu")[4, BLOCK](x, x.size)
    np.testing.assert_array_equal(x, 2.0 * np.arange(4 * BLOCK, dtype=np.float32))


def test_cluster_sync_and_grid_sync_together_run_on_the_cpu():
    x, out, n = buffers(4)
    cluster_then_grid_sync.to("cpu")[4, BLOCK](x, out, n)
    np.testing.assert_array_equal(out, ((np.arange(n) + BLOCK) % n).astype(np.float32))


# ---------------------------------------------------------------------------- the cluster option
def test_an_int_cluster_means_blocks_along_x():
    assert rotate_in_cluster.cluster == (4, 1, 1)
    assert scale_in_pairs.cluster == (2, 1, 1)
    assert rotate_without_cluster.cluster is None


@pytest.mark.parametrize("bad", [0, -2, (2, 0), (1, 1, 1, 1), 2.0, "2", [2], True, 32, (4, 4, 2)],
                         ids=repr)
def test_bad_cluster_sizes_are_refused_when_decorating(bad):
    def body(x: f32[:]):
        x[global_id()] = 1.0

    with pytest.raises(LaunchError, match=r"@kernel\(cluster=\.\.\.\) of 'body'"):
        kernel(cluster=bad)(body)


# ---------------------------------------------------------------------------- launch checks
@pytest.mark.parametrize("backend", ["cpu", "numba", "cuda"])
def test_a_grid_that_is_not_a_whole_number_of_clusters_is_refused(backend, recorder):
    x = np.zeros(3 * BLOCK, np.float32)
    with pytest.raises(LaunchError, match=r"grid \(3, 1, 1\) is not a whole number of clusters.*grid \(4, 1, 1\)"):
        scale_in_pairs.to(backend)[3, BLOCK](x, x.size)
    assert recorder == []


def test_every_grid_axis_must_hold_whole_clusters():
    def body(x: f32[:]):
        x[global_id()] = 1.0

    k = kernel(cluster=(2, 2))(body)
    x = np.zeros(64, np.float32)
    with pytest.raises(LaunchError, match=r"grid \(4, 3, 1\).*grid \(4, 4, 1\)"):
        k.to("cpu")[(4, 3), 4](x)


@pytest.mark.parametrize("backend", ["cpu", "cuda"])
def test_cluster_sync_without_a_cluster_size_is_refused_at_launch(backend, recorder):
    x, out, n = buffers(4)
    with pytest.raises(LaunchError, match=r"cluster_sync\(\) at .*test_cluster\.py:\d+:\d+.*@kernel\(cluster=N\)"):
        rotate_without_cluster.to(backend)[4, BLOCK](x, out, n)
    assert recorder == [] and not out.any()


@pytest.mark.parametrize("k", [rotate_in_cluster, rotate_without_cluster], ids=lambda k: k.name)
def test_numba_says_it_has_no_clusters_whatever_the_cluster_option(k):
    x, out, n = buffers(4)
    with pytest.raises(CodegenError, match="cluster_sync\\(\\) is not available on numba.cuda"):
        k.to("numba")[4, BLOCK](x, out, n)


# ---------------------------------------------------------------------------- the cuda backend
def test_cuda_launch_passes_the_cluster_size(recorder):
    x, out, n = buffers(8)
    rotate_in_cluster.to("cuda")[8, BLOCK](x, out, n)
    name, grid, block, kw = recorder[-1]
    assert (name, grid, block) == ("rotate_in_cluster", (8, 1, 1), (BLOCK, 1, 1))
    assert kw["cluster"] == (4, 1, 1) and kw["cooperative"] is False


def test_cluster_with_grid_sync_launches_cooperatively_in_clusters(recorder):
    x, out, n = buffers(4)
    cluster_then_grid_sync.to("cuda")[4, BLOCK](x, out, n)
    kw = recorder[-1][-1]
    assert kw["cluster"] == (2, 1, 1) and kw["cooperative"] is True


def test_a_kernel_without_clusters_launches_without_them(recorder):
    @kernel
    def fill(x: f32[:]):
        x[global_id()] = 1.0

    fill.to("cuda")[2, BLOCK](np.zeros(2 * BLOCK, np.float32))
    assert recorder[-1][-1].get("cluster") is None


@pytest.mark.nvcc
@pytest.mark.parametrize("k", [rotate_in_cluster, cluster_then_grid_sync], ids=lambda k: k.name)
def test_cluster_kernels_compile_with_nvcc_for_sm_90(k, nvcc, tmp_path):
    cu = tmp_path / f"{k.name}.cu"
    cu.write_text(k.cuda_source())
    proc = subprocess.run([nvcc, "-arch=sm_90", "-std=c++17", "-c", str(cu), "-o", str(tmp_path / "k.o")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "rk_cluster_sync();" in k.cuda_source()


@pytest.mark.gpu
def test_cluster_sync_on_a_gpu_matches_numpy():
    if not cuda_backend.available():
        pytest.skip(f"no usable CUDA GPU: {cuda_backend.unavailable_reason()}")
    if not cuda_backend.device_info().cluster_launch:
        pytest.skip("this GPU has no thread-block clusters (needs compute capability 9.0+)")
    x, out, n = buffers(16)
    rotate_in_cluster.to("cuda")[16, BLOCK](x, out, n)
    np.testing.assert_array_equal(out, rotated_reference(16, BLOCK, 4))
