"""Property-based check of the front end's contract (issue #9): generated kernels (expressions over
parameters, locals and intrinsics; ifs, loops, chained comparisons, casts, indexing, tuple
assignment, and now and then something the language refuses) either raise a RingKernelError
subclass, or build on every backend: the CPU emulator runs them on small arrays, their numba.cuda
source compiles as Python and their CUDA C++ compiles with NVRTC (one batch at the end).

A bounded, derandomized sample (the same kernels every run, so a failure reproduces): set
RINGKERNEL_FUZZ_EXAMPLES for more, RINGKERNEL_FUZZ_SEED for another sample. The failing kernel's
source is printed by hypothesis (as the `source` argument) or by the NVRTC check.
"""
import hashlib
import importlib.util
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ringkernel_codegen import RingKernelError, kernel  # noqa: E402

EXAMPLES = int(os.environ.get("RINGKERNEL_FUZZ_EXAMPLES", "40"))
SEED = int(os.environ.get("RINGKERNEL_FUZZ_SEED", "0"))
N = 8  # array length; every index is reduced modulo N (or into the counter array's 4)

HEADER = """import math
import numpy as np
from ringkernel_codegen import device, f32, f64, i32, i64, u32
from ringkernel_codegen.dsl import atomic_add, atomic_max, global_id, thread_idx_x


@device
def split(p: i32, q: i32):
    return p // 3, p - q


"""
PARAMS = "a: f32[:], b: i32[:], c: i32[:], out: f32[:], iout: i32[:], n: i32, x: f32, u: u32"


