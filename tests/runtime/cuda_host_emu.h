// Host emulation of the CUDA built-ins the resident actor loop uses (tests only).
//
// tests/runtime/host_emu.py compiles a ring kernel's CUDA C++ actor source (ring_actor.cu.j2,
// unchanged but for the RK_HOST_EMULATION branches of the PTX helpers) with g++ and this header
// force-included, and runs each block on `threads` std::threads with a std::barrier as
// __syncthreads. Every symbol here has internal linkage and the library is built with hidden
// visibility, so each loaded copy of it (one per block) has its own "shared memory" (the kernel's
// function-local statics) and its own barrier. It checks the loop's protocol against the real host
// runtime; it says nothing about the GPU's memory model (x86 is stronger) or its performance.
#pragma once
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <math.h>
#include <thread>
#include <type_traits>

#define __device__
#define __global__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __shared__ static

struct rk_emu_dim3 { unsigned x, y, z; };
static thread_local rk_emu_dim3 threadIdx = {0, 0, 0};
static thread_local rk_emu_dim3 blockIdx = {0, 0, 0};
static rk_emu_dim3 blockDim = {1, 1, 1};
static rk_emu_dim3 gridDim = {1, 1, 1};
static std::barrier<>* rk_emu_barrier = nullptr;

static inline unsigned rk_emu_flat_tid() { return threadIdx.x + threadIdx.y * blockDim.x; }
[[noreturn]] static inline void rk_emu_unsupported(const char* what) {
  std::fprintf(stderr, "ringkernel host emulation: %s is not emulated\n", what);
  std::abort();
}
static inline unsigned long long rk_emu_realtime_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static inline void __syncthreads() { rk_emu_barrier->arrive_and_wait(); }
static inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
static inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }
static inline void __threadfence_system() { std::atomic_thread_fence(std::memory_order_seq_cst); }
static inline void __nanosleep(unsigned ns) {
  if (ns < 2000) std::this_thread::yield();
  else std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
}

// bit casts
static inline float __int_as_float(int v) { float f; std::memcpy(&f, &v, 4); return f; }
static inline int __float_as_int(float v) { int i; std::memcpy(&i, &v, 4); return i; }
static inline double __longlong_as_double(long long v) { double d; std::memcpy(&d, &v, 8); return d; }
static inline unsigned int __umulhi(unsigned int a, unsigned int b) { return (unsigned int)(((unsigned long long)a * b) >> 32); }
static inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) { return (unsigned long long)(((unsigned __int128)a * b) >> 64); }
static inline long long __double_as_longlong(double v) { long long i; std::memcpy(&i, &v, 8); return i; }
static inline unsigned __funnelshift_l(unsigned lo, unsigned hi, unsigned s) {
  s &= 31u; return s ? (hi << s) | (lo >> (32u - s)) : hi;
}
static inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned s) {
  s &= 31u; return s ? (lo >> s) | (hi << (32u - s)) : lo;
}

