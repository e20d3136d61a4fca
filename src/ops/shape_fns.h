// Output-shape functions written once over T = Expr (build-time inference,
// facts become guards) and T = int64_t (the runtime, for targets known only
// while running, facts checked on numbers). Ctx is InferContext or
// RunShapeContext: both have fail, require_equal, require_divisible and
// broadcast_dim for their T.
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "core/expr.h"
#include "ops/registry.h"

namespace dynrt::shapefn {

inline bool is(int64_t d, int64_t v) { return d == v; }
inline bool is(const Expr& d, int64_t v) { return d.is_const() && d.const_value() == v; }
inline bool negative(int64_t d) { return d < 0; }
inline bool negative(const Expr& d) { return d.is_const() && d.const_value() < 0; }
inline int64_t fdiv(int64_t a, int64_t b) { return a / b; }  // after require_divisible
inline Expr fdiv(const Expr& a, const Expr& b) { return floordiv(a, b); }
template <class T> T one() {
  if constexpr (std::is_same_v<T, Expr>) return Expr::constant(1);
  else return 1;
}
template <class T> T zero() {
  if constexpr (std::is_same_v<T, Expr>) return Expr::constant(0);
  else return 0;
}
template <class T> T lit(int64_t v) {
  if constexpr (std::is_same_v<T, Expr>) return Expr::constant(v);
  else return v;
}
template <class T> T product_of(const std::vector<T>& dims) {
  T p = one<T>();
  for (const T& d : dims) p = p * d;
  return p;
}
// Run-time dims come from tensor values: their product may not fit (Expr arithmetic checks itself).
inline int64_t product_of(const std::vector<int64_t>& dims) {
  int64_t p = 1;
  for (int64_t d : dims)
    if (__builtin_mul_overflow(p, d, &p))
      throw Error(ErrorCode::kInvalidInput, "the dims " + dims_str(dims) + " have more elements than int64 can count");
  return p;
}
inline std::string text(const InferContext& c, const std::vector<Expr>& dims) { return shape_str(dims, &c.names()); }
inline std::string text(const RunShapeContext&, const std::vector<int64_t>& dims) { return dims_str(dims); }
inline std::string text(const Expr& d) { return d.str(); }
inline std::string text(int64_t d) { return std::to_string(d); }

struct ReshapeAttrs {
  bool allow_zero = false;  // a 0 in the target is a zero dim, not "copy the input's"
  static ReshapeAttrs parse(const AttrReader& a) { return {a.attr_int("allowzero", 0) != 0}; }
};

// Reshape's output dims: -1 inferred from the element count, 0 copies the
// input's dim (unless allowzero).
template <class T, class Ctx>
std::vector<T> reshape(Ctx& c, const std::vector<T>& in, const std::vector<T>& target, const ReshapeAttrs& attrs) {
  std::vector<T> out;
  int infer_at = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    const T& d = target[i];
    if (is(d, -1)) {
      if (infer_at >= 0) c.fail("more than one -1 in the target shape");
      infer_at = static_cast<int>(i);
      out.push_back(one<T>());
    } else if (is(d, 0) && !attrs.allow_zero) {
      if (i >= in.size()) c.fail("0 in target shape at index " + std::to_string(i) + " beyond the input rank");
      out.push_back(in[i]);
    } else {
      if (negative(d)) c.fail("invalid target dimension " + text(d));
      out.push_back(d);
    }
  }
  T total = product_of(in);
  if (infer_at >= 0) {
    T known = product_of(out);
    c.require_divisible(total, known, "reshape of " + text(c, in) + " to " + text(c, target));
    out[static_cast<size_t>(infer_at)] = fdiv(total, known);
  } else {
    c.require_equal(total, product_of(out), "reshape element count");
  }
  return out;
}

// Expand's output dims: the input broadcast against the target.
template <class T, class Ctx>
std::vector<T> expand(Ctx& c, const std::vector<T>& in, const std::vector<T>& target) {
  size_t r = std::max(in.size(), target.size());
  std::vector<T> out(r);
  for (size_t i = 0; i < r; ++i) {
    T a = i < r - in.size() ? one<T>() : in[i - (r - in.size())];
    T b = i < r - target.size() ? one<T>() : target[i - (r - target.size())];
    out[i] = c.broadcast_dim(a, b);
  }
  return out;
}

