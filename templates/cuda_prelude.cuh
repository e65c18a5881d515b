// ringkernel CUDA prelude: included at the top of every emitted .cu file.
// rk_-prefixed helpers that intrinsic spellings (intrinsics/*.toml) call where CUDA has no single
// built-in: atomics for every type and scope, ordered loads/stores, clocks, warp/block reductions.
// Plain CUDA C++17 for sm_90 (nvcc and NVRTC); no headers and no cooperative_groups needed.
// Under NVRTC the whole actor source includes nothing (the runtime layout header declares
// int8_t..uint64_t itself), so it compiles without toolkit or CCCL headers; only kernels
// that use cooperative groups need them (cuda_headers.find_include_dirs).
#pragma once

// ---- atomics ----------------------------------------------------------------------------------
// rk_atomic_<op>[_block|_system](T* p, T v) for int, unsigned, long long, unsigned long long,
// float, double; all return the old value. Where CUDA lacks an overload the helper reinterprets
// the bits (64-bit signed two's complement add/exch/cas) or loops on atomicCAS (float min/max,
// 64-bit inc/dec). Float min/max compare with < and >: a NaN value never replaces the stored one.
#define RK_ULL(p) reinterpret_cast<unsigned long long*>(p)
#define RK_UI(p) reinterpret_cast<unsigned int*>(p)

