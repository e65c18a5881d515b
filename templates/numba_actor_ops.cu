// Ordered accesses for the numba.cuda actor loop (templates/ring_actor_numba.py.j2).
// numba.cuda has no scoped relaxed loads, release stores or %globaltimer, so the loop calls these
// small C functions, declared with cuda.declare_device(..., abi="c") in
// ringkernel_runtime/backends/numba_ops.py and linked into the kernel. Same instructions as
// templates/ring_runtime.cuh: a plain load in a spin loop would be hoisted (DESIGN.md §6).
//   system scope (rk_poll_system, rk_store_system, rk_publish_system, rk_fence_acquire_system):
//     mapped host memory -- the host lane, the reply queue, the control block
//   gpu scope (rk_poll_gpu, rk_publish_gpu, rk_fence_acquire_gpu): K2K inboxes, in device memory
//     and touched only by GPU threads while live; no system-wide fence
// Every function is a leaf with no includes, so NVRTC compiles it with no options. Each returns a
// value (0 for stores and fences): numba declares C-ABI externs with a 64-bit return slot.

extern "C" __device__ unsigned long long rk_nb_poll_u64(const unsigned long long* p) {
  unsigned long long r;
  asm volatile("ld.relaxed.sys.b64 %0, [%1];" : "=l"(r) : "l"(p) : "memory");
  return r;
}

extern "C" __device__ unsigned long long rk_nb_store_u64(unsigned long long* p, unsigned long long v) {
  asm volatile("st.relaxed.sys.b64 [%0], %1;" :: "l"(p), "l"(v) : "memory");
  return 0;
}

// Every earlier write of this thread is visible before the new value.
extern "C" __device__ unsigned long long rk_nb_publish_u64(unsigned long long* p, unsigned long long v) {
  asm volatile("st.release.sys.b64 [%0], %1;" :: "l"(p), "l"(v) : "memory");
  return 0;
}

// After a relaxed poll saw a change: makes the writer's earlier (released) writes visible.
extern "C" __device__ unsigned long long rk_nb_fence_acq_rel_sys() {
  asm volatile("fence.acq_rel.sys;" ::: "memory");
  return 0;
}

// ---- gpu scope: K2K inboxes (device memory) ----
extern "C" __device__ unsigned long long rk_nb_poll_u64_gpu(const unsigned long long* p) {
  unsigned long long r;
  asm volatile("ld.relaxed.gpu.b64 %0, [%1];" : "=l"(r) : "l"(p) : "memory");
  return r;
}

extern "C" __device__ unsigned long long rk_nb_publish_u64_gpu(unsigned long long* p, unsigned long long v) {
  asm volatile("st.release.gpu.b64 [%0], %1;" :: "l"(p), "l"(v) : "memory");
  return 0;
}

extern "C" __device__ unsigned long long rk_nb_fence_acq_rel_gpu() {
  asm volatile("fence.acq_rel.gpu;" ::: "memory");
  return 0;
}

extern "C" __device__ unsigned long long rk_nb_globaltimer() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t) :: "memory");
  return t;
}
