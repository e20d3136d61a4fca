#include "runtime/thread_governor.h"

#include <algorithm>
#include <bit>

namespace dynrt {

void ThreadGovernor::observe(double wall_s, double cpu_s, Clock::time_point now) {
  if (!enabled_ || max_ <= 1) return;
  if (wall_s < 1e-4) return;  // runs too short to tell (a tenth of a millisecond) say nothing
  const bool starved = cpu_s < kStarved * wall_s;
  auto after = [&](double s) { return now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };
  history_ = ((history_ << 1) | (starved ? 1u : 0u)) & 0xFFFFu;
  if (runs_at_count_ < 1000) ++runs_at_count_;  // only compared with 16 and 64
  // A raised count is held to a stricter rule for its first 16 runs: one
  // starved run and it goes (a failed try costs one slow run).
  const bool on_trial = active_ > held_;
  const bool contended = (history_ & 3u) == 3u || std::popcount(history_) >= 3 ||
                         (on_trial && runs_at_count_ <= 16 && starved);
  if (contended && active_ > 1) {
    if (on_trial) {  // back to the count that held; the next try waits twice as long
      active_ = held_;
      backoff_s_ = std::min(backoff_s_ * 2, 8.0);
    } else {  // the load came or grew: one thread
      active_ = held_ = 1;
    }
    history_ = 0;
    runs_at_count_ = 0;
    next_probe_ = after(backoff_s_);
    return;
  }
  if (on_trial && runs_at_count_ >= 64) {  // held: the next try comes soon again
    held_ = active_;
    backoff_s_ = kFirstTry;
    next_probe_ = after(backoff_s_);
  }
  if (active_ == held_ && active_ < max_ && !starved && now >= next_probe_) {
    active_ = std::min(max_, active_ * 2);
    history_ = 0;
    runs_at_count_ = 0;
  }
}

}  // namespace dynrt