class Gen:
    """Draws one kernel body. Locals are kept per kind (int / float) and per block, so most
    kernels are valid; a few productions are refused on purpose (a float index, a negative
    constant index, a literal too wide for i32, an index of the wrong rank)."""

    def __init__(self, draw):
        self.draw = draw
        self.count = 0

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def chance(self, p: float) -> bool:
        """True with probability p (False in hypothesis's minimal examples)."""
        return self.draw(st.integers(0, 99)) >= 100 - round(100 * p)

    # ------------------------------------------------------------ expressions
    def idx(self, scope, depth):
        return f"({self.int_expr(scope, depth)}) % {N}"

    def int_expr(self, scope, depth) -> str:
        leaves = ["n", "i", "3", "-2", "0", "7", "u", f"b[{self.pick(['0', 'i % 8', 'n % 8'])}]", *scope["int"]]
        if depth <= 0 or self.chance(0.3):
            return self.pick(leaves)
        d = depth - 1
        kind = self.pick(["bin", "bin", "bin", "shift", "min", "abs", "cast", "atomic", "select", "neg",
                          "load", "chainsel", "const_div"])
        if kind == "bin":
            op = self.pick(["+", "-", "*", "&", "|", "^"])
            return f"({self.int_expr(scope, d)} {op} {self.int_expr(scope, d)})"
        if kind == "shift":
            return f"({self.int_expr(scope, d)} {self.pick(['<<', '>>'])} {self.pick(['1', '2', '3'])})"
        if kind == "min":
            return f"{self.pick(['min', 'max'])}({self.int_expr(scope, d)}, {self.int_expr(scope, d)})"
        if kind == "abs":
            return f"abs({self.int_expr(scope, d)})"
        if kind == "cast":
            return f"{self.pick(['i32', 'int', 'i64'])}({self.float_expr(scope, d)})"
        if kind == "atomic":
            return f"atomic_add(c, {self.pick(['0', '1', '2', '3'])}, 1)"
        if kind == "select":
            return f"({self.int_expr(scope, d)} if {self.cond(scope, d)} else {self.int_expr(scope, d)})"
        if kind == "neg":
            return f"{self.pick(['-', '~', '--', '-~'])}{self.int_expr(scope, d)}"
        if kind == "load":
            return f"{self.pick(['b', 'iout'])}[{self.idx(scope, d)}]"
        if kind == "const_div":
            return f"({self.int_expr(scope, d)} {self.pick(['//', '%'])} {self.pick(['3', '5', '-4'])})"
        return f"(1 if {self.chain(scope, d)} else 0)"

    def float_expr(self, scope, depth) -> str:
        leaves = ["x", "0.5", "2.0", "-1.25", f"a[{self.pick(['0', 'i % 8'])}]", *scope["float"]]
        if depth <= 0 or self.chance(0.3):
            return self.pick(leaves)
        d = depth - 1
        kind = self.pick(["bin", "bin", "math", "cast", "minmax", "select", "load", "np"])
        if kind == "bin":
            op = self.pick(["+", "-", "*", "/"])
            right = self.float_expr(scope, d)
            return f"({self.float_expr(scope, d)} {op} {right + ' + 3.0' if op == '/' else right})"
        if kind == "math":
            fn = self.pick(["math.sqrt(abs({}))", "math.sin({})", "math.exp({} * 0.01)", "math.floor({})",
                            "abs({})", "math.fabs({})"])
            return fn.format(self.float_expr(scope, d))
        if kind == "np":
            fn = self.pick(["np.sqrt(np.abs({}))", "np.cos({})", "np.float32({})", "np.fmin({}, 1.5)"])
            return fn.format(self.float_expr(scope, d))
        if kind == "cast":
            return f"{self.pick(['f32', 'float', 'f64'])}({self.int_expr(scope, d)})"
        if kind == "minmax":
            return f"{self.pick(['min', 'max'])}({self.float_expr(scope, d)}, {self.float_expr(scope, d)})"
        if kind == "select":
            return f"({self.float_expr(scope, d)} if {self.cond(scope, d)} else {self.float_expr(scope, d)})"
        return f"{self.pick(['a', 'out'])}[{self.idx(scope, d)}]"

    def chain(self, scope, depth) -> str:
        """A chained comparison whose middle operand often has a side effect or reads memory."""
        middle = self.pick([f"atomic_add(c, {self.pick(['0', '1'])}, 1)", f"b[{self.idx(scope, depth)}]",
                            self.int_expr(scope, depth)])
        ops = [self.pick(["<", "<=", "<", "!="]) for _ in range(self.pick([2, 2, 3]))]
        parts = [self.int_expr(scope, depth), middle] + [self.int_expr(scope, depth) for _ in ops[1:]]
        return parts[0] + "".join(f" {o} {p}" for o, p in zip(ops, parts[1:]))

    def cond(self, scope, depth) -> str:
        d = depth - 1
        kind = self.pick(["cmp", "fcmp", "chain", "fchain", "and", "not"] if depth > 0 else ["cmp", "fcmp"])
        if kind == "cmp":
            return f"{self.int_expr(scope, d)} {self.pick(['<', '>=', '==', '!='])} {self.int_expr(scope, d)}"
        if kind == "fcmp":
            return f"{self.float_expr(scope, d)} {self.pick(['<', '>'])} {self.float_expr(scope, d)}"
        if kind == "chain":
            return self.chain(scope, d)
        if kind == "fchain":
            return f"0.0 < a[{self.idx(scope, d)}] < {self.float_expr(scope, d)}"
        if kind == "and":
            return f"({self.cond(scope, d)}) {self.pick(['and', 'or'])} ({self.cond(scope, d)})"
        return f"not ({self.cond(scope, d)})"

    def refused_on_purpose(self, scope) -> str:
        return self.pick([f"out[{self.float_expr(scope, 1)}] = 1.0", "iout[0] = b[-1]",
                          "iout[0] = max(n, 4294967295)", "atomic_add(c, (0, 1), 1)",
                          "out[i % 8] = a[i % 8, 0]", "iout[0] = n + 2 ** 70"])

    # ------------------------------------------------------------ statements
    def block(self, scope, depth, indent) -> list:
        scope = {k: list(v) for k, v in scope.items()}
        out = []
        for _ in range(self.draw(st.integers(1, 4 if depth > 0 else 2))):
            out.extend(self.stmt(scope, depth, indent))
        return out

    def stmt(self, scope, depth, indent) -> list:
        pad = "    " * indent
        e = self.pick([1, 2, 3])
        kind = self.pick(["ilocal", "flocal", "store", "istore", "aug", "if", "for", "swap", "atomic", "param",
                          "alias", "unpack", "while"]
                         if depth > 0 else ["ilocal", "flocal", "store", "istore", "aug", "atomic", "param"])
        if self.chance(0.03):
            return [pad + self.refused_on_purpose(scope)]
        if kind in ("ilocal", "flocal"):
            which = "int" if kind == "ilocal" else "float"
            self.count += 1
            name = f"{which[0]}{self.count}"
            value = self.int_expr(scope, e) if which == "int" else self.float_expr(scope, e)
            scope[which].append(name)
            return [f"{pad}{name} = {value}"]
        if kind == "store":
            return [f"{pad}out[{self.idx(scope, 1)}] = {self.float_expr(scope, e)}"]
        if kind == "istore":
            return [f"{pad}iout[{self.idx(scope, 1)}] = {self.int_expr(scope, e)}"]
        if kind == "aug":
            return [f"{pad}out[{self.idx(scope, 1)}] {self.pick(['+=', '-=', '*='])} {self.float_expr(scope, e)}"]
        if kind == "atomic":
            return [f"{pad}atomic_{self.pick(['add', 'max'])}(c, {self.pick(['0', '1', '2', '3'])}, "
                    f"{self.int_expr(scope, 1)})"]
        if kind == "param":  # a scalar parameter assigned to (it becomes a local)
            return [f"{pad}n = {self.int_expr(scope, e)}" if self.chance(0.5) else
                    f"{pad}x {self.pick(['=', '+=', '*='])} {self.float_expr(scope, e)}"]
        if kind == "alias":  # an array bound to a local name
            self.count += 1
            name = f"arr{self.count}"
            return [f"{pad}{name} = {self.pick(['a', 'out'])} if {self.cond(scope, 1)} else {self.pick(['a', 'out'])}",
                    f"{pad}{name}[{self.idx(scope, 1)}] += {self.float_expr(scope, 1)}",
                    f"{pad}out[{self.idx(scope, 1)}] = {name}[{self.idx(scope, 1)}] + f32(len({name}))"]
        if kind == "unpack":  # a @device function returning a tuple
            self.count += 1
            p, q = f"i{self.count}", f"j{self.count}"
            line = f"{pad}{p}, {q} = split({self.int_expr(scope, 1)}, {self.int_expr(scope, 1)})"
            scope["int"] += [p, q]
            return [line]
        if kind == "while":  # bounded, with a condition that may be a chained comparison
            self.count += 1
            j = f"w{self.count}"
            inner = {**scope, "int": [*scope["int"], j]}
            return [f"{pad}{j} = 0", f"{pad}while {j} < 3 and ({self.cond(scope, 2)}):", f"{pad}    {j} += 1",
                    *self.block(inner, depth - 1, indent + 1)]
        if kind == "swap":
            ints = [v for v in scope["int"] if v not in scope["loop"] and v != "i"]
            if len(ints) < 2:
                return [f"{pad}iout[i % 8], iout[(i + 1) % 8] = iout[(i + 1) % 8], {self.int_expr(scope, 1)}"]
            p, q = self.pick(ints), self.pick(ints)
            return [f"{pad}{p}, {q} = {q}, {p}"]
        if kind == "if":
            lines = [f"{pad}if {self.cond(scope, 2)}:", *self.block(scope, depth - 1, indent + 1)]
            if self.chance(0.5):
                lines += [f"{pad}else:", *self.block(scope, depth - 1, indent + 1)]
            return lines
        self.count += 1
        var = f"k{self.count}"
        inner = {"int": [*scope["int"], var], "float": scope["float"], "loop": [*scope["loop"], var]}
        return [f"{pad}for {var} in range({self.pick(['3', 'n % 4', '1, 4', '4, 0, -2'])}):",
                *self.block(inner, depth - 1, indent + 1)]


