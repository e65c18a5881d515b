"""The IR declares what it carries (issue #8 item 5): verify() catches each kind of broken tree, every
corpus kernel verifies after every pass with no attribute a node class does not declare, the
visitor/rewriter go over exactly the declared children, and no emitter changes the IR it is given."""
import glob
import importlib
import importlib.util
import os
import sys
from dataclasses import fields

import pytest

from ringkernel_codegen import Field1D, Field3D, KernelBase, backends, f32, kernel, stencil
from ringkernel_codegen.errors import CodegenError, Span
from ringkernel_codegen.ir import nodes as ir
from ringkernel_codegen.ir.verify import verify
from ringkernel_codegen.ir.visit import Rewriter, Visitor, child_slots, map_children
from ringkernel_codegen.ring import RingKernel
from tests.kernels import objects_of
from ringkernel_codegen import types as T

HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(HERE, "kernels", "*_kernels.py")))


def _ring_kernels():
    """tests/runtime/ring_kernels.py, the module the runtime tests import as `ring_kernels` (tests/runtime
    is not a package): the same module object, loaded from its file if they have not yet."""
    module = sys.modules.get("ring_kernels")
    if module is None:
        spec = importlib.util.spec_from_file_location("ring_kernels", os.path.join(HERE, "runtime", "ring_kernels.py"))
        module = sys.modules["ring_kernels"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def corpus():
    """(label, kernel object) for every @kernel/@stencil of tests/kernels and every ring kernel of
    tests/runtime/ring_kernels.py."""
    out = []
    modules = [importlib.import_module(f"tests.kernels.{name}") for name in MODULES] + [_ring_kernels()]
    for module in modules:
        for var, key, k in objects_of(module, (KernelBase, RingKernel)):
            out.append((f"{module.__name__.rsplit('.', 1)[-1]}.{var}" + ("" if key is None else f"[{key}]"), k))
    return out


CORPUS = corpus()


def _span(line=1):
    return Span("t.py", line, 1, "x")


def _typed_fn(body, locals_=None):
    f = ir.Function("t", [ir.Param("a", T.ArrayType(T.f32, 1), span=_span())], body, span=_span())
    f.locals = dict(locals_ or {})
    return f


def _var(name, t=T.i32):
    v = ir.Var(name, span=_span())
    v.type = t
    return v


# ------------------------------------------------------------------ verify catches broken trees
def test_verify_accepts_a_well_formed_typed_function():
    x = _var("x")
    f = _typed_fn([ir.Assign("x", _var("x"), span=_span()),
                   ir.Store(_var("a", T.ArrayType(T.f32, 1)), [x], ir.Cast(_var("x"), type=T.f32), span=_span())],
                  {"x": T.i32})
    verify(f, "typed")


@pytest.mark.parametrize("case", ["shared_node", "untyped", "front_end_node", "stmt_in_expr_slot", "plain_str_op",
                                  "untyped_local", "condition_not_bool"])
def test_verify_refuses_each_kind_of_broken_tree(case):
    x = _var("x")
    body = [ir.Assign("x", _var("x"), span=_span())]
    locals_ = {"x": T.i32}
    if case == "shared_node":
        body.append(ir.Assign("x", x, span=_span(2)))
        body.append(ir.Assign("x", x, span=_span(3)))        # one object in two places
    elif case == "untyped":
        body.append(ir.Assign("x", ir.Var("x", span=_span(2)), span=_span(2)))
    elif case == "front_end_node":
        body.append(ir.ExprStmt(ir.Name("y", type=T.i32, span=_span(2)), span=_span(2)))
    elif case == "stmt_in_expr_slot":
        body.append(ir.Assign("x", ir.Pass(span=_span(2)), span=_span(2)))
    elif case == "plain_str_op":
        b = ir.BinOp("+", _var("x"), _var("x"), type=T.i32, span=_span(2))
        b.op = "+"                                           # set after construction, bypassing the enum
        body.append(ir.Assign("x", b, span=_span(2)))
    elif case == "untyped_local":
        body.append(ir.Assign("z", _var("x"), span=_span(2)))
    elif case == "condition_not_bool":
        body.append(ir.Assign("x", ir.Compare("<", _var("x"), _var("x"), type=T.i32, span=_span(2)), span=_span(2)))
    with pytest.raises(AssertionError, match="IR verify"):
        verify(_typed_fn(body, locals_), "typed")


def test_operators_kinds_and_spaces_are_enums_that_spell_as_before():
    b = ir.BinOp("//", _var("x"), _var("x"))
    assert b.op is ir.BinaryOperator.FLOORDIV and b.op == "//" and f"{b.op}" == "//" and {"//": 1}[b.op] == 1
    assert ir.Compare("<=", _var("x"), _var("x")).op is ir.CompareOperator.LE
    assert ir.Function("f", [], []).kind is ir.FunctionKind.KERNEL
    with pytest.raises(ValueError):
        ir.BinOp("@", _var("x"), _var("x"))
    with pytest.raises(ValueError):
        ir.Alloc("s", "global", (4,), T.f32)
    # the intrinsic table's parameter and return specs and kinds too (intrinsics.py loads them as enums)
    from ringkernel_codegen.intrinsics import IntrinsicKind, ParamSpec, ReturnSpec, table
    add = table()["atomic_add"]
    assert add.params[0] is ParamSpec.ARRAY and add.params[0] == "array" and isinstance(add.returns, ReturnSpec)
    assert table()["sync_threads"].kind is IntrinsicKind.BARRIER
    assert all(isinstance(p, ParamSpec) for e in table().values() for p in e.params)


def test_a_pass_that_breaks_the_ir_fails_at_compile_time_as_an_internal_error(monkeypatch):
    """compile.py verifies between passes (the suite runs with RINGKERNEL_VERIFY_IR=1): an IR a pass
    broke is reported at once, as a ringkernel bug, not later in an emitter or in numba."""
    from ringkernel_codegen.passes import validate
    assert os.environ.get("RINGKERNEL_VERIFY_IR") == "1"
    real = validate.mark_readonly

    def breaking(f):
        real(f)
        f.body.append(f.body[-1])                            # the same statement object twice

    monkeypatch.setattr(validate, "mark_readonly", breaking)

    def k(a: f32[:]):
        a[0] = 1.0

    with pytest.raises(CodegenError, match="IR verify.*appears twice.*ringkernel bug|IR verify"):
        kernel(k)


# ------------------------------------------------------------------ the corpus
@pytest.mark.parametrize("label,k", CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_ir_verifies_and_carries_only_declared_attributes(label, k):
    f = k._f
    verify(f, "typed")
    for node in ir.walk(f):
        declared = {fl.name for fl in fields(node)}
        assert set(vars(node)) <= declared, f"{type(node).__name__} carries {set(vars(node)) - declared}"
        children = {name for name, _ in type(node).CHILDREN}
        for fl in fields(node):
            if fl.name not in children:
                assert not _holds_node(getattr(node, fl.name)), \
                    f"{type(node).__name__}.{fl.name} holds IR nodes but is not declared in CHILDREN"


def _holds_node(v) -> bool:
    if isinstance(v, ir.Node):
        return True
    if isinstance(v, (list, tuple)):
        return any(_holds_node(x) for x in v)
    if isinstance(v, dict):
        return any(_holds_node(x) for x in v.values())
    return False


def _fingerprint(f):
    out = []
    for node in ir.walk(f):
        state = {name: (v if not isinstance(v, (ir.Node, list, dict)) else
                        [id(x) for x in (v if isinstance(v, list) else v.values() if isinstance(v, dict) else [v])])
                 for name, v in vars(node).items()}
        out.append((type(node).__name__, id(node), repr(sorted(state.items()))))
    return out


@pytest.mark.parametrize("label,k", CORPUS, ids=[c[0] for c in CORPUS])
def test_no_emitter_changes_the_ir_it_is_given(label, k):
    before = _fingerprint(k._f)
    for b in (backends.get(n) for n in backends.names()):
        try:
            k._sources.clear()                           # emit afresh (sources are cached per backend)
            k.source(b.name)
        except CodegenError:
            pass                                             # a refusal (e.g. numba and cluster_sync) is fine
        assert _fingerprint(k._f) == before, f"emitting {label} for {b.name} changed its IR"


# ------------------------------------------------------------------ visitor and rewriter
def test_visitor_and_rewriter_go_over_exactly_the_declared_children():
    # x = a[i] + (1 if c else 2); then replace every Var named i by j, and drop Pass statements
    load = ir.Load(ir.Var("a"), [ir.Var("i")])
    sel = ir.Select(ir.Var("c"), ir.Const(1), ir.Const(2))
    body = [ir.Assign("x", ir.BinOp("+", load, sel)), ir.Pass(), ir.If(ir.Var("i"), [ir.Pass()], [])]

    seen = []

    class Names(Visitor):
        def visit_Var(self, e):
            seen.append(e.name)

    for s in body:
        Names().visit(s)
    assert seen == ["a", "i", "c", "i"]                      # evaluation order, CHILDREN order

    class Rename(Rewriter):
        def visit_Var(self, e):
            return ir.Var("j") if e.name == "i" else e

        def visit_Pass(self, s):
            return None

    out = Rename().visit_block(body)
    assert [type(s).__name__ for s in out] == ["Assign", "If"] and out[1].body == []
    assert out[0].value.left.indices[0].name == "j" and out[1].cond.name == "j"
    assert [name for name, _, _ in child_slots(out[0].value.right)] == ["cond", "then", "orelse"]
    doubled = map_children(ir.BinOp("*", ir.Const(3), ir.Const(4)), lambda c: ir.Const(c.value * 2))
    assert (doubled.left.value, doubled.right.value) == (6, 8)


# ------------------------------------------------------------------ the stencil iteration space
def test_stencil_iteration_space_is_ir_and_every_backend_maps_only_it():
    """passes/stencil.py makes the cells a stencil computes an IterationSpace (per axis: coordinate,
    extent, [start, stop)); the emitters read the bounds from it, not from halo/boundary."""
    import copy

    from ringkernel_codegen.emit import cpu, cuda, numba as numba_emit

    @stencil(tile=(2, 4, 8), halo=2)
    def smooth(u: Field3D[f32], out: Field3D[f32]):
        out[0, 0, 0] = u[0, 0, 2] + u[-2, 0, 0]

    space = smooth._f.space
    assert [a.var for a in space.axes] == ["_z", "_y", "_x"] and space.absent == ()
    assert all(a.start.value == 2 and a.stop.op == "-" and a.stop.right.value == 2 for a in space.axes)
    f = copy.deepcopy(smooth._f)
    f.space.axes[2].start.value = 5          # a different space: x from 5 on
    texts = {"cpu": cpu.emit_stencil(f), "cuda": cuda.emit_stencil(f), "numba": numba_emit.emit_stencil(f)}
    assert "for _x in range(np.int32(5), " in texts["cpu"]
    assert "_x < 5 ||" in texts["cuda"] and "_x < numba.int32(5)" in texts["numba"]
    assert "_x < 2 ||" not in texts["cuda"] and "_y < 2 ||" in texts["cuda"]   # the bounds come from the space

    @stencil(tile=(64,), halo=1, boundary="clamp")
    def copy1d(u: Field1D[f32], out: Field1D[f32]):
        out[0] = u[1]

    sp = copy1d._f.space
    assert [a.var for a in sp.axes] == ["_x"] and sp.absent == (("_z", "_nz"), ("_y", "_ny"))
    assert sp.axes[0].start.value == 0 and isinstance(sp.axes[0].stop, ir.Var)
