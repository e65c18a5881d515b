#!/usr/bin/env bash
# The first GPU run of this tree, in ONE device call that fits a 15-minute device budget.
#
# Prepare here, once (wheels the GPU image lacks, and the C++/Python baselines):
#   bash ../shared/tools/device-wheels.sh 'pytest-timeout==2.4.*'
#   mkdir -p .gpu && cp ../shared/tools/*.py ../shared/tools/*.cu .gpu/ && echo /.gpu/ >> .git/info/exclude
# Then one device call, from the repo root, carrying [".whl", ".gpu"], timeout_s 540:
#   bash tools/gpu_first_run.sh
# Without a GPU (here, and in tests/test_gpu_first_run.py), every step runs and the GPU parts
# skip cleanly:
#   bash tools/gpu_first_run.sh --dry-run
#
# Steps, most valuable first; each under `timeout -k` with its own cap, and none is started once
# less than RK_MIN_STEP_S seconds of the total budget RK_BUDGET_S (default 420) are left:
#   1 env           versions, the device, one ring actor compiled (NVRTC) and loaded
#   2 smoke         one round trip, one K2K chain, a kernel seeing a host store in mapped memory
#   3 cuda_actors   the CUDA C++ actor loop: behaviour tests, driver calls beside resident actors
#   4 numba_actors  the numba.cuda actor loop: the same
#   5 bench         C++ floors (.gpu/gpu_limits.cu) and tools/bench/gpu_actors.py --quick
#   6 kernels       every other gpu test: kernels, stencils, cooperative and cluster launches
#   7 gpu_check     every corpus kernel and actor on cuda and numba against the cpu backend
# Results: $OUT (default ./gpu_first_run_out) holds summary.txt and one log per step: 8 files.
# Caps can be changed per step: RK_CAP_<STEP>=seconds (e.g. RK_CAP_BENCH=200); RK_STEPS=a,b runs
# only those steps (a second call: RK_STEPS=numba_actors,gpu_check). Every gpu test
# also has its own limit (RINGKERNEL_GPU_TEST_TIMEOUT, 45 s here; pytest-timeout's thread method
# prints each thread's stack and ends that step's run). Exit status: 1 if a step failed or timed
# out, else 0 (steps not started for lack of budget are listed in the summary).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DRY=0
[ "${1:-}" = "--dry-run" ] && DRY=1
OUT=${OUT:-$ROOT/gpu_first_run_out}
BUDGET=${RK_BUDGET_S:-420}
MIN_STEP=${RK_MIN_STEP_S:-20}
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
T0=$(date +%s)
: > "$SUMMARY"
note() { echo "$*" | tee -a "$SUMMARY"; }

# -- Python: the GPU image's, with the carried wheels first; here, the project's venv --------------
if [ -z "${PY:-}" ]; then
    if [ "$DRY" = 1 ] && [ -x "$ROOT/.venv/bin/python" ]; then PY=$ROOT/.venv/bin/python; else PY=python3; fi
