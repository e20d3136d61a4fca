// Branch-free math that the compiler vectorizes inside `#pragma omp simd`
// loops (libm's expf is a call and blocks vectorization without -ffast-math).
// Used by the reduction and normalization kernels.
//
// GCC (with the default -ftrapping-math) will not if-convert a select whose
// other arm holds float arithmetic, and fminf/fmaxf have no vector form, so
// clamps and fixups are integer bit blends.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

// Kernels compiled twice, for AVX-512 and the baseline (the loader picks).
// ThreadSanitizer builds get one version: the ifunc resolver that
// target_clones makes runs before TSan's runtime has started, and crashes.
#if defined(__SANITIZE_THREAD__)
#define DYNRT_AVX512_CLONE
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DYNRT_AVX512_CLONE
#endif
#endif
#ifndef DYNRT_AVX512_CLONE
#define DYNRT_AVX512_CLONE __attribute__((target_clones("arch=x86-64-v4", "default")))
#endif

namespace dynrt::cpu {

// Bitwise select: mask is all ones or zero.
[[gnu::always_inline]] inline int32_t blend_bits(int32_t mask, int32_t a, int32_t b) { return (a & mask) | (b & ~mask); }

// exp(x) = y * 2^n for a clamped x: n = x / ln2 rounded to nearest (the
// 1.5*2^23 trick, no libm call), y the Cephes polynomial on the remainder.
[[gnu::always_inline]] inline float exp_reduced(float xc, float& n) {
  n = (xc * 1.44269504088896341f + 12582912.f) - 12582912.f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * r * r + r + 1.f;
}

// exp(x) for float, max error about 2 ulp (Cephes polynomial); -inf -> 0,
// +inf -> inf, NaN -> NaN.
[[gnu::always_inline]] inline float vexp(float x) {
  constexpr int32_t kHi = 0x42b20000;                          // 89.0f
  constexpr int32_t kLo = static_cast<int32_t>(0xc3340000u);   // -180.0f
  int32_t ix = std::bit_cast<int32_t>(x);
  int32_t above = -static_cast<int32_t>(ix > kHi);  // x > 89 (or a positive NaN)
  int32_t below = -static_cast<int32_t>(static_cast<uint32_t>(ix) > static_cast<uint32_t>(kLo));  // x < -180
  float xc = std::bit_cast<float>(blend_bits(below, kLo, blend_bits(above, kHi, ix)));
  float n;
  const float y = exp_reduced(xc, n);
  // 2^n as two factors, so n in [-260, 128] needs no special case: both are
  // 0 far below (exact underflow), the product overflows to inf above 88.72.
  auto ni = static_cast<int32_t>(n);
  int32_t h = ni >> 1;
  int32_t e1 = h + 127, e2 = ni - h + 127;
  e1 &= ~(e1 >> 31);  // max(e, 0)
  e2 &= ~(e2 >> 31);
  int32_t res = std::bit_cast<int32_t>(y * std::bit_cast<float>(e1 << 23) * std::bit_cast<float>(e2 << 23));
  int32_t nan = -static_cast<int32_t>((ix & 0x7fffffff) > 0x7f800000);
  return std::bit_cast<float>(blend_bits(nan, ix, res));
}

inline double vexp(double x) { return std::exp(x); }

// float -> bfloat16, round to nearest even, NaN kept quiet: integer selects
// only, so it vectorizes (core/half.h's float_to_bf16 branches).
[[gnu::always_inline]] inline uint16_t to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t rounded = x + 0x7fffu + ((x >> 16) & 1u);
  const uint32_t nan = -static_cast<uint32_t>((x & 0x7fffffffu) > 0x7f800000u);
  return static_cast<uint16_t>((((x | 0x400000u) & nan) | (rounded & ~nan)) >> 16);
}

// exp(-|x|), for the saturating functions below: the argument is in [-87, 0]
// after a clamp, so 2^n is one exponent field (no overflow, NaN or two-factor
// scaling as in vexp); same polynomial, about 2 ulp.
[[gnu::always_inline]] inline float vexp_neg_abs(float x) {
  constexpr int32_t kLo = static_cast<int32_t>(0xc2ae0000u);  // -87.0f
  int32_t ia = std::bit_cast<int32_t>(x) | static_cast<int32_t>(0x80000000u);  // -|x|
  int32_t below = -static_cast<int32_t>(static_cast<uint32_t>(ia) > static_cast<uint32_t>(kLo));
  float xc = std::bit_cast<float>(blend_bits(below, kLo, ia));
  float n;
  const float y = exp_reduced(xc, n);
  return y * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
}

