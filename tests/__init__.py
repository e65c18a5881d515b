"""The test suite, a package so that its corpora import by name: `from tests.kernels import basic_kernels`.

tests/runtime and tests/sim are not packages: pytest puts each on sys.path for its own files."""