// ConstantOfShape's output dims: the input's values, none negative.
template <class T, class Ctx>
std::vector<T> constant_of_shape(Ctx& c, const std::vector<T>& target) {
  for (const T& d : target)
    if (negative(d)) c.fail("negative dimension " + text(d) + " in the shape input");
  return target;
}

// Axes normalized against `rank`, each once.
template <class Ctx>
std::vector<int64_t> normalized_axes(const Ctx& c, const std::vector<int64_t>& axes, size_t rank) {
  std::vector<int64_t> out;
  for (int64_t a : axes) {
    int64_t n = c.axis(a, rank, "axes");
    for (int64_t o : out)
      if (o == n) c.fail("duplicate value in axes");
    out.push_back(n);
  }
  return out;
}

// Tile's output dims: each input dim times its repeat count.
template <class T, class Ctx>
std::vector<T> tile(Ctx& c, const std::vector<T>& in, const std::vector<T>& reps) {
  if (reps.size() != in.size()) c.fail("repeats length differs from the input rank");
  std::vector<T> out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (negative(reps[i])) c.fail("negative repeat");
    out.push_back(in[i] * reps[i]);
  }
  return out;
}

// Unsqueeze's output dims: 1 inserted at each of `axes` (of the output rank).
template <class T, class Ctx>
std::vector<T> unsqueeze(Ctx& c, const std::vector<T>& in, const std::vector<int64_t>& raw_axes) {
  size_t r = in.size() + raw_axes.size();
  std::vector<int64_t> axes = normalized_axes(c, raw_axes, r);
  std::vector<T> out;
  size_t j = 0;
  for (size_t i = 0; i < r; ++i) {
    if (std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) != axes.end()) out.push_back(one<T>());
    else out.push_back(in[j++]);
  }
  return out;
}

// Squeeze with explicit axes: those dims must be 1 and are dropped.
template <class T, class Ctx>
std::vector<T> squeeze(Ctx& c, const std::vector<T>& in, const std::vector<int64_t>& raw_axes) {
  std::vector<int64_t> axes = normalized_axes(c, raw_axes, in.size());
  std::vector<T> out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) == axes.end()) out.push_back(in[i]);
    else c.require_equal(in[i], one<T>(), "squeezed dim " + std::to_string(i));
  }
  return out;
}

// TopK's output dims (values and indices): the input with k along `axis`.
template <class T, class Ctx>
std::vector<T> topk(Ctx& c, const std::vector<T>& in, int64_t axis, const T& k) {
  if (negative(k)) c.fail("k is negative");
  if constexpr (std::is_same_v<T, Expr>) {
    if ((in[static_cast<size_t>(axis)] - k).bounds(c.names()).hi < 0) c.fail("k is larger than the dimension");
  } else {
    if (k > in[static_cast<size_t>(axis)])
      c.fail("k=" + std::to_string(k) + " exceeds the dimension " + std::to_string(in[static_cast<size_t>(axis)]));
  }
  std::vector<T> out = in;
  out[static_cast<size_t>(axis)] = k;
  return out;
}

// Which axes a Reduce* folds: the listed ones (each once), or all of them
// when the list is empty, unless noop_with_empty_axes.
template <class Ctx>
std::vector<bool> reduced_axes(const Ctx& c, size_t rank, const std::vector<int64_t>& axes, bool noop_with_empty) {
  std::vector<bool> red(rank, axes.empty() && !noop_with_empty);
  for (int64_t a : axes) {
    auto i = static_cast<size_t>(c.axis(a, rank, "axes"));
    if (red[i]) c.fail("axis " + std::to_string(a) + " is repeated in 'axes'");
    red[i] = true;
  }
  return red;
}

