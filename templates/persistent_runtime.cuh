// ringkernel device runtime for @persistent kernels: the leader's decisions at step boundaries.
// Included by persistent.cu.j2 after the layout header (rk_control_block), the persistent header
// (rk_persistent_block: control block + mailbox, RK_CMD_BOUNDARY) and the RK_* lifecycle constants.
//
// One thread (the leader) reads the host's mapped control block and mailbox at a step boundary and
// writes its decision into device memory; the barrier after it broadcasts the decision, so no
// command is ever seen by part of the grid. Polling mapped host memory: a __threadfence_system()
// before the loads of each poll (DESIGN.md §6: a plain load in a spin loop is hoisted and never
// sees the host's write), and volatile loads.
#pragma once

#define RK_SLOW 0            // take the slow path: the leader waits for work with the grid stopped
#define RK_STEP 1            // run the next step
#define RK_EXIT 2            // terminate: every thread returns

#ifndef RK_BEAT_NS
#define RK_BEAT_NS 1000000ll
#endif

// Device-memory words of one simulation (zeroed by the host before the launch).
struct rk_persistent_sync {
  long long decision[2];     // fast-path decision for iteration it, indexed it & 1 (double-buffered)
  long long decision2;       // slow-path decision (RK_STEP or RK_EXIT)
  long long end;             // cluster mode: the step the current segment ends at
  long long cut;             // cluster mode: a step every cluster stops at (a command arrived)
  long long beat_at;
  long long parks;           // how many times the leader parked (the mailbox's `parked` number)
  long long pad[1];
  double fs[RK_N_FLOAT];     // the scalar parameters, copied from mapped memory at each slow path
  long long is[RK_N_INT];
  long long flags[1];        // cluster mode: steps each cluster has completed (one word per cluster)
};

template <typename T> __device__ __forceinline__ long long rk_sys_poll(const T* p) {
  static_assert(sizeof(T) == 8, "control words are 64-bit");
  return (long long)*reinterpret_cast<const volatile T*>(p);
}
template <typename T> __device__ __forceinline__ void rk_sys_write(T* p, long long v) {
  static_assert(sizeof(T) == 8, "control words are 64-bit");
  *reinterpret_cast<volatile T*>(p) = (T)v;
}

__device__ __forceinline__ void rk_beat(rk_persistent_block* b, rk_persistent_sync* s) {
  const long long now = (long long)rk_globaltimer();
  if (now - s->beat_at > RK_BEAT_NS) {
    s->beat_at = now;
    rk_sys_write(&b->control.heartbeat_ns, now);
  }
}

// The leader, between two steps, without waiting: RK_STEP when nothing asks for attention.
__device__ __forceinline__ long long rk_fast_decision(rk_persistent_block* b, rk_persistent_sync* s,
                                                      long long steps, long long seen) {
  rk_beat(b, s);
  __threadfence_system();
  if (rk_sys_poll(&b->control.command_seq) != seen) return RK_SLOW;
  const long long stop_at = rk_sys_poll(&b->mailbox.stop_at);
  if (stop_at >= 0 && steps >= stop_at) return RK_SLOW;
  if (steps >= rk_sys_poll(&b->mailbox.target)) return RK_SLOW;
  return rk_sys_poll(&b->control.state) == RK_STATE_ACTIVE ? RK_STEP : RK_SLOW;
}

// Park at this boundary until `done()` says the host has served it (read, inject, set).
template <typename Done>
__device__ __forceinline__ void rk_park(rk_persistent_block* b, rk_persistent_sync* s, long long steps, Done done) {
  rk_sys_write(&b->mailbox.boundary_step, steps);
  __threadfence_system();
  rk_sys_write(&b->mailbox.parked, ++s->parks);
  for (;;) {
    rk_beat(b, s);
    __threadfence_system();
    if (done()) break;
    __nanosleep(1000);
  }
  rk_sys_write(&b->mailbox.parked, 0ll);
}

// The leader with every block stopped at a boundary: publish the step count, serve commands and
// scheduled boundaries, idle while paused or out of steps. Returns RK_STEP or RK_EXIT; before
// RK_STEP the scalars are copied to device memory (set() changes them only at a boundary).
__device__ long long rk_wait_for_work(rk_persistent_block* b, rk_persistent_sync* s, long long steps,
                                      long long* seen, const double* fs, const long long* is) {
  __threadfence_system();
  rk_sys_write(&b->mailbox.steps, steps);
  for (unsigned int idle = 0;; ++idle) {
    rk_beat(b, s);
    __threadfence_system();
    const long long seq = rk_sys_poll(&b->control.command_seq);
    if (seq != *seen) {
      const long long cmd = rk_sys_poll(&b->control.command);
      if (cmd == RK_CMD_TERMINATE) {
        rk_sys_write(&b->control.exit_reason, (long long)RK_EXIT_TERMINATED);
        __threadfence_system();
        rk_sys_write(&b->control.command_ack, seq);
        return RK_EXIT;
      }
      if (cmd == RK_CMD_BOUNDARY) {        // the host serves it and then acknowledges it
        rk_park(b, s, steps, [&] { return rk_sys_poll(&b->control.command_ack) >= seq; });
        *seen = seq;
        continue;
      }
      *seen = seq;
      if (cmd == RK_CMD_DEACTIVATE) rk_sys_write(&b->control.state, (long long)RK_STATE_DRAINING);
      else if (cmd == RK_CMD_ACTIVATE) rk_sys_write(&b->control.state, (long long)RK_STATE_ACTIVE);
      __threadfence_system();
      rk_sys_write(&b->control.command_ack, seq);
      continue;
    }
    const long long stop_at = rk_sys_poll(&b->mailbox.stop_at);
    if (stop_at >= 0 && steps >= stop_at) {   // a scheduled inject/set: the host serves, then moves stop_at
      rk_park(b, s, steps, [&] { return rk_sys_poll(&b->mailbox.stop_at) != stop_at; });
      continue;
    }
    if (rk_sys_poll(&b->control.state) == RK_STATE_ACTIVE && steps < rk_sys_poll(&b->mailbox.target)) {
      for (int i = 0; i < RK_N_FLOAT; ++i) s->fs[i] = *reinterpret_cast<const volatile double*>(&fs[i]);
      for (int i = 0; i < RK_N_INT; ++i) s->is[i] = *reinterpret_cast<const volatile long long*>(&is[i]);
      __threadfence();
      return RK_STEP;
    }
    __nanosleep(idle < 64 ? 200 : 2000);
  }
}

// Cluster mode: a cluster's completed-step flag in device memory, published and read at gpu scope.
#ifdef RK_HOST_EMULATION
inline void rk_flag_publish(long long* p, long long v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
inline long long rk_flag_poll(const long long* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
#else
__device__ __forceinline__ void rk_flag_publish(long long* p, long long v) {
  asm volatile("st.release.gpu.b64 [%0], %1;" :: "l"(p), "l"(v) : "memory");
}
__device__ __forceinline__ long long rk_flag_poll(const long long* p) {
  long long v;
  asm volatile("ld.acquire.gpu.b64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
  return v;
}
#endif
