// ringkernel device runtime for resident actors: scoped polling and publishing, HLC from
// %globaltimer, queue copies, the heartbeat, and rk_send_peer (K2K with backpressure). Included by
// ring_actor.cu.j2 after the prelude, the layout header (rk_queue_header, rk_message_header,
// rk_control_block), the RK_* constants (from actor_abi / lifecycle) and the actor descriptor
// structs (cuda_actor.py).
//
// Memory ordering (PTX memory model; the host is x86-TSO, or fences on weak hosts). The scope is
// that of the memory: the host lane, the reply queue, the control block, ctx and state are mapped
// host memory, shared with the CPU -> system scope (.sys). A K2K inbox lives in device memory and
// only GPU threads produce into it and consume it while it is live (the host copies it only while
// its consumer is parked or stopped, cuda_actor.DeviceQueue) -> GPU scope (.gpu), which spares the
// system-wide fences a .sys release or acquire costs.
//   poll      ld.relaxed.<scope> (never a plain load: the compiler would hoist it out of the spin),
//             then fence.acq_rel.<scope> once something changed  == an acquire pattern
//   publish   payload and header stores, then st.release.<scope> of the position (tail or head)
//   K2K lock  atomicCAS in device memory + __threadfence (gpu scope) around the critical section
//
// Heartbeat: the block stores %globaltimer into ctrl->heartbeat_ns at most once per RK_BEAT_NS; the
// host watchdog fails an actor whose word stops changing for its stall timeout. Beats come from
// the leader's poll and park loops, from the in-order handler loop (per message), and from K2K
// sends (each successful send may beat; a blocked one beats while it waits), so a batch or a
// handler that works for long but makes progress is never taken for a stall. One stamp per block
// (rk_peer_queues::beat_at, shared memory) rate-limits them all; a handler thread of a parallel
// batch may beat too (racing threads may both store: harmless, the host only sees the word change).
#pragma once

#ifndef RK_MAX_PEERS
#define RK_MAX_PEERS 1
#endif
#ifndef RK_BEAT_NS
#define RK_BEAT_NS 1000000ll      // heartbeat store at most once per ms (host converts to host time)
#endif

struct rk_no_output { unsigned long long unused; };
struct rk_no_state { unsigned long long unused; };

// The block's peers as the handler sees them (shared memory, filled by thread 0 at block start):
// each peer's K2K inbox, and the block's own heartbeat, which sends beat.
struct rk_peer_queues {
  int count;
  const long long* abort;                 // the sender's mapped ctx[CTX_ABORT] (host sets it)
  int64_t* beat;                          // the sender's heartbeat word (ctrl->heartbeat_ns, mapped)
  long long beat_at;                      // rk_now() of the block's last heartbeat store (any thread)
  rk_peer_lane_desc lane[RK_MAX_PEERS];   // hdr, meta, payload, lock: all in device memory
};

