// The thread governor (runtime/thread_governor.h) on made-up runs: when it
// drops to one thread, when it tries more again, and when it keeps them.
#include <gtest/gtest.h>

#include "runtime/thread_governor.h"

namespace dynrt {
namespace {

using Clock = ThreadGovernor::Clock;
constexpr double kMs = 1e-3;

struct Runs {
  ThreadGovernor gov{16, true};
  Clock::time_point now = Clock::time_point{} + std::chrono::hours(1);
  // One run of `wall_ms`, its calling thread on the CPU for `cpu_ms`; time moves on by the run.
  int run(double wall_ms, double cpu_ms) {
    now += std::chrono::microseconds(static_cast<int64_t>(wall_ms * 1000));
    gov.observe(wall_ms * kMs, cpu_ms * kMs, now);
    return gov.threads();
  }
  int idle(int n = 1) {
    for (int i = 0; i < n - 1; ++i) run(1, 0.95);
    return run(1, 0.95);
  }
  int starved() { return run(50, 1); }
  void wait(double s) { now += std::chrono::microseconds(static_cast<int64_t>(s * 1e6)); }
};

TEST(ThreadGovernor, IdleRunsKeepEveryThread) {
  Runs r;
  EXPECT_EQ(r.idle(1000), 16);
}

TEST(ThreadGovernor, OneStarvedRunIsNotEnoughTwoInARowAre) {
  Runs r;
  r.idle(20);
  EXPECT_EQ(r.starved(), 16);
  EXPECT_EQ(r.idle(20), 16);
  EXPECT_EQ(r.starved(), 16);
  EXPECT_EQ(r.starved(), 1);
}

TEST(ThreadGovernor, ThreeStarvedRunsOfSixteenDrop) {
  Runs r;
  r.starved();
  r.idle(5);
  r.starved();
  EXPECT_EQ(r.idle(5), 16);
  EXPECT_EQ(r.starved(), 1);
}

TEST(ThreadGovernor, TriesMoreAfterAWhileAndBacksOffWhenStillContended) {
  Runs r;
  r.starved();
  ASSERT_EQ(r.starved(), 1);
  EXPECT_EQ(r.idle(10), 1);  // 10 ms: too soon to try
  r.wait(0.2);
  EXPECT_EQ(r.idle(), 2);      // the try
  EXPECT_EQ(r.starved(), 1);   // one starved run on trial: back
  r.wait(0.25);
  EXPECT_EQ(r.idle(), 1);      // the next try waits twice as long (0.4 s)
  r.wait(0.2);
  EXPECT_EQ(r.idle(), 2);
}

TEST(ThreadGovernor, AFailedTryGoesBackToTheCountThatHeldAndWaitsLongerEachTime) {
  Runs r;
  r.starved();
  ASSERT_EQ(r.starved(), 1);
  r.wait(0.25);
  ASSERT_EQ(r.idle(), 2);
  ASSERT_EQ(r.idle(70), 2);  // 2 holds
  r.wait(0.25);
  EXPECT_EQ(r.idle(), 4);
  EXPECT_EQ(r.starved(), 2);  // 4 does not: back to 2, not 1
  double wait = 0.4;
  for (int i = 0; i < 4; ++i) {  // each failed try doubles the wait: 0.4, 0.8, 1.6, 3.2 s
    r.wait(wait * 0.9);
    EXPECT_EQ(r.idle(), 2) << "try " << i;
    r.wait(wait * 0.2);
    EXPECT_EQ(r.idle(), 4) << "try " << i;
    EXPECT_EQ(r.starved(), 2) << "try " << i;
    wait *= 2;
  }
}

TEST(ThreadGovernor, AHeldCountClimbsBackToEveryThread) {
  Runs r;
  r.starved();
  ASSERT_EQ(r.starved(), 1);
  int threads = 1;
  for (int step = 0; step < 10 && threads < 16; ++step) {
    r.wait(0.25);
    threads = r.idle(70);  // the try, then 64 runs that hold it
  }
  EXPECT_EQ(threads, 16);
}

TEST(ThreadGovernor, ShortRunsAndADisabledGovernorChangeNothing) {
  Runs r;
  for (int i = 0; i < 10; ++i) r.run(0.05, 0.001);  // a twentieth of a millisecond: no signal
  EXPECT_EQ(r.gov.threads(), 16);
  ThreadGovernor off(16, false);
  off.observe(0.05, 0.0001, Clock::now());
  off.observe(0.05, 0.0001, Clock::now());
  EXPECT_EQ(off.threads(), 16);
}

}  // namespace
}  // namespace dynrt
