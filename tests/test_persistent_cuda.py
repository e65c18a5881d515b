"""@persistent CUDA C++ emission: the resident kernel compiles for sm_90 in both sync modes and in
the general form, its control memory is the actors' control block + the mailbox (static_asserts
checked by the compiler against ringkernel_codegen.abi), and the CLI emits and checks it."""
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.kernels import persistent_kernels as K
from ringkernel_codegen import CodegenError, Field2D, f32, persistent
from ringkernel_codegen.abi import layout
from ringkernel_codegen.abi import persistent as pabi
from ringkernel_codegen.cli import main as cli_main

KERNELS = {"grid": K.wave, "cluster": K.wave_cluster, "general": K.relax, "periodic_cluster": None}


def _periodic_cluster():
    @persistent(halo=1, swap=("u", "v"), boundary="periodic", sync="cluster", cluster=4)
    def heat_ring(u: Field2D[f32], v: Field2D[f32], a: f32):
        v[0, 0] = u[0, 0] + a * (u.north + u.south + u.east + u.west - 4.0 * u[0, 0])
    return heat_ring


@pytest.fixture(scope="module")
def compiled(nvcc, tmp_path_factory):
    folder = tmp_path_factory.mktemp("persistent_cu")
    kernels = dict(KERNELS, periodic_cluster=_periodic_cluster())

    def build(item):
        name, k = item
        cu = folder / f"{name}.cu"
        cu.write_text(k.cuda_source())
        proc = subprocess.run([nvcc, "-arch=sm_90", "-std=c++17", "-c", str(cu), "-o", str(folder / f"{name}.o")],
                              capture_output=True, text=True, timeout=300)
        return name, (proc.returncode, proc.stderr)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(build, sorted(kernels.items())))


@pytest.mark.nvcc
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_resident_kernel_compiles_for_sm90(compiled, name):
    rc, err = compiled[name]
    assert rc == 0, f"nvcc failed for {name}:\n{err}"


def test_control_memory_is_the_actor_control_block_then_the_mailbox():
    src = K.wave.cuda_source()
    assert layout.CONTROL_BLOCK.c_struct() in src          # the actors' layout, byte for byte
    assert pabi.MAILBOX.c_struct() in src
    assert f"sizeof(rk_persistent_block) == {layout.CONTROL_BLOCK.size + pabi.MAILBOX.size}" in src
    assert pabi.MB["steps"] * 8 == layout.CONTROL_BLOCK.size + pabi.MAILBOX.offsets["steps"]


def test_grid_mode_takes_one_grid_barrier_per_step_and_fences_before_polling_host_memory():
    src = K.wave.cuda_source()
    loop = src[src.index("unsigned long long _rk_it"):]
    fast_path = loop[loop.index("++_rk_steps;"):]
    assert fast_path[:fast_path.index("}\n")].count("_rk_grid.sync()") == 1
    poll = src[src.index("rk_fast_decision("):]
    poll = poll[:poll.index("\n}\n")]
    assert poll.index("__threadfence_system()") < poll.index("rk_sys_poll(")


def test_cluster_mode_syncs_clusters_and_neighbour_flags_not_the_grid_per_step():
    src = K.wave_cluster.cuda_source()
    assert "__cluster_dims__(2, 1, 1)" in src
    step = src[src.index("while (_rk_steps < _rk_end"):]
    step = step[:step.index("_rk_grid.sync();")]
    assert "_rk_cluster.sync()" in step and "rk_flag_poll(&_rk_sync->flags[k])" in step
    assert "map_shared_rank" in step                     # the command check reaches the cluster via DSMEM


def test_cluster_sync_needs_the_stencil_form():
    with pytest.raises(CodegenError, match="stencil form"):
        K.relax.__class__(K.relax.fn, swap=("x", "x_new"), sync="cluster", cluster=2).cuda_source()


def test_cli_emits_and_checks_persistent_kernels(tmp_path, capsys):
    src = tmp_path / "sims.py"
    src.write_text("from ringkernel_codegen import persistent, Field2D, f32\n\n"
                   "@persistent(halo=1, swap=(\"u\", \"v\"), boundary=\"zero\", sync=\"cluster\", cluster=2)\n"
                   "def diffuse(u: Field2D[f32], v: Field2D[f32], a: f32):\n"
                   "    v[0, 0] = u[0, 0] + a * (u.north + u.south + u.east + u.west - 4.0 * u[0, 0])\n")
    assert cli_main(["emit", str(src), "-o", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "diffuse.cu").read_text()
    assert "diffuse_persistent(" in text
    assert cli_main(["emit", str(src), "-o", str(tmp_path / "out"), "--backend", "cpu"]) == 0
    assert "def _rk_step(" in (tmp_path / "out" / "diffuse_cpu.py").read_text()
    assert cli_main(["check", str(src), "--compiler", "nvrtc"]) == 0
    assert "ok      diffuse" in capsys.readouterr().out
