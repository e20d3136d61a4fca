// The vectorizable sigmoid and tanh of backends/cpu/vec_math.h against libm in
// double precision: relative error of a few float ulps over the float range
// (tiny results and tiny arguments included), saturation, sign and NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "backends/cpu/vec_math.h"

namespace {

using dynrt::cpu::vsigmoid;
using dynrt::cpu::vsigmoid_gate;
using dynrt::cpu::vtanh;

double rel(double got, double want) { return want == 0 ? std::abs(got) : std::abs(got - want) / std::abs(want); }

TEST(VecMath, SigmoidRelativeErrorOverTheRange) {
  double worst = 0, worst_gate = 0;
  for (double x = -87; x <= 40; x += 1.0 / 1024) {
    const auto f = static_cast<float>(x);
    const double want = 1 / (1 + std::exp(-static_cast<double>(f)));
    worst = std::max(worst, rel(vsigmoid(f), want));
    worst_gate = std::max(worst_gate, rel(vsigmoid_gate(f), want));
  }
  EXPECT_LT(worst, 1e-6);
  EXPECT_LT(worst_gate, 1e-6);
  // Below e^-87 the full-range form still resolves the (subnormal) result.
  EXPECT_GT(vsigmoid(-100.f), 0.f);
  EXPECT_LT(rel(vsigmoid(-95.f), std::exp(-95.0)), 1e-3);
}

TEST(VecMath, TanhRelativeErrorOverTheRange) {
  double worst = 0;
  for (double x = -20; x <= 20; x += 1.0 / 1024) {
    const auto f = static_cast<float>(x);
    if (f != 0) worst = std::max(worst, rel(vtanh(f), std::tanh(static_cast<double>(f))));
  }
  for (double x = 1e-30; x < 1; x *= 1.37) {  // small arguments: no cancellation
    const auto f = static_cast<float>(x);
    worst = std::max(worst, rel(vtanh(f), std::tanh(static_cast<double>(f))));
    worst = std::max(worst, rel(vtanh(-f), std::tanh(-static_cast<double>(f))));
  }
  EXPECT_LT(worst, 1e-6);
}

TEST(VecMath, SigmoidAndTanhEdges) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float tiny = std::numeric_limits<float>::denorm_min(), big = std::numeric_limits<float>::max();
  for (auto sig : {vsigmoid, vsigmoid_gate}) {
    EXPECT_EQ(sig(inf), 1.f);
    EXPECT_LE(sig(-inf), 2e-38f);  // the gate form stops at e^-87
    EXPECT_EQ(sig(big), 1.f);
    EXPECT_EQ(sig(0.f), 0.5f);
    EXPECT_EQ(sig(-tiny), 0.5f);
    EXPECT_TRUE(std::isnan(sig(nan)));
  }
  EXPECT_EQ(vsigmoid(-big), 0.f);
  EXPECT_EQ(vsigmoid(-inf), 0.f);
  EXPECT_EQ(vtanh(inf), 1.f);
  EXPECT_EQ(vtanh(-inf), -1.f);
  EXPECT_EQ(vtanh(-big), -1.f);
  EXPECT_EQ(vtanh(0.f), 0.f);
  EXPECT_TRUE(std::signbit(vtanh(-0.f)));
  EXPECT_EQ(vtanh(tiny), tiny);
  EXPECT_TRUE(std::isnan(vtanh(nan)));
  EXPECT_TRUE(std::isnan(vtanh(-nan)));
}

}  // namespace
