"""The intrinsics table on its own: schema sanity, every CUDA spelling compiles, CPU spellings match
independent references (NumPy, Python math, pure-Python bit arithmetic), warp/block collectives
match a pure-Python 32-lane model. Independent of the front end and the emitters."""
from __future__ import annotations

import math
import re
import shutil
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numba
import numpy as np
import pytest

from ringkernel_codegen.abi import actor as actor_abi
from ringkernel_codegen import intrinsics
from ringkernel_codegen.emit import cpu_rt as _rt
from ringkernel_codegen.types import SCALARS

TABLE = intrinsics.table()
ENTRIES = sorted(TABLE.values(), key=lambda e: e.name)
NUM = ["i32", "u32", "i64", "u64", "f32", "f64"]
PARAM_SPECS = {"T", "E", "array", "index", "int", "dtype", "shape", *SCALARS}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def bindings(entry) -> list:
    return list(entry.T or entry.E or [None])


def spellings(entry, backend):
    """(bound type, template) for every binding of the entry."""
    return [(b, entry.spelling(backend, b)) for b in bindings(entry)]


def fill(template: str, args, **named) -> str:
    def sub(m):
        key = m.group(1)
        return str(args[int(key)]) if key.isdigit() else str(named[key])
    return PLACEHOLDER.sub(sub, template)


def kind_of(name: str) -> str:
    return SCALARS[name].kind


# ---------------------------------------------------------------------------------------------
# 1. schema sanity

def test_table_has_enough_entries():
    assert len(TABLE) >= 170


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_entry_is_well_formed(entry):
    assert entry.doc and "\n" not in entry.doc
    assert entry.kind in intrinsics.KINDS
    assert all(p in PARAM_SPECS for p in entry.params), entry.params
    assert entry.returns in {"T", "E", "void", "array", *SCALARS}
    if "T" in entry.params or entry.returns == "T":
        assert entry.T, "generic T needs an allowed-type list"
    if "E" in entry.params or entry.returns == "E":
        assert entry.E and "array" in entry.params
    assert all(t in SCALARS for t in entry.T + entry.E)
    for backend in intrinsics.BACKENDS:
        spell = entry.spellings[backend]
        if isinstance(spell, dict):
            assert set(spell) <= {*bindings(entry), "default"}, f"{backend} keys {set(spell)}"
        named = {"T", "E"}
        if backend == "cuda" and entry.kind == "alloc":
            named |= {"name", "dims"}
        if backend == "cpu" and entry.kind in ("warp_collective", "block_collective"):
            named |= {"t", "nt"}
        for bound, text in spellings(entry, backend):
            assert text.strip(), f"{backend}/{bound} empty"
            if text.startswith("unsupported"):
                assert text.startswith("unsupported: ") and len(text) > 25, f"{backend}/{bound}: give a reason"
                continue
            keys = PLACEHOLDER.findall(text)
            for key in keys:
                if key.isdigit():
                    assert int(key) < len(entry.params), f"{backend}/{bound}: {{{key}}} out of range"
                else:
                    assert key in named, f"{backend}/{bound}: unknown placeholder {{{key}}}"
            digits = [k for k in keys if k.isdigit()]
            assert len(digits) == len(set(digits)), f"{backend}/{bound}: an argument is used twice (evaluated twice)"
    assert all(entry.supported("cuda", b) for b in bindings(entry)), "every entry must exist in CUDA C++"
    if entry.kind in ("barrier", "grid_barrier"):
        assert entry.spelling("cpu") == "pass"


def test_aliases_are_unique_and_resolve():
    seen = {}
    for entry in ENTRIES:
        for alias in entry.aliases:
            assert alias not in seen, f"{alias} on {seen.get(alias)} and {entry.name}"
            seen[alias] = entry.name
    resolved = intrinsics.alias_map()
    assert resolved[id(math.sqrt)].name == "sqrt"
    assert resolved[id(min)].name == "min" and resolved[id(abs)].name == "abs"


# ---------------------------------------------------------------------------------------------
# 2. every CUDA spelling compiles with nvcc (one .cu, one compile)

C_NAMES = {name: t.c_name for name, t in SCALARS.items()}


def cuda_param_decl(spec, bound):
    if spec == "array":
        return f"{C_NAMES[bound]}*"
    if spec in ("T", "E"):
        return C_NAMES[bound]
    if spec in ("index", "int"):
        return "int"
    return C_NAMES[spec]


def cuda_test_source():
    """The .cu text and [(first line, last line, label)] of each test kernel."""
    from ringkernel_codegen.intrinsics import data_dir
    prelude = (data_dir("templates") / "cuda_prelude.cuh").read_text()
    requires = sorted({r for e in ENTRIES for r in e.cuda_requires})
    lines = [f"#include <{r}.h>" for r in requires] + prelude.splitlines()
    # what a ring handler has in scope (ring_actor.cu.j2): the context words and their RK_CTX_ names
    lines += [f"#define RK_{k} ({getattr(actor_abi, k)})" for k in dir(actor_abi) if k.startswith("CTX_")]
    spans = []
    n = 0
    for entry in ENTRIES:
        for bound, text in spellings(entry, "cuda"):
            n += 1
            label = f"{entry.name}[{bound}]" if bound else entry.name
            c_bound = C_NAMES[bound] if bound else "int"
            ret = entry.returns
            ret_c = c_bound if ret in ("T", "E") else C_NAMES.get(ret, "int")
            decls = [f"{cuda_param_decl(p, bound)} a{i}" for i, p in enumerate(entry.params)
                     if p not in ("shape", "dtype")]
            body = ["  const int _x = threadIdx.x, _y = threadIdx.y, _z = threadIdx.z; (void)_x; (void)_y; (void)_z;",
                    "  long long _rk_ctx[RK_CTX_WORDS] = {0}; (void)_rk_ctx;"]
            if entry.kind == "alloc":
                for t in NUM:
                    body.append(f"  {{ {fill(text, [], T=C_NAMES[t], name='buf', dims='[4][8]')};")
                    body.append(f"    buf[threadIdx.x % 4][threadIdx.y % 8] = ({C_NAMES[t]})1; out[0] = (int)buf[1][2]; }}")
                ret_c = "int"
            else:
                call = fill(text, [f"a{i}" for i in range(len(entry.params))], T=c_bound, E=c_bound)
                body.append(f"  {call};" if ret == "void" else f"  out[0] = ({ret_c})({call});")
            start = len(lines) + 1
            lines.append(f'extern "C" __global__ void rk_test_{n}({", ".join([f"{ret_c}* out"] + decls)}) {{')
            lines += body + ["}"]
            spans.append((start, len(lines), label))
    return "\n".join(lines) + "\n", spans


