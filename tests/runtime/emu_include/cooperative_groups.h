// Host emulation (tests only, tests/runtime/persistent_emu.py): the cooperative-groups grid of a
// one-block launch, whose grid barrier is the block's barrier, and __ldcg as a plain load.
#pragma once
namespace cooperative_groups {
struct grid_group {
  void sync() const { __syncthreads(); }
};
inline grid_group this_grid() { return grid_group{}; }
}  // namespace cooperative_groups
template <typename T> static inline T __ldcg(const T* p) { return *reinterpret_cast<const volatile T*>(p); }
// CUDA's integer min/max overloads, which kernels spell without std::
template <typename T> static inline T max(T a, T b) { return a > b ? a : b; }
template <typename T> static inline T min(T a, T b) { return a < b ? a : b; }