@st.composite
def kernel_sources(draw):
    gen = Gen(draw)
    body = ["    i = global_id()", *gen.block({"int": ["i"], "float": [], "loop": []}, 2, 1)]
    return "\n".join(body)


def load(body: str, folder):
    """The kernel function of `body`, from a file named by its content (stable generated sources)."""
    digest = hashlib.sha256(body.encode()).hexdigest()[:12]
    name = f"fz_{digest}"
    path = folder / f"{name}.py"
    path.write_text(f"{HEADER}def {name}({PARAMS}):\n{body}\n")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def run_cpu(k):
    rng = np.random.default_rng(1)
    a = rng.uniform(-2, 2, N).astype(np.float32)
    b = rng.integers(-50, 50, N).astype(np.int32)
    c = np.zeros(4, np.int32)
    out, iout = np.zeros(N, np.float32), np.zeros(N, np.int32)
    with np.errstate(all="ignore"):
        k.to("cpu")[1, N](a, b, c, out, iout, 5, 0.75, 7)


def split_cuda(src: str):
    head, sep, rest = src.partition('extern "C" __global__')
    return head, sep + rest


def test_generated_kernels_are_refused_cleanly_or_build_everywhere(tmp_path):
    from ringkernel_codegen.errors import BackendUnavailableError
    from ringkernel_codegen.nvrtc import compile_cuda

    built: list = []
    refusals: list = []

    @seed(SEED)
    @settings(max_examples=EXAMPLES, derandomize=(SEED == 0), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(source=kernel_sources())
    def check(source):
        fn = load(source, tmp_path)
        try:
            k = kernel(fn)
        except RingKernelError as exc:
            refusals.append(type(exc).__name__)
            return
        # anything else escaping kernel() fails the test (hypothesis prints `source`)
        compile(k.numba_source(), "<numba>", "exec")
        run_cpu(k)
        built.append((source, k.cuda_source()))

    check()
    assert built, "no generated kernel was accepted: the generator is broken"
    try:
        head = split_cuda(built[0][1])[0]
        batch, alone = [head], []
        for source, cu in built:
            h, body = split_cuda(cu)
            (batch.append(body) if h == head else alone.append((source, cu)))
        try:
            compile_cuda("\n".join(batch), arch="sm_90", cache_dir=tmp_path / "nvrtc")
        except RingKernelError:
            alone = built  # find the kernel(s) NVRTC refuses
        for source, cu in alone:
            try:
                compile_cuda(cu, arch="sm_90", cache_dir=tmp_path / "nvrtc")
            except RingKernelError as exc:
                pytest.fail(f"NVRTC refused the CUDA of an accepted kernel:\n{source}\n\n{exc}")
    except BackendUnavailableError as exc:
        pytest.skip(f"NVRTC unavailable (the CPU and numba checks passed): {exc}")
