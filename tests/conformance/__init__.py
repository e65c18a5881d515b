"""Kernels ported from public GPU projects (docs/conformance.md): `from tests.conformance import guide`."""
