"""Runtime backends: cpu (numba.njit actor loops) and cuda (cuda-python)."""
