"""Emitters: typed IR -> CUDA C++ (cuda.py), numba.cuda source (numba.py), CPU njit source (cpu.py)."""
