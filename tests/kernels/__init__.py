"""Kernel corpora the tests share: real files (the front end reads a kernel's source through
inspect), imported as `from tests.kernels import basic_kernels`. Each corpus module may record the
launch its kernels are written for (GEOMETRY) and fixed arguments (ARGS): see basic_kernels."""


def objects_of(module, types) -> list:
    """(var, key, obj) for every distinct object of `types` a module holds, in definition order: its
    module-level names first (key None), then the items of its public module-level dicts (key: the
    dict key; stencil_kernels.HEAT holds one stencil per boundary) and lists (key: the index).
    The one corpus walker of the tests and the tools (tools/gpu_check.py, tools/emit_snapshot.py,
    tests/test_gpu_check.py); it imports nothing, so a tool may use it before setting itself up."""
    out, seen = [], set()

    def add(var, key, obj):
        if isinstance(obj, types) and id(obj) not in seen:
            seen.add(id(obj))
            out.append((var, key, obj))

    items = list(vars(module).items())
    for var, value in items:
        add(var, None, value)
    for var, value in items:
        if var.startswith("_"):
            continue
        if isinstance(value, dict):
            for key, obj in value.items():
                add(var, key, obj)
        elif isinstance(value, (list, tuple)):
            for i, obj in enumerate(value):
                add(var, i, obj)
    return out
