// Spatial attributes of Conv, ConvTranspose and the pools, and their output
// size / padding formulas. Written once over T = Expr (build-time inference)
// and T = int64_t (kernels), so both sides agree by construction.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "core/expr.h"

namespace dynrt::nnshape {

inline int64_t fdiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline Expr fdiv(Expr a, Expr b) { return floordiv(a, b); }
inline int64_t vmin(int64_t a, int64_t b) { return std::min(a, b); }
inline Expr vmin(Expr a, Expr b) { return min(a, b); }
inline int64_t vmax(int64_t a, int64_t b) { return std::max(a, b); }
inline Expr vmax(Expr a, Expr b) { return max(a, b); }
template <class T> T lit(int64_t v) {
  if constexpr (std::is_same_v<T, Expr>) return Expr::constant(v);
  else return v;
}

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

struct Spatial {
  size_t n = 0;  // number of spatial axes
  AutoPad auto_pad = AutoPad::kNotSet;
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: n begins then n ends
  bool ceil_mode = false;
  std::string error;  // non-empty when the attributes are invalid
  // Build time only: the kernel dims when some are symbolic (a weight that is
  // a graph input); `kernel` then holds placeholders and is not used.
  std::vector<Expr> kernel_expr;

  int64_t eff_kernel(size_t i) const { return dilations[i] * (kernel[i] - 1) + 1; }
  bool same() const { return auto_pad == AutoPad::kSameUpper || auto_pad == AutoPad::kSameLower; }
};

// Reads auto_pad/strides/dilations/pads/ceil_mode from any context with
// attr_ints/attr_string/attr_int (InferContext or KernelInit). `kernel` comes
// from kernel_shape or, for convolutions, from the weight shape.
template <class Ctx>
Spatial read_spatial(const Ctx& c, size_t n, std::vector<int64_t> kernel) {
  Spatial p;
  p.n = n;
  p.kernel = std::move(kernel);
  p.strides = c.attr_ints("strides", std::vector<int64_t>(n, 1));
  p.dilations = c.attr_ints("dilations", std::vector<int64_t>(n, 1));
  p.pads = c.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  p.ceil_mode = c.attr_int("ceil_mode", 0) != 0;
  std::string ap = c.attr_string("auto_pad", "NOTSET");
  if (ap == "NOTSET" || ap.empty()) p.auto_pad = AutoPad::kNotSet;
  else if (ap == "SAME_UPPER") p.auto_pad = AutoPad::kSameUpper;
  else if (ap == "SAME_LOWER") p.auto_pad = AutoPad::kSameLower;
  else if (ap == "VALID") p.auto_pad = AutoPad::kValid;
  else p.error = "unknown auto_pad '" + ap + "'";
  if (p.auto_pad != AutoPad::kNotSet) p.pads.assign(2 * n, 0);
  if (p.kernel.size() != n) p.error = "kernel has " + std::to_string(p.kernel.size()) + " dims, expected " + std::to_string(n);
  if (p.strides.size() != n) p.error = "strides must have " + std::to_string(n) + " values";
  if (p.dilations.size() != n) p.error = "dilations must have " + std::to_string(n) + " values";
  if (p.pads.size() != 2 * n) p.error = "pads must have " + std::to_string(2 * n) + " values";
  // Bounds that keep dilation * (kernel - 1) + pads and friends inside int64
  // (an engine file's attributes are untrusted; real models are far below).
  constexpr int64_t kMaxStep = int64_t{1} << 20, kMaxExtent = int64_t{1} << 40;
  for (size_t i = 0; i < n && p.error.empty(); ++i) {
    if (p.kernel[i] < 1) p.error = "kernel dims must be positive";
    if (p.strides[i] < 1) p.error = "strides must be positive";
    if (p.dilations[i] < 1) p.error = "dilations must be positive";
    if (p.pads[i] < 0 || p.pads[i + n] < 0) p.error = "negative pads are not supported";
    if (p.strides[i] > kMaxStep || p.dilations[i] > kMaxStep) p.error = "strides and dilations above 2^20 are not supported";
    if (p.kernel[i] > kMaxExtent || p.pads[i] > kMaxExtent || p.pads[i + n] > kMaxExtent)
      p.error = "kernel dims and pads above 2^40 are not supported";
  }
  return p;
}

// Effective (dilated) kernel extent along axis i, symbolic when kernel_expr is set.
template <class T>
T eff_kernel_of(const Spatial& p, size_t i) {
  if constexpr (std::is_same_v<T, Expr>) {
    if (!p.kernel_expr.empty())
      return Expr::constant(p.dilations[i]) * (p.kernel_expr[i] - Expr::constant(1)) + Expr::constant(1);
  }
  return lit<T>(p.eff_kernel(i));
}

// in + pads - eff_kernel (folded into one constant when the kernel is known).
template <class T>
T padded_minus_kernel(const Spatial& p, size_t i, T in) {
  if constexpr (std::is_same_v<T, Expr>) {
    if (!p.kernel_expr.empty()) return in + lit<T>(p.pads[i] + p.pads[i + p.n]) - eff_kernel_of<T>(p, i);
  }
  return in + lit<T>(p.pads[i] + p.pads[i + p.n] - p.eff_kernel(i));
}

// Output size of a convolution/pool along spatial axis i (ONNX Runtime's
// rules, including its ceil_mode clamp: no window may start in the end pad).
template <class T>
T forward_out_size(const Spatial& p, size_t i, T in) {
  T s = lit<T>(p.strides[i]);
  if (p.same()) return fdiv(in + s - lit<T>(1), s);
  T num = padded_minus_kernel(p, i, in);
  if (!p.ceil_mode) return fdiv(num, s) + lit<T>(1);
  return vmin(fdiv(num + s - lit<T>(1), s) + lit<T>(1), fdiv(in + lit<T>(p.pads[i] - 1), s) + lit<T>(1));
}

// Concrete begin/end pads of a forward op for a given input and output size.
inline void forward_pads(const Spatial& p, size_t i, int64_t in, int64_t out, int64_t& begin, int64_t& end) {
  if (p.same()) {
    int64_t total = std::max<int64_t>(0, (out - 1) * p.strides[i] + p.eff_kernel(i) - in);
    begin = p.auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
    end = total - begin;
  } else {
    begin = p.pads[i];
    end = p.pads[i + p.n];
  }
}

// A pool's window over 1 to 3 spatial axes as three axes (leading ones of
// size 1) with concrete pads for these spatial sizes; G has in, out, k, s, d,
// pb, pe arrays of 3 (each provider's pooling geometry).
template <class G>
void fill_window3(const Spatial& p, const int64_t* in_dims, const int64_t* out_dims, G& g) {
  size_t off = 3 - p.n;
  for (size_t i = 0; i < p.n; ++i) {
    g.in[off + i] = in_dims[i];
    g.out[off + i] = out_dims[i];
    g.k[off + i] = p.kernel[i];
    g.s[off + i] = p.strides[i];
    g.d[off + i] = p.dilations[i];
    forward_pads(p, i, in_dims[i], out_dims[i], g.pb[off + i], g.pe[off + i]);
  }
}

// ConvTranspose (ONNX Runtime's rules): the natural output size is
// (in-1)*stride + output_padding + eff_kernel; padding is cut from it.
struct Transposed {
  std::vector<int64_t> output_padding, output_shape;  // output_shape: spatial dims or empty
};

template <class T>
T transposed_full(const Spatial& p, const Transposed& t, size_t i, T in) {
  if constexpr (std::is_same_v<T, Expr>) {
    if (!p.kernel_expr.empty())
      return (in - lit<T>(1)) * lit<T>(p.strides[i]) + lit<T>(t.output_padding[i]) + eff_kernel_of<T>(p, i);
  }
  return (in - lit<T>(1)) * lit<T>(p.strides[i]) + lit<T>(t.output_padding[i] + p.eff_kernel(i));
}

template <class T>
T transposed_out_size(const Spatial& p, const Transposed& t, size_t i, T in) {
  if (!t.output_shape.empty()) return lit<T>(t.output_shape[i]);
  T full = transposed_full(p, t, i, in);
  if (p.same()) {
    // total = max(0, full - in*stride): the output is min(full, in*stride).
    return vmin(full, in * lit<T>(p.strides[i]));
  }
  return full - lit<T>(p.pads[i] + p.pads[i + p.n]);
}

// Concrete begin pad of ConvTranspose; the end pad is whatever makes the
// output size come out (negative when output_shape asks for more).
inline int64_t transposed_pad_begin(const Spatial& p, const Transposed& t, size_t i, int64_t in) {
  int64_t full = transposed_full(p, t, i, in);
  if (!t.output_shape.empty() || p.same()) {
    int64_t target = t.output_shape.empty() ? in * p.strides[i] : t.output_shape[i];
    int64_t total = std::max<int64_t>(0, full - target);
    return p.auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
  }
  return p.pads[i];
}

}  // namespace dynrt::nnshape