#define RK_ATOMICS(S)                                                                              \
  __device__ __forceinline__ int rk_atomic_add##S(int* p, int v) { return atomicAdd##S(p, v); }   \
  __device__ __forceinline__ unsigned int rk_atomic_add##S(unsigned int* p, unsigned int v) { return atomicAdd##S(p, v); } \
  __device__ __forceinline__ unsigned long long rk_atomic_add##S(unsigned long long* p, unsigned long long v) { return atomicAdd##S(p, v); } \
  __device__ __forceinline__ long long rk_atomic_add##S(long long* p, long long v) { return (long long)atomicAdd##S(RK_ULL(p), (unsigned long long)v); } \
  __device__ __forceinline__ float rk_atomic_add##S(float* p, float v) { return atomicAdd##S(p, v); } \
  __device__ __forceinline__ double rk_atomic_add##S(double* p, double v) { return atomicAdd##S(p, v); } \
  __device__ __forceinline__ int rk_atomic_sub##S(int* p, int v) { return atomicSub##S(p, v); }   \
  __device__ __forceinline__ unsigned int rk_atomic_sub##S(unsigned int* p, unsigned int v) { return atomicSub##S(p, v); } \
  __device__ __forceinline__ unsigned long long rk_atomic_sub##S(unsigned long long* p, unsigned long long v) { return atomicAdd##S(p, 0ull - v); } \
  __device__ __forceinline__ long long rk_atomic_sub##S(long long* p, long long v) { return (long long)atomicAdd##S(RK_ULL(p), 0ull - (unsigned long long)v); } \
  __device__ __forceinline__ float rk_atomic_sub##S(float* p, float v) { return atomicAdd##S(p, -v); } \
  __device__ __forceinline__ double rk_atomic_sub##S(double* p, double v) { return atomicAdd##S(p, -v); } \
  __device__ __forceinline__ int rk_atomic_exch##S(int* p, int v) { return atomicExch##S(p, v); } \
  __device__ __forceinline__ unsigned int rk_atomic_exch##S(unsigned int* p, unsigned int v) { return atomicExch##S(p, v); } \
  __device__ __forceinline__ unsigned long long rk_atomic_exch##S(unsigned long long* p, unsigned long long v) { return atomicExch##S(p, v); } \
  __device__ __forceinline__ long long rk_atomic_exch##S(long long* p, long long v) { return (long long)atomicExch##S(RK_ULL(p), (unsigned long long)v); } \
  __device__ __forceinline__ float rk_atomic_exch##S(float* p, float v) { return atomicExch##S(p, v); } \
  __device__ __forceinline__ double rk_atomic_exch##S(double* p, double v) { return __longlong_as_double((long long)atomicExch##S(RK_ULL(p), (unsigned long long)__double_as_longlong(v))); } \
  __device__ __forceinline__ int rk_atomic_cas##S(int* p, int c, int v) { return atomicCAS##S(p, c, v); } \
  __device__ __forceinline__ unsigned int rk_atomic_cas##S(unsigned int* p, unsigned int c, unsigned int v) { return atomicCAS##S(p, c, v); } \
  __device__ __forceinline__ unsigned long long rk_atomic_cas##S(unsigned long long* p, unsigned long long c, unsigned long long v) { return atomicCAS##S(p, c, v); } \
  __device__ __forceinline__ long long rk_atomic_cas##S(long long* p, long long c, long long v) { return (long long)atomicCAS##S(RK_ULL(p), (unsigned long long)c, (unsigned long long)v); } \
  __device__ __forceinline__ float rk_atomic_cas##S(float* p, float c, float v) { return __int_as_float(atomicCAS##S(reinterpret_cast<int*>(p), __float_as_int(c), __float_as_int(v))); } \
  __device__ __forceinline__ double rk_atomic_cas##S(double* p, double c, double v) { return __longlong_as_double((long long)atomicCAS##S(RK_ULL(p), (unsigned long long)__double_as_longlong(c), (unsigned long long)__double_as_longlong(v))); } \
  __device__ __forceinline__ int rk_atomic_min##S(int* p, int v) { return atomicMin##S(p, v); }   \
  __device__ __forceinline__ unsigned int rk_atomic_min##S(unsigned int* p, unsigned int v) { return atomicMin##S(p, v); } \
  __device__ __forceinline__ long long rk_atomic_min##S(long long* p, long long v) { return atomicMin##S(p, v); } \
  __device__ __forceinline__ unsigned long long rk_atomic_min##S(unsigned long long* p, unsigned long long v) { return atomicMin##S(p, v); } \
  __device__ __forceinline__ int rk_atomic_max##S(int* p, int v) { return atomicMax##S(p, v); }   \
  __device__ __forceinline__ unsigned int rk_atomic_max##S(unsigned int* p, unsigned int v) { return atomicMax##S(p, v); } \
  __device__ __forceinline__ long long rk_atomic_max##S(long long* p, long long v) { return atomicMax##S(p, v); } \
  __device__ __forceinline__ unsigned long long rk_atomic_max##S(unsigned long long* p, unsigned long long v) { return atomicMax##S(p, v); } \
  __device__ __forceinline__ float rk_atomic_min##S(float* p, float v) {                          \
    int old = *reinterpret_cast<volatile int*>(p), assumed;                                      \
    do { assumed = old; if (!(v < __int_as_float(assumed))) break;                               \
         old = atomicCAS##S(reinterpret_cast<int*>(p), assumed, __float_as_int(v)); } while (old != assumed); \
    return __int_as_float(old); }                                                                \
  __device__ __forceinline__ float rk_atomic_max##S(float* p, float v) {                          \
    int old = *reinterpret_cast<volatile int*>(p), assumed;                                      \
    do { assumed = old; if (!(v > __int_as_float(assumed))) break;                               \
         old = atomicCAS##S(reinterpret_cast<int*>(p), assumed, __float_as_int(v)); } while (old != assumed); \
    return __int_as_float(old); }                                                                \
  __device__ __forceinline__ double rk_atomic_min##S(double* p, double v) {                       \
    unsigned long long old = *reinterpret_cast<volatile unsigned long long*>(p), assumed;        \
    do { assumed = old; if (!(v < __longlong_as_double((long long)assumed))) break;              \
         old = atomicCAS##S(RK_ULL(p), assumed, (unsigned long long)__double_as_longlong(v)); } while (old != assumed); \
    return __longlong_as_double((long long)old); }                                               \
  __device__ __forceinline__ double rk_atomic_max##S(double* p, double v) {                       \
    unsigned long long old = *reinterpret_cast<volatile unsigned long long*>(p), assumed;        \
    do { assumed = old; if (!(v > __longlong_as_double((long long)assumed))) break;              \
         old = atomicCAS##S(RK_ULL(p), assumed, (unsigned long long)__double_as_longlong(v)); } while (old != assumed); \
    return __longlong_as_double((long long)old); }                                               \
  __device__ __forceinline__ int rk_atomic_and##S(int* p, int v) { return atomicAnd##S(p, v); }   \
  __device__ __forceinline__ unsigned int rk_atomic_and##S(unsigned int* p, unsigned int v) { return atomicAnd##S(p, v); } \
  __device__ __forceinline__ unsigned long long rk_atomic_and##S(unsigned long long* p, unsigned long long v) { return atomicAnd##S(p, v); } \
  __device__ __forceinline__ long long rk_atomic_and##S(long long* p, long long v) { return (long long)atomicAnd##S(RK_ULL(p), (unsigned long long)v); } \
  __device__ __forceinline__ int rk_atomic_or##S(int* p, int v) { return atomicOr##S(p, v); }     \
  __device__ __forceinline__ unsigned int rk_atomic_or##S(unsigned int* p, unsigned int v) { return atomicOr##S(p, v); } \
  __device__ __forceinline__ unsigned long long rk_atomic_or##S(unsigned long long* p, unsigned long long v) { return atomicOr##S(p, v); } \
  __device__ __forceinline__ long long rk_atomic_or##S(long long* p, long long v) { return (long long)atomicOr##S(RK_ULL(p), (unsigned long long)v); } \
  __device__ __forceinline__ int rk_atomic_xor##S(int* p, int v) { return atomicXor##S(p, v); }   \
  __device__ __forceinline__ unsigned int rk_atomic_xor##S(unsigned int* p, unsigned int v) { return atomicXor##S(p, v); } \
  __device__ __forceinline__ unsigned long long rk_atomic_xor##S(unsigned long long* p, unsigned long long v) { return atomicXor##S(p, v); } \
  __device__ __forceinline__ long long rk_atomic_xor##S(long long* p, long long v) { return (long long)atomicXor##S(RK_ULL(p), (unsigned long long)v); } \
  __device__ __forceinline__ unsigned int rk_atomic_inc##S(unsigned int* p, unsigned int v) { return atomicInc##S(p, v); } \
  __device__ __forceinline__ unsigned int rk_atomic_dec##S(unsigned int* p, unsigned int v) { return atomicDec##S(p, v); } \
  __device__ __forceinline__ unsigned long long rk_atomic_inc##S(unsigned long long* p, unsigned long long v) { \
    unsigned long long old = *reinterpret_cast<volatile unsigned long long*>(p), assumed;        \
    do { assumed = old; old = atomicCAS##S(p, assumed, assumed >= v ? 0ull : assumed + 1ull); } while (old != assumed); \
    return old; }                                                                                \
  __device__ __forceinline__ unsigned long long rk_atomic_dec##S(unsigned long long* p, unsigned long long v) { \
    unsigned long long old = *reinterpret_cast<volatile unsigned long long*>(p), assumed;        \
    do { assumed = old; old = atomicCAS##S(p, assumed, (assumed == 0ull || assumed > v) ? v : assumed - 1ull); } while (old != assumed); \
    return old; }

