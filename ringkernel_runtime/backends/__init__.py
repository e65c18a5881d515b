"""Runtime backends: cpu (numba.njit actor loops), cuda (cuda-python) and numba (numba.cuda).

Resident actor kernels never finish, so nothing may wait for "the device to be idle" while they
run. With lazy module loading (the CUDA 12.2+ default) a kernel's first launch may load its module
then, and loading can synchronise the context: a later launch would wait for the resident actors
forever. Eager loading moves that work to module load time; set CUDA_MODULE_LOADING yourself
before the first CUDA call to choose otherwise.
"""
import os

os.environ.setdefault("CUDA_MODULE_LOADING", "EAGER")
