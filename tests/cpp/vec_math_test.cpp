// The vectorizable sigmoid and tanh of backends/cpu/vec_math.h against libm in
// double precision: over the whole float range they saturate, keep the sign,
// stay within a few float ulps of 1 in absolute terms, and pass NaN through.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "backends/cpu/vec_math.h"

namespace {

using dynrt::cpu::vsigmoid;
using dynrt::cpu::vtanh;

TEST(VecMath, SigmoidAndTanhMatchLibm) {
  double worst_sig = 0, worst_tanh = 0, worst_tanh_rel = 0;
  for (double x = -120; x <= 120; x += 1.0 / 1024) {
    const auto f = static_cast<float>(x);
    const double s = 1 / (1 + std::exp(-static_cast<double>(f))), t = std::tanh(static_cast<double>(f));
    worst_sig = std::max(worst_sig, std::abs(vsigmoid(f) - s));
    worst_tanh = std::max(worst_tanh, std::abs(vtanh(f) - t));
    if (std::abs(t) > 0.1) worst_tanh_rel = std::max(worst_tanh_rel, std::abs(vtanh(f) - t) / std::abs(t));
  }
  EXPECT_LT(worst_sig, 3e-7);
  EXPECT_LT(worst_tanh, 3e-7);
  EXPECT_LT(worst_tanh_rel, 1e-6);
}

TEST(VecMath, SigmoidAndTanhEdges) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float tiny = std::numeric_limits<float>::denorm_min(), big = std::numeric_limits<float>::max();
  EXPECT_EQ(vsigmoid(inf), 1.f);
  EXPECT_EQ(vsigmoid(-inf), 0.f);
  EXPECT_EQ(vsigmoid(big), 1.f);
  EXPECT_EQ(vsigmoid(-big), 0.f);
  EXPECT_EQ(vsigmoid(0.f), 0.5f);
  EXPECT_EQ(vsigmoid(-tiny), 0.5f);
  EXPECT_EQ(vtanh(inf), 1.f);
  EXPECT_EQ(vtanh(-inf), -1.f);
  EXPECT_EQ(vtanh(-big), -1.f);
  EXPECT_EQ(vtanh(0.f), 0.f);
  EXPECT_TRUE(std::signbit(vtanh(-0.f)));
  EXPECT_NEAR(vtanh(1e-4f), 1e-4f, 1e-7f);
  EXPECT_NEAR(vtanh(-1e-4f), -1e-4f, 1e-7f);
  EXPECT_TRUE(std::isnan(vsigmoid(nan)));
  EXPECT_TRUE(std::isnan(vtanh(nan)));
  EXPECT_TRUE(std::isnan(vtanh(-nan)));
}

}  // namespace