RK_ATOMICS()
RK_ATOMICS(_block)
RK_ATOMICS(_system)

#undef RK_ATOMICS

// ---- ordered and volatile loads/stores (generic addressing: global or shared) -------------------
template <typename T> __device__ __forceinline__ T rk_bits_to(unsigned long long b) {
  // a union, not memcpy: NVRTC has no __builtin_memcpy in device code
  union { unsigned long long bits; T value; } u; u.bits = b; return u.value;
}
template <typename T> __device__ __forceinline__ unsigned long long rk_to_bits(T v) {
  union { unsigned long long bits; T value; } u; u.bits = 0; u.value = v; return u.bits;
}

#ifdef RK_HOST_EMULATION
// Host emulation (tests only: tests/runtime/host_emu.py compiles the actor loop with g++ for the
// CPU to exercise its protocol). Same names, C++ atomics instead of PTX; never used on a GPU.
#define RK_ORDERED(NAME, SCOPE)                                                                    \
  template <typename T> inline T rk_load_acquire##NAME(const T* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); } \
  template <typename T> inline void rk_store_release##NAME(T* p, T v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
#else
#define RK_ORDERED(NAME, SCOPE)                                                                    \
  template <typename T> __device__ __forceinline__ T rk_load_acquire##NAME(const T* p) {         \
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "ordered loads take 32- or 64-bit values");   \
    if constexpr (sizeof(T) == 4) { unsigned int r;                                              \
      asm volatile("ld.acquire." SCOPE ".b32 %0, [%1];" : "=r"(r) : "l"(p) : "memory");          \
      return rk_bits_to<T>(r);                                                                   \
    } else { unsigned long long r;                                                               \
      asm volatile("ld.acquire." SCOPE ".b64 %0, [%1];" : "=l"(r) : "l"(p) : "memory");          \
      return rk_bits_to<T>(r); } }                                                               \
  template <typename T> __device__ __forceinline__ void rk_store_release##NAME(T* p, T v) {      \
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "ordered stores take 32- or 64-bit values");  \
    if constexpr (sizeof(T) == 4) {                                                              \
      asm volatile("st.release." SCOPE ".b32 [%0], %1;" :: "l"(p), "r"((unsigned int)rk_to_bits(v)) : "memory"); \
    } else {                                                                                     \
      asm volatile("st.release." SCOPE ".b64 [%0], %1;" :: "l"(p), "l"(rk_to_bits(v)) : "memory"); } }