// ---- system-scope (mapped memory) and gpu-scope (K2K inboxes) ordering --------------------------
// (64-bit integer words only: positions, sequence numbers, control fields.)
#ifdef RK_HOST_EMULATION
// Host emulation (tests only, tests/runtime/host_emu.py): the same protocol with C++ atomics, where
// every scope is the process.
template <typename T> inline T rk_poll_gpu(const T* p) {
  static_assert(sizeof(T) == 8, "positions are 64-bit");
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}
inline void rk_fence_acquire_gpu() { __atomic_thread_fence(__ATOMIC_ACQ_REL); }
template <typename T> inline void rk_publish_gpu(T* p, T v) {
  static_assert(sizeof(T) == 8, "positions are 64-bit");
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
template <typename T> inline T rk_poll_system(const T* p) {
  static_assert(sizeof(T) == 8, "positions and control words are 64-bit");
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}
inline void rk_fence_acquire_system() { __atomic_thread_fence(__ATOMIC_ACQ_REL); }
template <typename T> inline void rk_store_system(T* p, T v) {
  static_assert(sizeof(T) == 8, "control words are 64-bit");
  __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
template <typename T> inline void rk_publish_system(T* p, T v) {
  static_assert(sizeof(T) == 8, "positions and control words are 64-bit");
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
#else
// K2K inboxes (device memory, GPU threads only): the same pattern at gpu scope.
template <typename T> __device__ __forceinline__ T rk_poll_gpu(const T* p) {
  static_assert(sizeof(T) == 8, "positions are 64-bit");
  unsigned long long r;
  asm volatile("ld.relaxed.gpu.b64 %0, [%1];" : "=l"(r) : "l"(p) : "memory");
  return (T)r;
}
__device__ __forceinline__ void rk_fence_acquire_gpu() {
  asm volatile("fence.acq_rel.gpu;" ::: "memory");
}
template <typename T> __device__ __forceinline__ void rk_publish_gpu(T* p, T v) {
  static_assert(sizeof(T) == 8, "positions are 64-bit");
  asm volatile("st.release.gpu.b64 [%0], %1;" :: "l"(p), "l"((unsigned long long)v) : "memory");
}
// Mapped host memory (host lane, reply queue, control block): system scope.
template <typename T> __device__ __forceinline__ T rk_poll_system(const T* p) {
  static_assert(sizeof(T) == 8, "positions and control words are 64-bit");
  unsigned long long r;
  asm volatile("ld.relaxed.sys.b64 %0, [%1];" : "=l"(r) : "l"(p) : "memory");
  return (T)r;
}
__device__ __forceinline__ void rk_fence_acquire_system() {
  asm volatile("fence.acq_rel.sys;" ::: "memory");
}
template <typename T> __device__ __forceinline__ void rk_store_system(T* p, T v) {
  static_assert(sizeof(T) == 8, "control words are 64-bit");
  asm volatile("st.relaxed.sys.b64 [%0], %1;" :: "l"(p), "l"((unsigned long long)v) : "memory");
}
// Publish: every earlier write of this thread is visible before the new value (st.release.sys).
template <typename T> __device__ __forceinline__ void rk_publish_system(T* p, T v) {
  static_assert(sizeof(T) == 8, "positions and control words are 64-bit");
  asm volatile("st.release.sys.b64 [%0], %1;" :: "l"(p), "l"((unsigned long long)v) : "memory");
}
#endif

// ---- HLC: same rules as ringkernel_runtime/hlc.py (hlc_tick / hlc_update) -----------------------
__device__ __forceinline__ long long rk_now() { return (long long)rk_globaltimer(); }

__device__ __forceinline__ void rk_hlc_tick(long long* ctx, long long pt) {
  if (pt > ctx[RK_CTX_NOW_PHYSICAL]) { ctx[RK_CTX_NOW_PHYSICAL] = pt; ctx[RK_CTX_NOW_LOGICAL] = 0; }
  else { ctx[RK_CTX_NOW_LOGICAL] += 1; }
}
__device__ __forceinline__ void rk_hlc_update(long long* ctx, long long pt, long long lm, long long cm) {
  const long long l = ctx[RK_CTX_NOW_PHYSICAL], c = ctx[RK_CTX_NOW_LOGICAL];
  long long nl = l > lm ? l : lm;
  if (pt > nl) nl = pt;
  long long nc;
  if (nl == l && nl == lm) nc = (c > cm ? c : cm) + 1;
  else if (nl == l) nc = c + 1;
  else if (nl == lm) nc = cm + 1;
  else nc = 0;
  ctx[RK_CTX_NOW_PHYSICAL] = nl;
  ctx[RK_CTX_NOW_LOGICAL] = nc;
}

// ---- heartbeat ---------------------------------------------------------------------------------
// Store `now` as the block's heartbeat if the last store (by any thread of the block) is more than
// RK_BEAT_NS old: a shared-memory compare on the fast path, a mapped store at most about once per
// RK_BEAT_NS. `now` is a %globaltimer read the caller makes anyway (HLC, deadlines).
__device__ __forceinline__ void rk_beat_at(rk_peer_queues* peers, long long now) {
  volatile long long* at = &peers->beat_at;
  if (now - *at > RK_BEAT_NS) {
    *at = now;
    rk_store_system(peers->beat, (int64_t)now);
  }
}

// ---- copies ------------------------------------------------------------------------------------
// Widest unit both addresses and the size allow; the source may be mapped host memory, so it is
// read with volatile loads (fetched again, never served from a stale line).
__device__ __forceinline__ void rk_copy_bytes(void* dst, const void* src, unsigned size) {
  const unsigned long long a = (unsigned long long)dst | (unsigned long long)src | size;
  if ((a & 7ull) == 0) {
    for (unsigned i = 0; i < size / 8; ++i)
      ((unsigned long long*)dst)[i] = ((const volatile unsigned long long*)src)[i];
  } else if ((a & 3ull) == 0) {
    for (unsigned i = 0; i < size / 4; ++i) ((unsigned int*)dst)[i] = ((const volatile unsigned int*)src)[i];
  } else {
    for (unsigned i = 0; i < size; ++i) ((unsigned char*)dst)[i] = ((const volatile unsigned char*)src)[i];
  }
}

// The whole block copies `n` consecutive slots (from position `first`) of a queue whose slots are
// `size` bytes into a dense shared-memory array. Every thread of the block must call it.
template <typename Unit>
__device__ __forceinline__ void rk_block_copy_slots(void* dst, const void* slots, unsigned long long first,
                                                    unsigned n, unsigned long long mask, unsigned size) {
  const unsigned words = size / sizeof(Unit);
  const unsigned total = n * words;
  for (unsigned w = threadIdx.x; w < total; w += blockDim.x) {
    const unsigned i = w / words, k = w % words;
    const unsigned long long slot = (first + i) & mask;
    ((Unit*)dst)[w] = ((const volatile Unit*)slots)[slot * words + k];
  }
}

__device__ __forceinline__ void rk_block_copy(void* dst, const void* slots, unsigned long long first,
                                              unsigned n, unsigned long long mask, unsigned size, unsigned align) {
  if (size % 8 == 0 && align >= 8) rk_block_copy_slots<unsigned long long>(dst, slots, first, n, mask, size);
  else if (size % 4 == 0 && align >= 4) rk_block_copy_slots<unsigned int>(dst, slots, first, n, mask, size);
  else rk_block_copy_slots<unsigned char>(dst, slots, first, n, mask, size);
}

// Fill one message header in a queue slot (plain stores; the caller publishes with release).
__device__ __forceinline__ void rk_write_header(rk_message_header* m, unsigned type_id, unsigned long long corr,
                                                const long long* ctx) {
  m->type_id = type_id;
  m->flags = 0;
  m->correlation_id = corr;
  m->hlc_physical = (unsigned long long)ctx[RK_CTX_NOW_PHYSICAL];
  m->hlc_logical = (unsigned)ctx[RK_CTX_NOW_LOGICAL];
  m->source = (unsigned)ctx[RK_CTX_ACTOR_ID];
}

// ---- K2K --------------------------------------------------------------------------------------
__device__ __forceinline__ int rk_peer_give_up(long long* ctx, int k) {
  ctx[RK_CTX_FAILED] = 1;
  ctx[RK_CTX_FAIL_CODE] = RK_FAIL_PEER_FULL;
  ctx[RK_CTX_FAIL_PEER] = k;
  return 1;
}

// Checked every 64 polls of a blocked send: beats (the actor is alive, only blocked), then says
// whether to give up (the host aborted, or the peer timeout passed).
__device__ __forceinline__ bool rk_peer_should_stop(rk_peer_queues* peers, long long deadline) {
  const long long now = rk_now();
  rk_beat_at(peers, now);
  return rk_poll_system(peers->abort) != 0 || now > deadline;
}

// Push `rec` (size bytes) into peer k's inbox. Blocks while the inbox is full (spin, then
// __nanosleep up to 8 us) until ctx[CTX_PEER_TIMEOUT_NS] passes or the host aborts; then marks ctx
// failed (FAIL_PEER_FULL, CTX_FAIL_PEER = k) and returns 1, like queues.send_peer on the CPU.
// The inbox is in device memory, so every ordering here is gpu scope (see the top of this file);
// only the heartbeat and the abort flag (mapped) are system scope. Every send may beat (rate-
// limited by rk_beat_at): a handler that sends in a long loop keeps its actor's heartbeat going.
__device__ __noinline__ int rk_send_peer(rk_peer_queues* peers, int k, long long* ctx, const void* rec,
                                         unsigned size) {
  if (k < 0 || k >= peers->count) return rk_peer_give_up(ctx, k);
  const rk_peer_lane_desc& d = peers->lane[k];
  rk_queue_header* hdr = (rk_queue_header*)d.hdr;
  unsigned long long* lock = (unsigned long long*)d.lock;
  const long long start = rk_now();
  rk_beat_at(peers, start);
  const long long deadline = start + ctx[RK_CTX_PEER_TIMEOUT_NS];
  unsigned polls = 0, nap = 32;
  while (atomicCAS(lock, 0ull, 1ull) != 0ull) {          // producers on the GPU serialise here
    if ((++polls & 63u) == 0 && rk_peer_should_stop(peers, deadline)) return rk_peer_give_up(ctx, k);
    __nanosleep(nap); nap = nap < 8192 ? nap * 2 : nap;
  }
  __threadfence();                                        // lock acquired: see the last producer's tail
  const unsigned long long tail = rk_poll_gpu(&hdr->tail);
  const unsigned long long cap = rk_load_volatile(&hdr->capacity);
  polls = 0; nap = 32;
  while (tail - rk_poll_gpu(&hdr->head) >= cap) {        // inbox full: backpressure
    if ((++polls & 63u) == 0 && rk_peer_should_stop(peers, deadline)) {
      __threadfence(); atomicExch(lock, 0ull);
      return rk_peer_give_up(ctx, k);
    }
    __nanosleep(nap); nap = nap < 8192 ? nap * 2 : nap;
  }
  rk_fence_acquire_gpu();                                 // the consumer's head release -> our slot reuse
  const unsigned long long j = tail & rk_load_volatile(&hdr->mask);
  const unsigned stride = (unsigned)rk_load_volatile(&hdr->payload_size);
  rk_copy_bytes((unsigned char*)d.payload + j * stride, rec, size);
  rk_hlc_tick(ctx, rk_now());
  rk_write_header((rk_message_header*)d.meta + j, (unsigned)rk_load_volatile(&hdr->type_id),
                  (unsigned long long)ctx[RK_CTX_CORRELATION], ctx);
  rk_publish_gpu(&hdr->tail, (decltype(hdr->tail))(tail + 1));   // payload and header, then the tail
  __threadfence();
  atomicExch(lock, 0ull);
  return 0;
}
