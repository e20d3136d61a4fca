// Helpers shared by the movement and indexing inference code.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ops/registry.h"

namespace dynrt::infer_util {

// min/max that resolve when the symbol ranges decide the comparison, so
// clamping a symbolic dim against INT64_MAX-like constants stays simple.
inline Expr smin(const InferContext& c, Expr a, Expr b) {
  Interval d = (a - b).bounds(c.names());
  if (d.hi <= 0) return a;
  if (d.lo >= 0) return b;
  return min(a, b);
}

inline Expr smax(const InferContext& c, Expr a, Expr b) {
  Interval d = (a - b).bounds(c.names());
  if (d.lo >= 0) return a;
  if (d.hi <= 0) return b;
  return max(a, b);
}

// Elements of input i that must be integer constants at build time.
inline std::vector<int64_t> const_ints(const InferContext& c, size_t i, const std::string& what) {
  auto v = c.values(i);
  if (!v) c.unsupported(what + " must be known at build time");
  std::vector<int64_t> out;
  for (const Expr& e : *v) {
    if (!e.is_const()) c.unsupported(what + " must be constant at build time (got " + e.str(&c.names()) + ")");
    out.push_back(e.const_value());
  }
  return out;
}

// Normalize axes against rank, failing on duplicates or out-of-range values.
inline std::vector<int64_t> norm_axes(const InferContext& c, const std::vector<int64_t>& axes, size_t rank,
                                      const std::string& what = "axes") {
  std::vector<int64_t> out;
  for (int64_t a : axes) {
    int64_t n = c.axis(a, rank, what);
    for (int64_t o : out)
      if (o == n) c.fail("duplicate value in " + what);
    out.push_back(n);
  }
  return out;
}

inline bool is_index_type(DType t) { return t == DType::kInt64 || t == DType::kInt32; }

// Number of elements of a shape when every dim is constant.
inline std::optional<int64_t> const_numel(const std::vector<Expr>& s) {
  int64_t n = 1;
  for (const Expr& e : s) {
    if (!e.is_const()) return std::nullopt;
    n *= e.const_value();
  }
  return n;
}

}  // namespace dynrt::infer_util