fi
if [ "$DRY" = 0 ] && ls "$ROOT"/.whl/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site "$ROOT"/.whl/*.whl \
        >> "$OUT/01_env.log" 2>&1 || note "wheel install FAILED (see 01_env.log)"
    export PYTHONPATH=/tmp/site:$ROOT${PYTHONPATH:+:$PYTHONPATH}
else
    export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONUNBUFFERED=1 RINGKERNEL_GPU_TEST_TIMEOUT=${RINGKERNEL_GPU_TEST_TIMEOUT:-45}
PYTEST="$PY -m pytest -q -rfE -p no:cacheprovider -m gpu"
if ! $PY -c "import pytest_timeout" 2>/dev/null; then
    note "note: pytest-timeout is missing: gpu tests have no per-test limit, only the step caps"
    note "      (prepare with: bash ../shared/tools/device-wheels.sh 'pytest-timeout==2.4.*')"
fi
note "gpu_first_run $(date -u +%Y-%m-%dT%H:%M:%SZ) dry_run=$DRY budget=${BUDGET}s python=$($PY -c 'import sys; print(sys.version.split()[0])' 2>&1)"

FAILED=0
step() {    # step NUMBER NAME CAP COMMAND
    local num=$1 name=$2 cap=$3 cmd=$4
    local upper; upper=$(echo "$name" | tr a-z A-Z)
    local var="RK_CAP_$upper"; cap=${!var:-$cap}
    local log=$OUT/${num}_${name}.log
    if [ -n "${RK_STEPS:-}" ] && [[ ",$RK_STEPS," != *",$name,"* ]]; then
        note "$(printf '%-2s %-13s not selected (RK_STEPS)' "$num" "$name")"
        return
    fi
    local left=$(( BUDGET - ($(date +%s) - T0) ))
    if [ "$left" -lt "$MIN_STEP" ]; then
        note "$(printf '%-2s %-13s not started (budget: %ss left)' "$num" "$name" "$left")"
        return
    fi
    [ "$cap" -gt "$((left - 5))" ] && cap=$((left - 5))
    echo "+ $cmd" >> "$log"
    local s0; s0=$(date +%s)
    timeout -k 10 "$cap" bash -c "$cmd" >> "$log" 2>&1
    local rc=$? took=$(( $(date +%s) - s0 ))
    local status=ok
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then status="TIMEOUT (cap ${cap}s)"; FAILED=1
    elif [ "$rc" != 0 ]; then status="FAIL rc=$rc"; FAILED=1; fi
    local last; last=$(grep -E '(passed|failed|skipped|error|no tests ran)' "$log" | tail -n 1 | cut -c1-110)
    note "$(printf '%-2s %-13s %-22s %4ss  %s' "$num" "$name" "$status" "$took" "$last")"
}

step 01 env 90 "nvidia-smi -L 2>&1 || echo 'no nvidia-smi'; $PY - <<'EOF'
import importlib, time
for m in ('numpy', 'numba', 'numba_cuda', 'cuda.bindings', 'libcst', 'jinja2', 'pytest', 'pytest_timeout'):
    try:
        mod = importlib.import_module(m)
        print(f'{m:14s} {getattr(mod, \"__version__\", \"?\")}')
    except Exception as exc:
        print(f'{m:14s} MISSING ({type(exc).__name__}: {exc})')
from ringkernel_runtime.backends import cuda, cuda_headers
print('include dirs', cuda_headers.include_dirs())
import sys; sys.path.insert(0, 'tests/runtime')
import ring_kernels as rk
src = rk.adder.cuda_source()
t0 = time.perf_counter(); cuda.compile_cuda(src); t1 = time.perf_counter()
print(f'actor adder: NVRTC compile {1e3 * (t1 - t0):.0f} ms')
if cuda.available():
    info = cuda.device_info()
    print(f'device {info.name} {info.arch} {info.sm_count} SMs driver {info.driver_version}')
    t0 = time.perf_counter(); fn = cuda.get_kernel(src, 'rk_actor_adder'); t1 = time.perf_counter()
    print(f'actor adder: compile+load {1e3 * (t1 - t0):.0f} ms, {fn.attributes}')
else:
    print('no usable GPU:', cuda.unavailable_reason())
EOF"

step 02 smoke 75 "$PYTEST 'tests/runtime/test_gpu_actors.py::test_adder_round_trip_matches_numpy[cuda]' \
 'tests/runtime/test_gpu_actors.py::test_k2k_chain_loses_and_duplicates_nothing[cuda]' \
 tests/test_cuda_backend.py::test_kernel_sees_a_host_store_into_mapped_memory"

step 03 cuda_actors 100 "$PYTEST -s tests/runtime/test_gpu_resident.py tests/runtime/test_gpu_actors.py -k 'not numba'"

step 04 numba_actors 100 "$PYTEST -s tests/runtime/test_gpu_resident.py tests/runtime/test_gpu_actors.py -k numba"

step 05 bench 120 "if [ -f .gpu/gpu_limits.cu ] && command -v nvcc >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
   nvcc -O3 -arch=sm_90 .gpu/gpu_limits.cu -o /tmp/rk_limits && timeout 40 /tmp/rk_limits || echo 'gpu_limits: FAILED'
 else echo 'gpu_limits: skipped (needs .gpu/gpu_limits.cu, nvcc and a GPU)'; fi
 $PY tools/bench/gpu_actors.py --quick --sustain-seconds 5"

step 06 kernels 100 "$PYTEST tests/ --ignore=tests/runtime/test_gpu_actors.py --ignore=tests/runtime/test_gpu_resident.py"

step 07 gpu_check 120 "$PY tools/gpu_check.py"

note "total $(( $(date +%s) - T0 ))s; logs in $OUT"
exit $FAILED