@pytest.mark.nvcc
def test_every_cuda_spelling_compiles(tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc not on PATH")
    source, spans = cuda_test_source()
    cu = tmp_path / "intrinsics_test.cu"
    cu.write_text(source)
    proc = subprocess.run([nvcc, "-arch=sm_90", "-std=c++17", "-c", str(cu), "-o", str(tmp_path / "t.o")],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        failing = set()
        for m in re.finditer(r"\((\d+)\): error", proc.stderr):
            line = int(m.group(1))
            failing |= {label for a, b, label in spans if a <= line <= b} or {f"prelude line {line}"}
        pytest.fail(f"nvcc failed for: {', '.join(sorted(failing))}\n{proc.stderr[-4000:]}")


# ---------------------------------------------------------------------------------------------
# 3. CPU semantics of expression entries vs independent references

EMU = dict(_tx=3, _ty=1, _tz=2, _bx=5, _by=0, _bz=1, _bdx=64, _bdy=2, _bdz=3, _gdx=10, _gdy=4, _gdz=2)
FLAT = 3 + 1 * 64 + 2 * 64 * 2

INDEX_REF = {
    "thread_idx_x": 3, "thread_idx_y": 1, "thread_idx_z": 2, "block_idx_x": 5, "block_idx_y": 0, "block_idx_z": 1,
    "block_dim_x": 64, "block_dim_y": 2, "block_dim_z": 3, "grid_dim_x": 10, "grid_dim_y": 4, "grid_dim_z": 2,
    "global_id": 5 * 64 + 3, "global_id_x": 5 * 64 + 3, "global_id_y": 0 * 2 + 1, "global_id_z": 1 * 3 + 2,
    "global_size": 640, "global_size_x": 640, "global_size_y": 8, "global_size_z": 6, "flat_thread_idx": FLAT,
    "block_size": 384, "lane_id": FLAT % 32, "warp_id": FLAT // 32, "warp_size": 32, "num_warps": 12,
    "lanemask_lt": (1 << (FLAT % 32)) - 1,
}

# Expression entries with a CPU spelling that the semantic checks below do not cover, and why.
CPU_EXCLUDED = {
    "cell_x": "stencil coordinate: needs the stencil skeleton's _x", "cell_y": "stencil coordinate",
    "cell_z": "stencil coordinate",
    "clock": "32-bit counter wraps; type checked in test_clocks",
    "now": "ring context word: ctx.now() is checked by the actor tests (tests/runtime/test_actors.py)",
    "actor_id": "ring context word: ctx.actor_id() is checked by the actor tests",
    **{name: "Philox: tests/test_random.py checks it against the Random123 vectors and a pure-Python Philox"
       for name in ("philox_u32", "philox_uniform_f32", "philox_uniform_f64", "philox_normal_f32", "philox_normal_f64")},
}

F_EDGE = [0.0, -0.0, 0.5, -0.75, 1.0, 2.5, -3.25, 10.0, 1e-3, 100.0, float("nan"), float("inf"), float("-inf")]
F_PAIRS = [(1.5, 2.0), (-2.5, 0.75), (0.0, -0.0), (3.0, -7.0), (-1.0, 0.0), (1e30, 1e-30), (float("nan"), 1.0),
           (2.0, float("inf")), (float("-inf"), 2.0), (5.5, 5.5), (-8.0, 1.0 / 3.0)]
F_TRIPLES = [(1.5, 2.0, -3.0), (0.1, 10.0, -1.0), (-2.0, 3.0, 6.0), (1e20, 1e20, -1e40), (0.0, float("inf"), 1.0),
             (3.0, 4.0, 12.0)]


def _c(f):
    """C semantics for Python math references: domain errors give NaN, range errors inf."""
    def g(*a):
        try:
            return f(*a)
        except ValueError:
            return float("nan")
        except OverflowError:
            return float("inf")
    return g


def _bisect(f, y, lo, hi, increasing=True):
    for _ in range(200):
        mid = (lo + hi) / 2
        if (f(mid) < y) == increasing:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _erfinv(y):
    if math.isnan(y) or abs(y) > 1:
        return math.nan
    if abs(y) == 1:
        return math.copysign(math.inf, y)
    return _bisect(math.erf, y, -10.0, 10.0)


def _erfcinv(y):
    if math.isnan(y) or y < 0 or y > 2:
        return math.nan
    if y in (0.0, 2.0):
        return math.inf if y == 0 else -math.inf
    return _bisect(math.erfc, y, -10.0, 30.0, increasing=False)


def _normcdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _normcdfinv(p):
    if math.isnan(p) or p < 0 or p > 1:
        return math.nan
    if p in (0.0, 1.0):
        return -math.inf if p == 0 else math.inf
    return -math.sqrt(2.0) * _erfcinv(2.0 * p)


def _round_away(x):
    if not math.isfinite(x):
        return x
    return math.copysign(float(Decimal(x).quantize(Decimal(1), rounding=ROUND_HALF_UP)), x)


def _fma(a, b, c):
    if not all(math.isfinite(v) for v in (a, b, c)):
        return a * b + c
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def _frexp_exp(x):
    return math.frexp(x)[1] - 1


def _logb(x):
    if math.isnan(x):
        return x
    if x == 0:
        return -math.inf
    return math.inf if math.isinf(x) else float(_frexp_exp(x))


def _ilogb(x):
    if math.isnan(x) or x == 0:
        return -2**31
    return 2**31 - 1 if math.isinf(x) else _frexp_exp(x)


def _sinpi(x):
    if not math.isfinite(x):
        return math.nan
    f = Fraction(x) % 2
    return 0.0 if f.denominator == 1 else math.sin(math.pi * float(f))


def _cospi(x):
    if not math.isfinite(x):
        return math.nan
    f = Fraction(x) % 2
    return 0.0 if f in (Fraction(1, 2), Fraction(3, 2)) else math.cos(math.pi * float(f))


def _rint(x):
    return float(np.rint(x))


FLOAT_REF = {  # name -> (reference on float64 values, inputs)
    "sqrt": (np.sqrt, F_EDGE + [-1.0]), "rsqrt": (lambda x: 1 / np.sqrt(x), F_EDGE),
    "cbrt": (np.cbrt, F_EDGE + [-27.0]), "rcbrt": (lambda x: 1 / np.cbrt(x), F_EDGE),
    "exp": (np.exp, F_EDGE), "exp2": (np.exp2, F_EDGE), "exp10": (lambda x: np.power(10.0, x), F_EDGE),
    "expm1": (np.expm1, F_EDGE + [1e-10]), "log": (np.log, F_EDGE + [-1.0]), "log2": (np.log2, F_EDGE),
    "log10": (np.log10, F_EDGE), "log1p": (np.log1p, F_EDGE + [1e-10, -1.0]),
    "sin": (np.sin, F_EDGE), "cos": (np.cos, F_EDGE), "tan": (np.tan, F_EDGE),
    "asin": (np.arcsin, F_EDGE), "acos": (np.arccos, F_EDGE), "atan": (np.arctan, F_EDGE),
    "atan2": (np.arctan2, F_PAIRS), "sinh": (np.sinh, F_EDGE), "cosh": (np.cosh, F_EDGE), "tanh": (np.tanh, F_EDGE),
    "asinh": (np.arcsinh, F_EDGE), "acosh": (np.arccosh, F_EDGE), "atanh": (np.arctanh, F_EDGE + [-1.0]),
    "pow": (np.power, F_PAIRS + [(-2.0, 3.0), (-2.0, 0.5), (0.0, -1.0)]), "hypot": (np.hypot, F_PAIRS),
    "fmin": (np.fmin, F_PAIRS), "fmax": (np.fmax, F_PAIRS), "fabs": (np.fabs, F_EDGE),
    "floor": (np.floor, F_EDGE), "ceil": (np.ceil, F_EDGE), "trunc": (np.trunc, F_EDGE),
    "round": (_round_away, F_EDGE + [2.5, -2.5, 0.49999999999999994, 1.5]), "rint": (_rint, F_EDGE + [2.5, -3.5]),
    "fma": (_fma, F_TRIPLES), "fmod": (np.fmod, F_PAIRS + [(7.5, 2.0), (-7.5, 2.0)]),
    "remainder": (_c(math.remainder), [p for p in F_PAIRS if not math.isnan(p[0])] + [(5.0, 2.0), (7.0, 2.0), (-5.5, 2.0), (1e300, 3.0)]),
    "copysign": (np.copysign, F_PAIRS), "erf": (_c(math.erf), F_EDGE), "erfc": (_c(math.erfc), F_EDGE),
    "erfinv": (_erfinv, [0.0, 0.5, -0.9, 0.999, 1.0, -1.0, 1.5, float("nan"), 1e-8]),
    "erfcinv": (_erfcinv, [1.0, 0.5, 1.9, 1e-10, 0.0, 2.0, 2.5, float("nan")]),
    "lgamma": (_c(math.lgamma), [0.5, 1.0, 2.5, 10.0, -0.5, -2.5, 100.0, float("inf"), float("nan")]),
    "tgamma": (_c(math.gamma), [0.5, 1.0, 2.5, 10.0, -0.5, -2.5, 30.0, 200.0, float("nan")]),
    "sinpi": (_sinpi, [0.0, 0.25, 0.5, 1.0, 1.5, -0.75, 2.0, 3.3, 1e6 + 0.5, float("inf")]),
    "cospi": (_cospi, [0.0, 0.25, 0.5, 1.0, 1.5, -0.75, 2.0, 3.3, 1e6 + 0.5, float("nan")]),
    "fdim": (lambda x, y: math.nan if math.isnan(x) or math.isnan(y) else (x - y if x > y else 0.0), F_PAIRS),
    "logb": (_logb, F_EDGE + [1e-310, 1024.0]), "ilogb": (_ilogb, F_EDGE + [1024.0]),
    "ldexp": (lambda x, e: _c(math.ldexp)(x, e) if math.isfinite(x) else x, [(1.5, 3), (-0.75, -2), (3.0, 0), (1.0, 2000), (float("nan"), 1)]),
    "nextafter": (np.nextafter, F_PAIRS),
    "normcdf": (_c(_normcdf), F_EDGE + [-8.0]), "normcdfinv": (_normcdfinv, [0.5, 0.975, 0.025, 1e-10, 0.0, 1.0, float("nan")]),
    "rhypot": (lambda x, y: 1 / np.hypot(x, y), F_PAIRS), "norm3d": (_c(math.hypot), F_TRIPLES),
    "rnorm3d": (lambda x, y, z: 1 / np.float64(_c(math.hypot)(x, y, z)), F_TRIPLES),
    "saturate": (lambda x: 0.0 if math.isnan(x) else min(max(x, 0.0), 1.0), F_EDGE + [0.3]),
    "fast_exp": (np.exp, F_EDGE), "fast_exp10": (lambda x: np.power(10.0, x), F_EDGE), "fast_log": (np.log, F_EDGE),
    "fast_log2": (np.log2, F_EDGE), "fast_log10": (np.log10, F_EDGE), "fast_sin": (np.sin, F_EDGE),
    "fast_cos": (np.cos, F_EDGE), "fast_tan": (np.tan, F_EDGE), "fast_pow": (np.power, F_PAIRS), "fast_div": (np.divide, F_PAIRS),
    "isnan": (np.isnan, F_EDGE), "isinf": (np.isinf, F_EDGE), "isfinite": (np.isfinite, F_EDGE),
    "signbit": (np.signbit, F_EDGE),
}
LOOSE_F64 = {"erfinv", "erfcinv", "normcdfinv", "lgamma", "tgamma", "sinpi", "cospi", "erfc", "normcdf"}


def wrap(v: int, t: str):
    bits = SCALARS[t].bits
    v &= (1 << bits) - 1
    if kind_of(t) == "i" and v >= 1 << (bits - 1):
        v -= 1 << bits
    return v


def I_EDGE(t):
    bits = SCALARS[t].bits
    raw = [0, 1, 2, 3, 0x80, 0xF0F0, -1, 1 << (bits - 1), (1 << (bits - 1)) - 1, 0x12345678, -123456789, 1 << (bits - 2)]
    return [wrap(v, t) for v in raw]


def U(v, bits):
    return v & ((1 << bits) - 1)


def _clz(v, bits):
    v = U(v, bits)
    return bits - v.bit_length()


def _ctz(v, bits):
    v = U(v, bits)
    n = 0
    while n < bits and not (v >> n) & 1:
        n += 1
    return n


def _brev(v, bits):
    return int(format(U(v, bits), f"0{bits}b")[::-1], 2)


def _byte_perm(x, y, s):
    src = (U(y, 32) << 32) | U(x, 32)
    return sum(((src >> (8 * ((s >> (4 * i)) & 7))) & 0xFF) << (8 * i) for i in range(4))


def _funnel_l(lo, hi, n, clamp):
    n = min(n, 32) if clamp else n & 31
    return (((U(hi, 32) << 32) | U(lo, 32)) << n) >> 32 & 0xFFFFFFFF


def _funnel_r(lo, hi, n, clamp):
    n = min(n, 32) if clamp else n & 31
    return (((U(hi, 32) << 32) | U(lo, 32)) >> n) & 0xFFFFFFFF


def _mulhi(a, b, t):
    bits = SCALARS[t].bits
    return wrap((a * b) >> bits, t)


def _rot(v, n, bits, left):
    n %= bits
    v = U(v, bits)
    r = (v << n) | (v >> (bits - n)) if left else (v >> n) | (v << (bits - n))
    return r & ((1 << bits) - 1)


INT_REF = {  # name -> reference(t, *python ints)
    "popc": lambda t, x: bin(U(x, SCALARS[t].bits)).count("1"),
    "clz": lambda t, x: _clz(x, SCALARS[t].bits),
    "ctz": lambda t, x: _ctz(x, SCALARS[t].bits),
    "ffs": lambda t, x: 0 if U(x, SCALARS[t].bits) == 0 else _ctz(x, SCALARS[t].bits) + 1,
    "brev": lambda t, x: wrap(_brev(x, SCALARS[t].bits), t),
    "mul_hi": lambda t, a, b: _mulhi(a, b, t),
    "hadd": lambda t, a, b: wrap((a + b) >> 1, t), "rhadd": lambda t, a, b: wrap((a + b + 1) >> 1, t),
    "sad": lambda t, a, b, c: U(abs(a - b) + c, 32),
    "rotl": lambda t, x, n: _rot(x, n, SCALARS[t].bits, True), "rotr": lambda t, x, n: _rot(x, n, SCALARS[t].bits, False),
    "byte_perm": lambda t, x, y, s: _byte_perm(x, y, s),
    "funnelshift_l": lambda t, lo, hi, n: _funnel_l(lo, hi, n, False), "funnelshift_lc": lambda t, lo, hi, n: _funnel_l(lo, hi, n, True),
    "funnelshift_r": lambda t, lo, hi, n: _funnel_r(lo, hi, n, False), "funnelshift_rc": lambda t, lo, hi, n: _funnel_r(lo, hi, n, True),
    "min": lambda t, a, b: min(a, b), "max": lambda t, a, b: max(a, b), "abs": lambda t, a: wrap(abs(a), t),
}

ATOMIC_REF = {  # op -> new value from (old, value, compare) as Python numbers, before wrapping
    "add": lambda o, v, c: o + v, "sub": lambda o, v, c: o - v, "min": lambda o, v, c: v if v < o else o,
    "max": lambda o, v, c: v if v > o else o, "exch": lambda o, v, c: v, "cas": lambda o, v, c: v if o == c else o,
    "and": lambda o, v, c: o & v, "or": lambda o, v, c: o | v, "xor": lambda o, v, c: o ^ v,
    "inc": lambda o, v, c: 0 if o >= v else o + 1, "dec": lambda o, v, c: v if o == 0 or o > v else o - 1,
}

FLOAT_ALT = {"min": (np.fmin, F_PAIRS), "max": (np.fmax, F_PAIRS), "abs": (np.fabs, F_EDGE)}

LOADS = {"ldg", "load_acquire", "load_acquire_system", "load_volatile"}

BITCAST_REF = {
    "float_as_int": ("f32", "i32"), "float_as_uint": ("f32", "u32"), "int_as_float": ("i32", "f32"),
    "uint_as_float": ("u32", "f32"), "double_as_longlong": ("f64", "i64"), "longlong_as_double": ("i64", "f64"),
}


def np_lit(value, t: str) -> str:
    """A numba-compilable literal of type t."""
    if kind_of(t) == "f":
        if math.isnan(value):
            return f"np.{SCALARS[t].numba_name}(np.nan)"
        if math.isinf(value):
            return f"np.{SCALARS[t].numba_name}({'-' if value < 0 else ''}np.inf)"
        return f"np.{SCALARS[t].numba_name}({float(value)!r})"
    if kind_of(t) == "b":
        return "True" if value else "False"
    return f"np.{SCALARS[t].numba_name}({int(value)})"


def expr_cases(entry):
    """[(binding, [typed args], expected)] for an expression entry, from the references above."""
    cases = []
    name = entry.name
    if name in INDEX_REF:
        return [(None, [], INDEX_REF[name])]
    if name in LOADS:
        for t in entry.E:
            for v in (atomic_inputs(t, "add")[0][0], atomic_inputs(t, "add")[1][0]):
                cases.append((t, [v, v, v], (v, v)))
        return cases
    if name.startswith("atomic_"):
        op = name.split("_")[1]
        for t in entry.E:
            for old, v, c in atomic_inputs(t, op):
                new = ATOMIC_REF[op](old, v, c)
                new = float(np.dtype(SCALARS[t].np_dtype).type(new)) if kind_of(t) == "f" else wrap(new, t)
                cases.append((t, [old, v, c], (old, new)))
        return cases
    if name in BITCAST_REF:
        src, dst = BITCAST_REF[name]
        for v in ([1.0, -2.5, 0.0, float("inf")] if kind_of(src) == "f" else I_EDGE(src)):
            raw = np.array([v], SCALARS[src].np_dtype).view(SCALARS[dst].np_dtype)[0]
            cases.append((None, [(v, src)], raw.item()))
        return cases
    if name in FLOAT_REF and set(bindings(entry)) <= {"f32", "f64"} or name in FLOAT_REF and list(entry.params) == ["f32"] * len(entry.params):
        ref, inputs = FLOAT_REF[name]
        for t in (entry.T or ["f32"]):
            dt = SCALARS[t].np_dtype
            for args in inputs:
                args = args if isinstance(args, tuple) else (args,)
                with np.errstate(all="ignore"):
                    typed = [float(dt.type(a)) if p in ("T", "f32", "f64") else a for a, p in zip(args, entry.params)]
                with np.errstate(all="ignore"):
                    exp = ref(*typed) if name != "nextafter" else np.nextafter(dt.type(typed[0]), dt.type(typed[1]))
                if entry.returns in ("T", "f32", "f64"):
                    with np.errstate(all="ignore"):
                        exp = float(dt.type(exp))
                cases.append((t, [(a, p if p not in ("T",) else t) for a, p in zip(typed, entry.params)], exp))
        return cases
    if name in INT_REF:
        for b in bindings(entry):
            t = b or entry.returns
            if kind_of(t) == "f":  # min/max/abs on floats
                ref, inputs = FLOAT_ALT[name]
                dt = SCALARS[t].np_dtype
                for args in inputs:
                    args = args if isinstance(args, tuple) else (args,)
                    typed = [float(dt.type(a)) for a in args]
                    cases.append((t, [(a, t) for a in typed], float(dt.type(ref(*typed)))))
                continue
            for args in int_inputs(entry, t):
                exp = INT_REF[name](t, *args)
                cases.append((b, [(a, p if p != "T" else t) for a, p in zip(args, entry.params)], exp))
        return cases
    return None


def atomic_inputs(t, op):
    if kind_of(t) == "f":
        base = [(1.5, 2.25, 1.5), (-3.0, 0.5, 0.0), (1e30, -1e30, 1e30), (2.0, float("nan"), 2.0)]
        return base
    big = I_EDGE(t)
    rows = [(big[i], big[(i * 5 + 3) % len(big)], big[i] if i % 2 else big[(i + 1) % len(big)]) for i in range(len(big))]
    if op in ("inc", "dec"):
        rows += [(5, 5, 0), (0, 7, 0), (9, 4, 0), (3, 10, 0)]
    return rows


def int_inputs(entry, t):
    n = len(entry.params)
    if entry.params[0] == "u32" and n == 3:  # byte_perm, funnel shifts: (x, y, selector/shift)
        xs = [0x33221100, 0xDEADBEEF, 0, 0xFFFFFFFF]
        return [(x, y, s) for x in xs[:2] for y in (0x77665544, 0x80000001) for s in (0, 1, 5, 31, 32, 33, 0x7531, 0x3210, 0xFFFF)]
    edge = I_EDGE(t)
    if n == 1:
        return [(v,) for v in edge]
    if entry.params[1] == "u32" and n == 2:  # rotates
        return [(v, s) for v in edge[:6] for s in (0, 1, 7, 31, 32, 33, 63, 64)]
    if n == 2:
        return [(a, b) for a in edge[::2] for b in edge[1::3]]
    return [(a, b, c) for a in edge[::3] for b in edge[1::4] for c in (0, 7, 0xFFFFFFFF)]


CHECKED = [e for e in ENTRIES if e.kind == "expr" and e.returns != "void" and e.supported("cpu")
           and e.name not in CPU_EXCLUDED and not e.name.startswith(("clock", "globaltimer"))]


def test_cpu_checks_cover_every_expr_entry():
    uncovered = [e.name for e in CHECKED if expr_cases(e) is None]
    assert not uncovered, f"expr entries with a cpu spelling but no CPU reference: {uncovered}"


def cpu_results(entry):
    """Run every case of an entry through one njit function (a loop per type binding).
    Returns [(f64 result, f64 array-after, i64 result, i64 array-after)] in case order."""
    cases = expr_cases(entry)
    groups = {}
    for i, (bound, args, _) in enumerate(cases):
        groups.setdefault(bound, []).append(i)
    params, arrays, lines = [], [], []
    lines += [f"    {k} = {v}" for k, v in EMU.items()]
    for g, (bound, idxs) in enumerate(groups.items()):
        tmpl = entry.spelling("cpu", bound)
        T = f"np.{SCALARS[bound].numba_name}" if bound else "np.int32"
        n = len(idxs)
        outs = [f"_o{g}_{k}" for k in range(4)]
        arrays += [np.zeros(n, np.float64), np.zeros(n, np.float64), np.zeros(n, np.int64), np.zeros(n, np.int64)]
        params += outs
        if "array" in entry.params:
            dt = SCALARS[bound].np_dtype
            cols = list(zip(*[cases[i][1] for i in idxs]))  # old, value, compare
            for k, col in enumerate(cols):
                with np.errstate(all="ignore"):
                    arrays.append(np.array(col, dtype=dt))
                params.append(f"_x{g}_{k}")
            is_int = kind_of(bound) != "f"
            cmp_ = f"_x{g}_2[_i]" if entry.name.startswith("atomic_cas") else f"_x{g}_1[_i]"
            call = fill(tmpl, ["_a", "0", cmp_, f"_x{g}_1[_i]"][:len(entry.params)], T=T, E=T)
            lines += [f"    for _i in range({n}):", f"        _a = np.empty(1, _x{g}_0.dtype)", f"        _a[0] = _x{g}_0[_i]",
                      f"        _r = {call}",
                      f"        {outs[0]}[_i] = np.float64(_r)", f"        {outs[1]}[_i] = np.float64(_a[0])"]
            if is_int:
                lines += [f"        {outs[2]}[_i] = np.int64(_r)", f"        {outs[3]}[_i] = np.int64(_a[0])"]
        else:
            nargs = len(entry.params)
            names = []
            for k in range(nargs):
                col = [cases[i][1][k] for i in idxs]
                t = col[0][1]
                with np.errstate(all="ignore"):
                    arrays.append(np.array([v for v, _ in col], dtype=SCALARS[t].np_dtype))
                params.append(f"_x{g}_{k}")
                names.append(f"_x{g}_{k}[_i]")
            rt = bound if entry.returns in ("T", "E") else entry.returns
            call = fill(tmpl, names, T=T, E=T)
            lines += [f"    for _i in range({n}):", f"        _r = {call}", f"        {outs[0]}[_i] = np.float64(_r)"]
            if rt not in ("f32", "f64"):
                lines.append(f"        {outs[2]}[_i] = np.int64(_r)")
    src = f"def _check({', '.join(params)}):\n" + "\n".join(lines) + "\n"
    ns = {"np": np, "math": math, "_rt": _rt}
    exec(compile(src, f"<cpu check {entry.name}>", "exec"), ns)
    numba.njit(error_model="numpy")(ns["_check"])(*arrays)
    rows = [None] * len(cases)
    pos = 0
    for g, (bound, idxs) in enumerate(groups.items()):
        outs = arrays[pos:pos + 4]
        pos += 4 + (len(cases[idxs[0]][1]) if True else 0)
        for j, i in enumerate(idxs):
            rows[i] = (outs[0][j], outs[1][j], int(outs[2][j]), int(outs[3][j]))
    return rows


def close(got, exp, t, name):
    """Within a few ulp of the reference (f32 results come from an f64 reference rounded to f32)."""
    exp = float(exp)
    if math.isnan(exp):
        return math.isnan(got)
    if math.isinf(exp) or name in EXACT:
        return got == exp
    rtol = 2e-6 if t == "f32" else (1e-12 if name in LOOSE_F64 else 4e-15)
    atol = 3e-45 if t == "f32" else 1e-320  # subnormal results: one or two ulp absolute
    if name in LOOSE_F64:
        atol = 1e-15  # bisection references near a zero of the function
    if name.startswith("fast_"):
        rtol = 1e-5
    return abs(got - exp) <= rtol * abs(exp) + atol


EXACT = {"nextafter", "fmin", "fmax", "fabs", "floor", "ceil", "trunc", "round", "rint", "fmod", "remainder", "copysign",
         "fma", "ldexp", "sqrt", "fdim", "logb", "saturate", "min", "max", "abs"}


@pytest.mark.parametrize("entry", CHECKED, ids=lambda e: e.name)
def test_cpu_spelling_matches_reference(entry):
    rows = cpu_results(entry)
    bad = []
    ret = entry.returns
    for i, (bound, args, exp) in enumerate(expr_cases(entry)):
        f, f2, n, n2 = rows[i]
        if "array" in entry.params:
            old, new = exp
            if kind_of(bound) == "f":
                ok = close(f, old, bound, entry.name) and close(f2, new, bound, entry.name)
                got = (f, f2)
            else:
                got = (wrap(int(n), bound), wrap(int(n2), bound))
                ok = got == (old, new)
        else:
            rt = bound if ret in ("T", "E") else ret
            if rt in ("f32", "f64"):
                ok, got = close(f, exp, rt, entry.name), f
            elif rt == "boolean":
                ok, got = bool(f) == bool(exp), bool(f)
            else:
                got = wrap(int(n), rt)
                ok = got == wrap(int(exp), rt)
        if not ok:
            bad.append(f"{entry.name}[{bound}]{[a for a in args]}: got {got}, expected {exp}")
    assert not bad, "\n".join(bad[:10])


def test_clocks_are_monotonic_and_typed():
    @numba.njit
    def sample():
        a = _rt.clock64()
        b = _rt.globaltimer()
        s = 0.0
        for i in range(100000):
            s += math.sqrt(i)
        c = _rt.clock64()
        d = _rt.globaltimer()
        return a, b, c, d, _rt.clock32(), s
    a, b, c, d, lo, _ = sample()
    assert c > a and d > b
    assert 0 <= lo < 2**32
    assert _rt.clock32.nopython_signatures[0].return_type == numba.uint32
    assert _rt.clock64.nopython_signatures[0].return_type == numba.uint64
    assert _rt.globaltimer.nopython_signatures[0].return_type == numba.uint64


VOID_RUN_ELSEWHERE = {"philox4x32": "writes four u32 words: tests/test_random.py runs it against the Random123 vectors"}


def test_void_expressions_run_on_cpu():
    """Fences, sleeps and ordered stores must at least compile and run in the emulator."""
    lines = ["def _batch(arr):"] + [f"    {k} = {v}" for k, v in EMU.items()]
    for e in ENTRIES:
        if e.kind == "expr" and e.returns == "void" and e.name not in VOID_RUN_ELSEWHERE:
            args = ["arr", "1", "np.float32(7.0)"][:len(e.params)] if "array" in e.params else ["np.uint32(1)"] * len(e.params)
            lines.append("    " + fill(e.spelling("cpu", "f32"), args, T="np.float32", E="np.float32"))
    ns = {"np": np, "math": math, "_rt": _rt}
    exec("\n".join(lines), ns)
    arr = np.zeros(4, np.float32)
    numba.njit(ns["_batch"])(arr)
    assert arr[1] == 7.0


# ---------------------------------------------------------------------------------------------
# 4. warp and block collectives on the CPU vs a pure-Python 32-lane model

SIZES = [32, 64, 48]


def warp_of(t, nt):
    base = t - t % 32
    return base, min(32, nt - base)


def values_for(t, nt):
    rng = np.random.default_rng(nt)
    if kind_of(t) == "f":
        return rng.normal(size=nt).astype(SCALARS[t].np_dtype)
    return np.array([wrap(int(v), t) for v in rng.integers(-50, 50, nt)], dtype=SCALARS[t].np_dtype)


def ref_shfl(mode, vals, arg, t, nt):
    base, n = warp_of(t, nt)
    lane = t - base
    j = {"idx": arg & 31, "up": lane - arg, "down": lane + arg, "xor": lane ^ arg}[mode]
    return vals[base + j] if 0 <= j < n else vals[t]


@pytest.mark.parametrize("nt", SIZES)
@pytest.mark.parametrize("t", NUM)
@pytest.mark.parametrize("mode,fn", [("idx", _rt.shfl_idx), ("up", _rt.shfl_up), ("down", _rt.shfl_down), ("xor", _rt.shfl_xor)])
def test_shuffles(mode, fn, t, nt):
    vals = values_for(t, nt)
    for arg in (0, 1, 5, 16, 31, 40):
        args = np.full(nt, arg, np.int32)
        got = [fn(vals, args, i, nt) for i in range(nt)]
        assert got == [ref_shfl(mode, vals, arg, i, nt) for i in range(nt)], (mode, arg)


MASKS = [0xFFFFFFFF, 0x0000FFFF, 0xAAAAAAAA, 0x1]


def lanes_in(mask, t, nt):
    base, n = warp_of(t, nt)
    return [base + i for i in range(n) if mask >> i & 1]


@pytest.mark.parametrize("nt", SIZES)
def test_votes_and_matches(nt):
    pred = (np.arange(nt) % 3 == 0).astype(np.int32)
    vals = (np.arange(nt) % 4).astype(np.int64)
    for mask in MASKS:
        m = np.full(nt, mask, np.uint32)
        for t in range(nt):
            lanes = lanes_in(mask, t, nt)
            base = t - t % 32
            ballot = sum(1 << (i - base) for i in lanes if pred[i])
            assert _rt.ballot(m, pred, t, nt) == ballot
            assert _rt.any_sync(m, pred, t, nt) == int(ballot != 0)
            assert _rt.all_sync(m, pred, t, nt) == int(all(pred[i] for i in lanes))
            assert _rt.match_any(m, vals, t, nt) == sum(1 << (i - base) for i in lanes if vals[i] == vals[t])
            same = all(vals[i] == vals[t] for i in lanes)
            assert _rt.match_all(m, vals, t, nt) == (sum(1 << (i - base) for i in lanes) if same else 0)
            assert _rt.activemask(t, nt) == (1 << warp_of(t, nt)[1]) - 1


@pytest.mark.parametrize("nt", SIZES)
@pytest.mark.parametrize("t", ["i32", "u32"])
def test_warp_reduce_sync(t, nt):
    vals = values_for(t, nt)
    ops = {"add": (_rt.reduce_add, lambda a, b: a + b), "min": (_rt.reduce_min, min), "max": (_rt.reduce_max, max),
           "and": (_rt.reduce_and, lambda a, b: a & b), "or": (_rt.reduce_or, lambda a, b: a | b),
           "xor": (_rt.reduce_xor, lambda a, b: a ^ b)}
    for mask in MASKS:
        m = np.full(nt, mask, np.uint32)
        for name, (fn, op) in ops.items():
            for tid in range(nt):
                lanes = lanes_in(mask, tid, nt)
                if not lanes:
                    continue
                acc = int(vals[lanes[0]])
                for i in lanes[1:]:
                    acc = op(acc, int(vals[i]))
                assert int(fn(m, vals, tid, nt)) == wrap(acc, t), (name, hex(mask), tid)


@pytest.mark.parametrize("nt", SIZES)
@pytest.mark.parametrize("t", NUM)
def test_warp_and_block_reductions(t, nt):
    vals = values_for(t, nt)
    if kind_of(t) == "f":
        vals[3] = np.nan  # min/max ignore NaN like fminf/fmaxf
    for tid in range(nt):
        base, n = warp_of(tid, nt)
        for fn, blk, op in ((_rt.warp_reduce_sum, _rt.block_reduce_sum, "sum"), (_rt.warp_reduce_min, _rt.block_reduce_min, "min"),
                            (_rt.warp_reduce_max, _rt.block_reduce_max, "max")):
            for got, seg in ((fn(vals, tid, nt), vals[base:base + n]), (blk(vals, nt), vals[:nt])):
                if op == "sum":
                    exp = seg.astype(np.float64).sum() if kind_of(t) == "f" else wrap(sum(int(v) for v in seg), t)
                else:
                    exp = (np.nanmin if op == "min" else np.nanmax)(seg) if kind_of(t) == "f" else (min if op == "min" else max)(seg)
                if kind_of(t) == "f" and op == "sum":
                    if np.isnan(exp):
                        assert np.isnan(got)
                    else:
                        assert got == pytest.approx(exp, rel=1e-5, abs=1e-5)
                else:
                    assert got == exp, (op, tid)


@pytest.mark.parametrize("nt", SIZES + [1, 100])
def test_syncthreads_votes(nt):
    for pred in (np.zeros(nt, np.int32), np.ones(nt, np.int32), (np.arange(nt) % 5 == 1).astype(np.int32)):
        count = int(sum(1 for p in pred if p))
        assert _rt.syncthreads_count(pred, nt) == count
        assert _rt.syncthreads_and(pred, nt) == int(count == nt)
        assert _rt.syncthreads_or(pred, nt) == int(count > 0)


def test_collective_cpu_spellings_name_existing_helpers():
    """Every warp/block collective's CPU spelling calls an _rt function that exists."""
    for e in ENTRIES:
        if e.kind in ("warp_collective", "block_collective"):
            for _, text in spellings(e, "cpu"):
                m = re.match(r"_rt\.(\w+)\(", text)
                assert m and hasattr(_rt, m.group(1)), (e.name, text)


# ---------------------------------------------------------------------------------------------
# 5. every numba spelling compiles to PTX (numba's NVVM; no GPU needed)

NB_TYPES = {n: getattr(numba.types, s.numba_name) for n, s in SCALARS.items()}


def numba_kernel(entry, bound, template):
    """(python source of a kernel using the spelling, its signature)."""
    params, sig, args = [], [], []
    for i, p in enumerate(entry.params):
        if p == "shape":
            args.append("(4, 8)")
        elif p == "dtype":
            args.append(f"numba.{SCALARS[bound or 'f32'].numba_name}")
        else:
            ty = {"array": NB_TYPES[bound][:] if bound else None, "T": NB_TYPES.get(bound), "E": NB_TYPES.get(bound),
                  "index": numba.types.int32, "int": numba.types.int32}.get(p) or NB_TYPES[p]
            params.append(f"a{i}")
            sig.append(ty)
            args.append(f"a{i}")
    call = fill(template, args, T=f"numba.{SCALARS[bound].numba_name}" if bound else "numba.int32", E="")
    if entry.kind == "alloc":
        body, out = f"    buf = {call}\n    buf[0, 0] = 1\n    out[0] = buf[1, 1]", NB_TYPES[bound or "f32"][:]
    elif entry.returns == "void":
        body, out = f"    {call}", numba.types.int32[:]
    else:
        ret = bound if entry.returns in ("T", "E") else entry.returns
        body, out = f"    out[0] = {call}", NB_TYPES.get(ret, numba.types.int32)[:]
    return f"def k(out, {', '.join(params)}):\n{body}\n", tuple([out] + sig)


NUMBA_CASES = [(e, b) for e in ENTRIES if not e.scope for b in bindings(e) if e.supported("numba", b)]


@pytest.mark.parametrize("entry", sorted({e for e, _ in NUMBA_CASES}, key=lambda e: e.name), ids=lambda e: e.name)
def test_numba_spelling_compiles_to_ptx(entry):
    cuda = pytest.importorskip("numba.cuda")
    from ringkernel_codegen.emit import numba_rt
    needs_driver, bad = [], []
    for bound in bindings(entry):
        if not entry.supported("numba", bound):
            continue
        src, sig = numba_kernel(entry, bound, entry.spelling("numba", bound))
        ns = {"cuda": cuda, "math": math, "numba": numba, "_nrt": numba_rt}
        exec(src, ns)
        try:
            cuda.compile_ptx(ns["k"], sig, cc=(9, 0))
        except cuda.CudaSupportError:  # cache hints, warpsize, cg query the driver even to compile
            needs_driver.append(bound)
        except Exception as exc:  # noqa: BLE001 - named in the failure message
            if "NVVM" in type(exc).__name__ or "libNVVM" in str(exc):
                pytest.skip(f"numba's NVVM is unavailable: {exc}")
            bad.append(f"{entry.name}[{bound}]: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
    assert not bad, "\n".join(bad)
    if needs_driver and not bad:
        pytest.skip(f"compiling {entry.name} needs a CUDA driver here ({needs_driver})")
