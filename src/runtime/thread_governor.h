// CPU threads under contention. A parallel loop (oneDNN's and our kernels',
// TBB since session 15) ends when its last chunk does; when other processes
// keep the cores busy, a chunk whose thread is descheduled holds the loop for
// a scheduler slice (on OpenMP, with static teams and barriers, every thread
// did: a small encoder took 52 ms at 16 threads under a compile on each core,
// 0.45 ms idle). With TBB, idle threads steal chunks not started, which did
// most of the work (docs/benchmarks.md, "Latency under load"); fewer threads
// still measured better for BERT-base under that load.
//
// The governor watches the calling thread of each run: idle, it works
// through the loops, so its CPU time is most of the run's wall time; starved,
// it waits for chunks on descheduled workers, and its CPU time is a small
// part. Two starved runs in a row, or three of the
// last sixteen, drop the context to one thread. From then on it
// tries twice the threads, first after 0.2 s; a raised count that has one
// starved run in its first 16 runs, or trips the rule above in its first 64,
// goes back to the count that held, and the next try waits twice as long (up
// to 8 s); one that holds for 64 runs is kept, and the next try comes after
// 0.2 s. oneDNN fixes a primitive's thread count when it is
// made, so each thread count has its own plans (the plan cache key includes it).
#pragma once

#include <chrono>
#include <cstdint>

#include "dynrt/export.h"

namespace dynrt {

class DYNRT_INTERNAL ThreadGovernor {
 public:
  using Clock = std::chrono::steady_clock;
  ThreadGovernor(int max_threads, bool enabled)
      : max_(max_threads), active_(max_threads), held_(max_threads), enabled_(enabled) {}
  int threads() const { return active_; }
  bool enabled() const { return enabled_ && max_ > 1; }
  // After a run: its wall time and the calling thread's CPU time, in seconds.
  void observe(double wall_s, double cpu_s, Clock::time_point now);

  // A run whose calling thread had CPU for less than this part of its wall
  // time waited at barriers for descheduled threads.
  static constexpr double kStarved = 0.3;

 private:
  int max_, active_;
  int held_;  // the count known to hold (active_ > held_: a raised count on trial)
  bool enabled_;
  uint32_t history_ = 0;  // the last 16 runs, newest in bit 0: 1 = starved
  int runs_at_count_ = 0;  // runs since the thread count last changed (saturates at 1000)
  static constexpr double kFirstTry = 0.2;  // seconds at one thread before the first try of more
  double backoff_s_ = kFirstTry;
  Clock::time_point next_probe_{};
};

}  // namespace dynrt