// atomics (sequentially consistent; every scope is the process here)
template <typename T> static inline T rk_emu_cas_loop(T* p, T (*f)(T, T), T v) {
  T old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
  while (!__atomic_compare_exchange_n(p, &old, f(old, v), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
  return old;
}
template <typename T> static inline T atomicAdd(T* p, T v) {
  if constexpr (std::is_floating_point_v<T>) {
    using I = std::conditional_t<sizeof(T) == 4, unsigned, unsigned long long>;
    I* q = reinterpret_cast<I*>(p);
    I old = __atomic_load_n(q, __ATOMIC_SEQ_CST), want;
    do { T f; std::memcpy(&f, &old, sizeof f); f += v; std::memcpy(&want, &f, sizeof f); }
    while (!__atomic_compare_exchange_n(q, &old, want, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    T r; std::memcpy(&r, &old, sizeof r); return r;
  } else {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
  }
}
template <typename T> static inline T atomicSub(T* p, T v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }
template <typename T> static inline T atomicExch(T* p, T v) {
  if constexpr (std::is_floating_point_v<T>) {
    using I = std::conditional_t<sizeof(T) == 4, unsigned, unsigned long long>;
    I b; std::memcpy(&b, &v, sizeof v);
    I old = __atomic_exchange_n(reinterpret_cast<I*>(p), b, __ATOMIC_SEQ_CST);
    T r; std::memcpy(&r, &old, sizeof r); return r;
  } else {
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
  }
}
template <typename T> static inline T atomicCAS(T* p, T c, T v) {
  __atomic_compare_exchange_n(p, &c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return c;
}
template <typename T> static inline T atomicMin(T* p, T v) { return rk_emu_cas_loop<T>(p, [](T a, T b) { return b < a ? b : a; }, v); }
template <typename T> static inline T atomicMax(T* p, T v) { return rk_emu_cas_loop<T>(p, [](T a, T b) { return b > a ? b : a; }, v); }
template <typename T> static inline T atomicAnd(T* p, T v) { return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); }
template <typename T> static inline T atomicOr(T* p, T v) { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }
template <typename T> static inline T atomicXor(T* p, T v) { return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST); }
static inline unsigned atomicInc(unsigned* p, unsigned v) {
  return rk_emu_cas_loop<unsigned>(p, [](unsigned a, unsigned b) { return a >= b ? 0u : a + 1u; }, v);
}
static inline unsigned atomicDec(unsigned* p, unsigned v) {
  return rk_emu_cas_loop<unsigned>(p, [](unsigned a, unsigned b) { return (a == 0u || a > b) ? b : a - 1u; }, v);
}
#define RK_EMU_SCOPED(NAME) \
  template <typename... A> static inline auto NAME##_block(A... a) { return NAME(a...); } \
  template <typename... A> static inline auto NAME##_system(A... a) { return NAME(a...); }
RK_EMU_SCOPED(atomicAdd) RK_EMU_SCOPED(atomicSub) RK_EMU_SCOPED(atomicExch) RK_EMU_SCOPED(atomicCAS)
RK_EMU_SCOPED(atomicMin) RK_EMU_SCOPED(atomicMax) RK_EMU_SCOPED(atomicAnd) RK_EMU_SCOPED(atomicOr)
RK_EMU_SCOPED(atomicXor) RK_EMU_SCOPED(atomicInc) RK_EMU_SCOPED(atomicDec)
#undef RK_EMU_SCOPED

// warp collectives: the actor loop uses none; a handler that does is refused at run time
template <typename T> static inline T __shfl_sync(unsigned, T, int) { rk_emu_unsupported("__shfl_sync"); }
template <typename T> static inline T __shfl_down_sync(unsigned, T, unsigned) { rk_emu_unsupported("__shfl_down_sync"); }
template <typename T> static inline unsigned __match_all_sync(unsigned, T, int*) { rk_emu_unsupported("__match_all_sync"); }

// The entry point: run block `block` of `nblocks` on `threads` threads (call once per loaded copy).
#define RK_EMU_ENTRY(KERNEL)                                                                       \
  extern "C" __attribute__((visibility("default"))) int rk_emu_run(const void* descs, unsigned block, \
                                                                   unsigned nblocks, unsigned threads) { \
    std::barrier<> bar((std::ptrdiff_t)threads);                                                   \
    rk_emu_barrier = &bar;                                                                         \
    blockDim = {threads, 1, 1};                                                                    \
    gridDim = {nblocks, 1, 1};                                                                     \
    std::thread* ts = new std::thread[threads];                                                    \
    for (unsigned t = 0; t < threads; ++t)                                                         \
      ts[t] = std::thread([=] { threadIdx = {t, 0, 0}; blockIdx = {block, 0, 0};                   \
                                KERNEL((const rk_actor_desc*)descs); });                          \
    for (unsigned t = 0; t < threads; ++t) ts[t].join();                                           \
    delete[] ts;                                                                                   \
    return 0;                                                                                      \
  }