#endif

RK_ORDERED(, "gpu")
RK_ORDERED(_system, "sys")
#undef RK_ORDERED

template <typename T> __device__ __forceinline__ T rk_load_volatile(const T* p) {
  return *reinterpret_cast<const volatile T*>(p);
}
template <typename T> __device__ __forceinline__ void rk_store_volatile(T* p, T v) {
  *reinterpret_cast<volatile T*>(p) = v;
}

// ---- clocks, lanes, barriers ------------------------------------------------------------------
#ifdef RK_HOST_EMULATION
inline unsigned long long rk_globaltimer() { return rk_emu_realtime_ns(); }
inline unsigned int rk_lanemask_lt() { return (1u << (rk_emu_flat_tid() & 31u)) - 1u; }
inline void rk_cluster_sync() { rk_emu_unsupported("cluster_sync"); }
#else
__device__ __forceinline__ unsigned long long rk_globaltimer() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}
__device__ __forceinline__ unsigned int rk_lanemask_lt() {
  unsigned int m;
  asm("mov.u32 %0, %%lanemask_lt;" : "=r"(m));
  return m;
}
__device__ __forceinline__ void rk_cluster_sync() {
  asm volatile("barrier.cluster.arrive;\n\tbarrier.cluster.wait;" ::: "memory");
}
#endif

// ---- bits -------------------------------------------------------------------------------------
__device__ __forceinline__ unsigned int rk_rotl(unsigned int x, unsigned int n) { return __funnelshift_l(x, x, n); }
__device__ __forceinline__ unsigned int rk_rotr(unsigned int x, unsigned int n) { return __funnelshift_r(x, x, n); }
__device__ __forceinline__ unsigned long long rk_rotl(unsigned long long x, unsigned int n) {
  n &= 63u; return n ? (x << n) | (x >> (64u - n)) : x;
}
__device__ __forceinline__ unsigned long long rk_rotr(unsigned long long x, unsigned int n) {
  n &= 63u; return n ? (x >> n) | (x << (64u - n)) : x;
}

