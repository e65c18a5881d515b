"""Kernel corpora the tests share: real files (the front end reads a kernel's source through
inspect), imported as `from tests.kernels import basic_kernels`. Each corpus module may record the
launch its kernels are written for (GEOMETRY) and fixed arguments (ARGS): see basic_kernels."""
