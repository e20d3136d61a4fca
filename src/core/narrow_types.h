// The narrow element types: float8 (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ,
// E8M0), float4 (E2M1) and the 4- and 2-bit integers. dynrt stores them one
// element per byte in memory, as ml_dtypes does (4- and 2-bit values in the
// low bits of their byte); ONNX files pack the sub-byte ones (two or four
// elements a byte, the first in the low bits), and the importer unpacks them.
//
// They are storage types: Cast, CastLike, QuantizeLinear, DequantizeLinear
// convert them, and ops that only move bytes carry them; every other op
// rejects them (ops/registry.cpp: check_narrow_types). The conversions follow
// the ONNX reference (onnx.reference and ml_dtypes): round to nearest even,
// the saturate attribute for float8, round_mode for E8M0.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "dynrt/types.h"

namespace dynrt::narrow {

inline bool is_narrow(DType t) { return t >= DType::kFloat8E4M3FN && t <= DType::kInt2; }
inline bool is_narrow_int(DType t) {
  return t == DType::kInt4 || t == DType::kUInt4 || t == DType::kInt2 || t == DType::kUInt2;
}
inline bool is_narrow_float(DType t) { return is_narrow(t) && !is_narrow_int(t); }
// Bits an element takes in an ONNX file (packed); 8 for the others.
inline int file_bits(DType t) {
  switch (t) {
    case DType::kInt4: case DType::kUInt4: case DType::kFloat4E2M1: return 4;
    case DType::kInt2: case DType::kUInt2: return 2;
    default: return 8;
  }
}

// ---- 4- and 2-bit integers ------------------------------------------------------------------

struct IntRange {
  int64_t lo, hi;
  int bits;
};
inline IntRange int_range(DType t) {
  switch (t) {
    case DType::kInt4: return {-8, 7, 4};
    case DType::kUInt4: return {0, 15, 4};
    case DType::kInt2: return {-2, 1, 2};
    default: return {0, 3, 2};  // kUInt2
  }
}
// The stored byte's value: low bits, sign-extended for the signed types.
inline int64_t int_decode(DType t, uint8_t b) {
  const IntRange r = int_range(t);
  const int64_t v = b & ((1 << r.bits) - 1);
  return r.lo < 0 && v > r.hi ? v - (int64_t{1} << r.bits) : v;
}
// From an integer: the low bits (ONNX: out-of-range fixed point keeps the low bits).
inline uint8_t int_encode_wrap(DType t, int64_t v) {
  return static_cast<uint8_t>(static_cast<uint64_t>(v) & ((1u << int_range(t).bits) - 1));
}
// From a float: truncated toward zero; out of range or NaN gives 0 (ONNX
// leaves it undefined; this is ml_dtypes', so the reference's).
inline uint8_t int_encode_float(DType t, double v) {
  const IntRange r = int_range(t);
  if (!(v > static_cast<double>(r.lo) - 1) || !(v < static_cast<double>(r.hi) + 1)) return 0;
  return int_encode_wrap(t, static_cast<int64_t>(std::trunc(v)));
}
// Saturating, for QuantizeLinear (the value is already rounded).
inline uint8_t int_encode_saturate(DType t, double v) {
  const IntRange r = int_range(t);
  if (v != v) return 0;
  const double c = v < static_cast<double>(r.lo) ? static_cast<double>(r.lo) : v > static_cast<double>(r.hi) ? static_cast<double>(r.hi) : v;
  return int_encode_wrap(t, static_cast<int64_t>(c));
}

// ---- float8 and float4 ---------------------------------------------------------------------

struct FloatFormat {
  int exp_bits, mant_bits, bias;
  bool has_inf;        // E5M2: IEEE-style infinities and NaNs
  bool fnuz;           // 0x80 is the only NaN; no negative zero
  bool nan_all_ones;   // E4M3FN: S.1111.111 is NaN, the rest of the top binade is finite
  bool no_nan;         // float4: neither NaN nor infinity
  double max;
};
inline FloatFormat float_format(DType t) {
  switch (t) {
    case DType::kFloat8E4M3FN: return {4, 3, 7, false, false, true, false, 448.0};
    case DType::kFloat8E4M3FNUZ: return {4, 3, 8, false, true, false, false, 240.0};
    case DType::kFloat8E5M2: return {5, 2, 15, true, false, false, false, 57344.0};
    case DType::kFloat8E5M2FNUZ: return {5, 2, 16, false, true, false, false, 57344.0};
    default: return {2, 1, 1, false, false, false, true, 6.0};  // kFloat4E2M1
  }
}

inline double float_decode(const FloatFormat& f, uint8_t b) {
  const int width = 1 + f.exp_bits + f.mant_bits;
  b = static_cast<uint8_t>(b & ((1u << width) - 1));
  const bool neg = (b >> (width - 1)) & 1;
  const int field = (b >> f.mant_bits) & ((1 << f.exp_bits) - 1), mant = b & ((1 << f.mant_bits) - 1);
  const int top = (1 << f.exp_bits) - 1;
  if (f.fnuz && b == 0x80) return std::nan("");
  if (f.nan_all_ones && field == top && mant == (1 << f.mant_bits) - 1) return neg ? -std::nan("") : std::nan("");
  if (f.has_inf && field == top) {
    if (mant == 0) return neg ? -INFINITY : INFINITY;
    return neg ? -std::nan("") : std::nan("");
  }
  const double m = field == 0 ? mant : (1 << f.mant_bits) + mant;
  const double v = std::ldexp(m, (field == 0 ? 1 : field) - f.bias - f.mant_bits);
  return neg ? -v : v;
}

inline uint8_t float_encode(const FloatFormat& f, double x, bool saturate) {
  const int width = 1 + f.exp_bits + f.mant_bits;
  const bool neg = std::signbit(x);
  const uint8_t sign = static_cast<uint8_t>(neg ? 1u << (width - 1) : 0u);
  const uint8_t max_code = static_cast<uint8_t>(
      ((1u << (f.exp_bits + f.mant_bits)) - 1) - (f.nan_all_ones ? 1 : 0) - (f.has_inf ? (1u << f.mant_bits) : 0));
  auto overflow = [&]() -> uint8_t {
    if (saturate || f.no_nan) return static_cast<uint8_t>(sign | max_code);
    if (f.has_inf) return static_cast<uint8_t>(sign | (((1u << f.exp_bits) - 1) << f.mant_bits));
    if (f.fnuz) return 0x80;
    return static_cast<uint8_t>(sign | 0x7F);  // E4M3FN's NaN
  };
  if (std::isnan(x)) {
    if (f.no_nan) return neg ? 0x0 : 0x8;  // ml_dtypes' float4 (the reference's): NaN lands on a zero
    if (f.fnuz) return 0x80;
    if (f.has_inf) return static_cast<uint8_t>(sign | 0x7E);
    return static_cast<uint8_t>(sign | 0x7F);
  }
  const double a = std::fabs(x);
  if (std::isinf(a)) return overflow();
  // Round to nearest even at this binade's spacing (subnormals share the lowest normal binade's).
  const int min_exp = 1 - f.bias;
  int e = 0;
  std::frexp(a, &e);
  int exp = a == 0 ? min_exp : e - 1;
  if (exp < min_exp) exp = min_exp;
  const double quantum = std::ldexp(1.0, exp - f.mant_bits);
  const double r = std::nearbyint(a / quantum) * quantum;
  if (r > f.max) return overflow();
  if (r == 0) return f.fnuz ? uint8_t{0} : sign;
  int re = 0;
  std::frexp(r, &re);
  int rexp = re - 1;
  unsigned field = 0, mant = 0;
  if (rexp < min_exp) {
    mant = static_cast<unsigned>(std::ldexp(r, f.mant_bits - min_exp));
  } else {
    field = static_cast<unsigned>(rexp + f.bias);
    mant = static_cast<unsigned>(std::ldexp(r, f.mant_bits - rexp)) - (1u << f.mant_bits);
  }
  return static_cast<uint8_t>(sign | (field << f.mant_bits) | mant);
}

// ---- E8M0 (a power of two, no sign; 0xFF is NaN) ---------------------------------------------

inline double e8m0_decode(uint8_t b) { return b == 0xFF ? std::nan("") : std::ldexp(1.0, b - 127); }

enum class RoundMode { kUp, kDown, kNearest };
// From float32 bits, as onnx.numpy_helper.to_float8e8m0 does: the sign is
// ignored, NaN and infinity give 0xFF.
inline uint8_t e8m0_encode(float x, bool saturate, RoundMode mode) {
  uint32_t bits = 0;
  std::memcpy(&bits, &x, 4);
  unsigned exp = (bits >> 23) & 0xFF;
  if (exp == 0xFF) return 0xFF;
  bool up = false;
  if (mode == RoundMode::kUp) {
    up = (bits & 0x7FFFFF) != 0;
  } else if (mode == RoundMode::kNearest) {
    const bool g = bits & 0x400000, r = bits & 0x200000, s = (bits & 0x1FFFFF) != 0, lsb = exp > 0;
    up = g && (r || s || lsb);
  }
  if (up && saturate && exp == 0xFE) up = false;
  return static_cast<uint8_t>(exp + (up ? 1 : 0));
}

// Any narrow float's value.
inline double to_double(DType t, uint8_t b) {
  if (t == DType::kFloat8E8M0) return e8m0_decode(b);
  if (is_narrow_int(t)) return static_cast<double>(int_decode(t, b));
  return float_decode(float_format(t), b);
}

}  // namespace dynrt::narrow