// ---- warp collectives -------------------------------------------------------------------------
template <typename T> __device__ __forceinline__ unsigned int rk_match_all_sync(unsigned int mask, T v) {
  int pred;
  return __match_all_sync(mask, v, &pred);
}

struct rk_op_sum { template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; } };
struct rk_op_min {
  template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return b < a ? b : a; }
  __device__ __forceinline__ float operator()(float a, float b) const { return fminf(a, b); }
  __device__ __forceinline__ double operator()(double a, double b) const { return fmin(a, b); }
};
struct rk_op_max {
  template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return b > a ? b : a; }
  __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
  __device__ __forceinline__ double operator()(double a, double b) const { return fmax(a, b); }
};

__device__ __forceinline__ unsigned int rk_flat_tid() {
  return threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y;
}
__device__ __forceinline__ unsigned int rk_block_threads() { return blockDim.x * blockDim.y * blockDim.z; }

// Reduce over the lanes present in the caller's warp (the block's last warp may be partial) and
// give every lane the result. Lane 0 ends with the fold; __shfl_sync broadcasts it.
template <typename T, typename Op> __device__ __forceinline__ T rk_warp_reduce(T v, Op op) {
  const unsigned int tid = rk_flat_tid(), lane = tid & 31u;
  const unsigned int rest = rk_block_threads() - (tid & ~31u);
  const unsigned int n = rest < 32u ? rest : 32u;
  const unsigned int mask = n == 32u ? 0xffffffffu : ((1u << n) - 1u);
  for (unsigned int off = 16; off > 0; off >>= 1) {
    T other = __shfl_down_sync(mask, v, off);
    if (lane + off < n) v = op(v, other);
  }
  return __shfl_sync(mask, v, 0);
}
template <typename T> __device__ __forceinline__ T rk_warp_reduce_sum(T v) { return rk_warp_reduce(v, rk_op_sum()); }
template <typename T> __device__ __forceinline__ T rk_warp_reduce_min(T v) { return rk_warp_reduce(v, rk_op_min()); }
template <typename T> __device__ __forceinline__ T rk_warp_reduce_max(T v) { return rk_warp_reduce(v, rk_op_max()); }

// ---- block reductions -------------------------------------------------------------------------
// Warp folds land in a 32-slot shared buffer; every thread then folds the slots in the same
// order, so all threads get the same value. Contains __syncthreads(): every thread must call it.
template <typename T, typename Op> __device__ __forceinline__ T rk_block_reduce(T v, Op op) {
  __shared__ T rk_slots[32];
  const unsigned int tid = rk_flat_tid();
  const unsigned int nwarps = (rk_block_threads() + 31u) >> 5;
  T w = rk_warp_reduce(v, op);
  if ((tid & 31u) == 0) rk_slots[tid >> 5] = w;
  __syncthreads();
  T acc = rk_slots[0];
  for (unsigned int i = 1; i < nwarps; ++i) acc = op(acc, rk_slots[i]);
  __syncthreads();  // the buffer may be reused by the next call
  return acc;
}
template <typename T> __device__ __forceinline__ T rk_block_reduce_sum(T v) { return rk_block_reduce(v, rk_op_sum()); }
template <typename T> __device__ __forceinline__ T rk_block_reduce_min(T v) { return rk_block_reduce(v, rk_op_min()); }
template <typename T> __device__ __forceinline__ T rk_block_reduce_max(T v) { return rk_block_reduce(v, rk_op_max()); }

#undef RK_ULL
#undef RK_UI

