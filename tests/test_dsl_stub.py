"""ringkernel_codegen/dsl.pyi: the committed stub IDEs read agrees with the intrinsic table and with
what ringkernel_codegen.dsl exports at run time, ships in the wheel, and help() shows the docs."""
import ast
import importlib.util
import inspect
import os
import pydoc
import tomllib

from ringkernel_codegen import dsl
from ringkernel_codegen.intrinsics import table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUB = os.path.join(ROOT, "ringkernel_codegen", "dsl.pyi")


def _generator():
    spec = importlib.util.spec_from_file_location("gen_dsl_stub", os.path.join(ROOT, "tools", "gen_dsl_stub.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stub_tree() -> ast.Module:
    with open(STUB) as f:
        return ast.parse(f.read())


def _stub_functions() -> dict:
    return {n.name: n for n in _stub_tree().body if isinstance(n, ast.FunctionDef)}


def _stub_all() -> list:
    for node in _stub_tree().body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["__all__"]:
            return ast.literal_eval(node.value)
    raise AssertionError("dsl.pyi has no __all__")


def test_committed_stub_is_what_the_generator_writes_from_the_table():
    with open(STUB) as f:
        committed = f.read()
    assert committed == _generator().render(), "dsl.pyi is stale: run PYTHONPATH=. python tools/gen_dsl_stub.py"


def test_stub_defines_exactly_the_names_dsl_exports():
    runtime_public = {n for n in vars(dsl) if not n.startswith("_")}
    assert set(dsl.__all__) == runtime_public
    assert set(_stub_functions()) == runtime_public
    assert sorted(_stub_all()) == sorted(runtime_public)


def test_dsl_exports_one_name_per_intrinsic_of_the_table_but_the_ring_context_ones():
    ring = {n for n, e in table().items() if e.scope == "ring"}
    assert ring == {"now", "actor_id"}           # ctx.now(), ctx.actor_id(): reached through the context
    assert set(dsl.__all__) == set(table()) - ring


def test_stub_parameters_are_the_runtime_signature_and_positional_only():
    for name, fn in _stub_functions().items():
        runtime = list(inspect.signature(getattr(dsl, name)).parameters)
        assert [a.arg for a in fn.args.posonlyargs] == runtime, name
        assert not fn.args.args and not fn.args.kwonlyargs and fn.args.vararg is None, name
        assert len(runtime) == len(table()[name].params), name


def test_stub_docstrings_are_the_intrinsic_docs():
    for name, fn in _stub_functions().items():
        doc = ast.get_docstring(fn)
        assert doc == inspect.cleandoc(getattr(dsl, name).__doc__), name
        assert " ".join(doc.split()).startswith(" ".join(table()[name].doc.split())), name


def test_help_on_an_intrinsic_shows_its_own_doc_not_the_registry_class():
    text = pydoc.render_doc(dsl.shared_array, renderer=pydoc.plaintext)
    flat = " ".join(text.split())
    assert " ".join(table()["shared_array"].doc.split()) in flat
    assert "class Intrinsic" not in text and "spellings" not in text
    assert dsl.shared_array.__name__ == "shared_array"
    assert list(inspect.signature(dsl.shared_array).parameters) == ["shape", "dtype"]


def test_wheel_ships_the_stub_and_the_typed_marker():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        data = tomllib.load(f)["tool"]["setuptools"]["package-data"]["ringkernel_codegen"]
    assert "*.pyi" in data and "py.typed" in data
    assert os.path.isfile(os.path.join(ROOT, "ringkernel_codegen", "py.typed"))