// Reduce*'s output dims: reduced axes dropped, or kept as 1.
template <class T>
std::vector<T> reduce(const std::vector<T>& in, const std::vector<bool>& reduced, bool keep_dims) {
  std::vector<T> out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!reduced[i]) out.push_back(in[i]);
    else if (keep_dims) out.push_back(one<T>());
  }
  return out;
}

// Pad's output dims: each padded axis grows by its begin and end pads
// (negative pads crop). `axes` are normalized.
template <class T, class Ctx>
std::vector<T> pad(Ctx& c, const std::vector<T>& in, const std::vector<T>& pads, const std::vector<int64_t>& axes) {
  if (pads.size() != 2 * axes.size())
    c.fail("pads has " + std::to_string(pads.size()) + " values for " + std::to_string(axes.size()) + " axes");
  std::vector<T> out = in;
  size_t k = axes.size();
  for (size_t i = 0; i < k; ++i) {
    auto a = static_cast<size_t>(axes[i]);
    out[a] = in[a] + pads[i] + pads[i + k];
    if (negative(out[a])) c.fail("padded dimension is negative");
  }
  return out;
}

// Slice on concrete numbers (the runtime's shape function and the CPU
// kernel's offsets): per input axis, the output size, the first index read
// and the step. Inference reasons about the same clamping symbolically
// (src/ops/movement.cpp).
struct SlicePlan {
  std::vector<int64_t> dims, first, step;
};

inline SlicePlan slice_plan(std::span<const int64_t> in, const std::vector<int64_t>& starts,
                            const std::vector<int64_t>& ends, std::vector<int64_t> axes, std::vector<int64_t> steps) {
  auto bad = [](const std::string& why) { throw Error(ErrorCode::kInvalidInput, "Slice: " + why); };
  auto r = static_cast<int64_t>(in.size());
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (starts.size() != ends.size() || axes.size() != starts.size() || steps.size() != starts.size())
    bad("starts, ends, axes and steps have different lengths");
  SlicePlan p{{in.begin(), in.end()}, std::vector<int64_t>(in.size(), 0), std::vector<int64_t>(in.size(), 1)};
  auto clampi = [](int64_t v, int64_t lo, int64_t hi) { return std::max(lo, std::min(v, hi)); };
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
    if (a < 0 || a >= r) bad("axis " + std::to_string(axes[i]) + " is out of range for rank " + std::to_string(r));
    int64_t s = starts[i], e = ends[i], k = steps[i], d = in[static_cast<size_t>(a)], size = 0;
    if (k == 0) bad("step is 0");
    if (s < 0) s += d;  // cannot overflow: d >= 0
    if (e < 0) e += d;
    if (k > 0) {
      s = clampi(s, 0, d);
      e = clampi(e, 0, d);
      size = e > s ? (e - s + k - 1) / k : 0;
    } else {
      s = clampi(s, 0, d - 1);
      e = clampi(e, -1, d - 1);
      size = s > e ? (s - e - k - 1) / (-k) : 0;
      if (d == 0) size = 0;
    }
    p.dims[static_cast<size_t>(a)] = size;
    p.first[static_cast<size_t>(a)] = s;
    p.step[static_cast<size_t>(a)] = k;
  }
  return p;
}

// Split with explicit sizes: output i has sizes[i] along `axis`; the sizes
// must add up to that dim.
template <class T, class Ctx>
std::vector<std::vector<T>> split(Ctx& c, const std::vector<T>& in, int64_t axis, const std::vector<T>& sizes,
                                  size_t outputs) {
  if (sizes.size() != outputs)
    c.fail(std::to_string(sizes.size()) + " split sizes for " + std::to_string(outputs) + " outputs");
  T sum = zero<T>();
  for (const T& s : sizes) {
    if (negative(s)) c.fail("negative split size");
    sum = sum + s;
  }
  c.require_equal(sum, in[static_cast<size_t>(axis)], "sum of split sizes vs split dimension");
  std::vector<std::vector<T>> out(outputs, in);
  for (size_t i = 0; i < outputs; ++i) out[i][static_cast<size_t>(axis)] = sizes[i];
  return out;
}

}  // namespace dynrt::shapefn