// ---- random: Philox4x32-10 ----------------------------------------------------------------------
// Salmon et al. (SC'11), the Random123 algorithm; intrinsics/random.toml says how (seed, stream,
// draw) map onto counter, key and word. Uniforms are exact odd multiples of 2^-24 (f32) or 2^-53
// (f64), so they never round to 0 or 1.
struct rk_philox_block { unsigned int w[4]; };
__device__ __forceinline__ rk_philox_block rk_philox4x32(unsigned int c0, unsigned int c1, unsigned int c2,
                                                         unsigned int c3, unsigned int k0, unsigned int k1) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
    const unsigned int hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
    const unsigned int hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
    c0 = hi1 ^ c1 ^ k0; c1 = lo1; c2 = hi0 ^ c3 ^ k1; c3 = lo0;
  }
  rk_philox_block b; b.w[0] = c0; b.w[1] = c1; b.w[2] = c2; b.w[3] = c3;
  return b;
}
__device__ __forceinline__ void rk_philox4x32_store(unsigned int* out, unsigned int c0, unsigned int c1, unsigned int c2,
                                                    unsigned int c3, unsigned int k0, unsigned int k1) {
  const rk_philox_block b = rk_philox4x32(c0, c1, c2, c3, k0, k1);
  out[0] = b.w[0]; out[1] = b.w[1]; out[2] = b.w[2]; out[3] = b.w[3];
}
__device__ __forceinline__ rk_philox_block rk_philox_at(unsigned long long seed, unsigned long long stream,
                                                        unsigned long long block) {
  return rk_philox4x32((unsigned int)block, (unsigned int)(block >> 32), (unsigned int)stream,
                       (unsigned int)(stream >> 32), (unsigned int)seed, (unsigned int)(seed >> 32));
}
__device__ __forceinline__ float rk_philox_f32_of(unsigned int u) { return (float)(((u >> 9) << 1) | 1u) * 5.9604644775390625e-08f; }
__device__ __forceinline__ double rk_philox_f64_of(unsigned int hi, unsigned int lo) {
  const unsigned long long x = ((unsigned long long)hi << 20) | (lo >> 12);
  return (double)((x << 1) | 1ull) * 1.1102230246251565404e-16;
}
__device__ __forceinline__ unsigned int rk_philox_u32(unsigned long long seed, unsigned long long stream, unsigned long long draw) {
  return rk_philox_at(seed, stream, draw >> 2).w[draw & 3];
}
__device__ __forceinline__ float rk_philox_uniform_f32(unsigned long long seed, unsigned long long stream, unsigned long long draw) {
  return rk_philox_f32_of(rk_philox_u32(seed, stream, draw));
}
__device__ __forceinline__ double rk_philox_uniform_f64(unsigned long long seed, unsigned long long stream, unsigned long long draw) {
  const rk_philox_block b = rk_philox_at(seed, stream, draw >> 1);
  const unsigned int p = (unsigned int)(draw & 1) << 1;
  return rk_philox_f64_of(b.w[p], b.w[p + 1]);
}
__device__ __forceinline__ float rk_philox_normal_f32(unsigned long long seed, unsigned long long stream, unsigned long long draw) {
  const rk_philox_block b = rk_philox_at(seed, stream, draw >> 2);
  const unsigned int p = (unsigned int)((draw >> 1) & 1) << 1;
  const float r = sqrtf(-2.0f * logf(rk_philox_f32_of(b.w[p])));
  const float t = 6.28318530717958647692f * rk_philox_f32_of(b.w[p + 1]);
  return (draw & 1) ? r * sinf(t) : r * cosf(t);
}
__device__ __forceinline__ double rk_philox_normal_f64(unsigned long long seed, unsigned long long stream, unsigned long long draw) {
  const rk_philox_block b = rk_philox_at(seed, stream, draw >> 1);
  const double r = sqrt(-2.0 * log(rk_philox_f64_of(b.w[0], b.w[1])));
  const double t = 6.28318530717958647692 * rk_philox_f64_of(b.w[2], b.w[3]);
  return (draw & 1) ? r * sin(t) : r * cos(t);
}