// exp(x) for x <= 0 (a softmax's x - max), -inf -> 0, NaN -> NaN, for
// results rounded to bf16 afterwards: a degree-4 Taylor polynomial (relative
// error 4e-5, a fiftieth of a bf16 ulp), a third fewer operations than vexp.
// Below -87 the result is 0; above 0 it is 1 (not a softmax's case).
[[gnu::always_inline]] inline float vexp_nonpositive_bf16(float x) {
  constexpr int32_t kLo = static_cast<int32_t>(0xc2ae0000u);  // -87.0f
  const int32_t ix = std::bit_cast<int32_t>(x);
  // Negative floats' bits grow with the magnitude: below -87 (or -inf) compares above kLo.
  const int32_t below = -static_cast<int32_t>(static_cast<uint32_t>(ix) > static_cast<uint32_t>(kLo));
  const int32_t above = -static_cast<int32_t>(ix > 0);  // positive (a NaN too): 0, so the int cast below is defined
  const float xc = std::bit_cast<float>(blend_bits(below, kLo, blend_bits(above, 0, ix)));
  const float n = (xc * 1.44269504088896341f + 12582912.f) - 12582912.f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float p = (((4.16666667e-2f * r + 1.66666667e-1f) * r + 0.5f) * r + 1.f) * r + 1.f;
  const int32_t y = std::bit_cast<int32_t>(p * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23));
  const int32_t nan = -static_cast<int32_t>((ix & 0x7fffffff) > 0x7f800000);
  return std::bit_cast<float>(blend_bits(nan, ix, y & ~below));
}

// sigmoid(x) from e = e^-|x|: 1 / (1 + e) for x >= 0, e / (1 + e) below (no
// cancellation); one exponential and one division; NaN stays NaN. EXP is the
// exponential of -|x|: vexp (every float, subnormal results included) or
// vexp_neg_abs (the RNN cells' gates: cheaper, results below e^-87 ~ 1.6e-38
// not resolved).
template <bool FULL_RANGE>
[[gnu::always_inline]] inline float sigmoid_impl(float x) {
  const int32_t ix = std::bit_cast<int32_t>(x);
  const float e = FULL_RANGE ? vexp(std::bit_cast<float>(ix | static_cast<int32_t>(0x80000000u))) : vexp_neg_abs(x);
  const float inv = 1.f / (1.f + e);
  const int32_t neg = ix >> 31;  // all ones when the sign bit is set
  const int32_t nan = -static_cast<int32_t>((ix & 0x7fffffff) > 0x7f800000);
  return std::bit_cast<float>(blend_bits(nan, ix, blend_bits(neg, std::bit_cast<int32_t>(e * inv), std::bit_cast<int32_t>(inv))));
}
[[gnu::always_inline]] inline float vsigmoid(float x) { return sigmoid_impl<true>(x); }
[[gnu::always_inline]] inline float vsigmoid_gate(float x) { return sigmoid_impl<false>(x); }

// tanh(x) = sign(x) (1 - e) / (1 + e) with e = e^-2|x|; below |x| = 1/16, where
// 1 - e would cancel, the Taylor series to x^7 (relative error under 1e-11).
// NaN stays NaN.
[[gnu::always_inline]] inline float vtanh(float x) {
  const float e = vexp_neg_abs(2.f * x);
  const float t = (1.f - e) / (1.f + e);
  const float x2 = x * x;
  const float series = x * (1.f + x2 * (-1.f / 3 + x2 * (2.f / 15 + x2 * (-17.f / 315))));
  const int32_t ix = std::bit_cast<int32_t>(x);
  const int32_t small = -static_cast<int32_t>((ix & 0x7fffffff) < 0x3d800000);  // |x| < 1/16
  const int32_t nan = -static_cast<int32_t>((ix & 0x7fffffff) > 0x7f800000);
  const int32_t big = std::bit_cast<int32_t>(t) | (ix & static_cast<int32_t>(0x80000000u));
  return std::bit_cast<float>(blend_bits(nan, ix, blend_bits(small, std::bit_cast<int32_t>(series), big)));
}

}  // namespace dynrt::cpu
