// Typed attributes: Softmax, LayerNorm/RMSNorm, GroupNorm/InstanceNorm, LpNormalization, MVN, LRN.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/expr.h"
#include "dynrt/types.h"
#include "ir/attrs.h"

namespace dynrt {

// Softmax, LogSoftmax, Hardmax. Opset 13 made the axis a single dim (default
// -1); before, the input is coerced to 2-D at `axis` (default 1).
struct SoftmaxAttrs {
  int64_t axis = -1;
  bool coerce_2d = false;
  static SoftmaxAttrs parse(const AttrReader& a) {
    bool coerce = a.opset() < 13;
    return {a.attr_int("axis", coerce ? 1 : -1), coerce};
  }
};

// LayerNormalization, RMSNormalization: normalized over [axis, rank).
struct LayerNormAttrs {
  int64_t axis = -1;
  float epsilon = 1e-5f;
  DType stash = DType::kFloat32;  // precision of mean and variance: float32 or float64
  bool stash_valid = true;
  static LayerNormAttrs parse(const AttrReader& a) {
    int64_t st = a.attr_int("stash_type", 1);
    bool ok = st == static_cast<int64_t>(DType::kFloat32) || st == static_cast<int64_t>(DType::kFloat64);
    return {a.attr_int("axis", -1), a.attr_float("epsilon", 1e-5f), ok ? static_cast<DType>(st) : DType::kFloat32, ok};
  }
};

// GroupNormalization (num_groups required), InstanceNormalization (epsilon only).
struct GroupNormAttrs {
  int64_t num_groups = 0;  // 0: missing (invalid)
  float epsilon = 1e-5f;
  static GroupNormAttrs parse(const AttrReader& a) { return {a.attr_int("num_groups", 0), a.attr_float("epsilon", 1e-5f)}; }
};

struct LpNormAttrs {
  int64_t axis = -1, p = 2;
  static LpNormAttrs parse(const AttrReader& a) { return {a.attr_int("axis", -1), a.attr_int("p", 2)}; }
};

// MeanVarianceNormalization: normalized over `axes` (default N, H, W).
struct MvnAttrs {
  std::vector<int64_t> axes;
  static MvnAttrs parse(const AttrReader& a) { return {a.attr_ints("axes", {0, 2, 3})}; }
};

// LRN (size required).
struct LrnAttrs {
  int64_t size = 0;  // 0: missing (invalid)
  float alpha = 1e-4f, beta = 0.75f, bias = 1.f;
  static LrnAttrs parse(const AttrReader& a) {
    return {a.attr_int("size", 0), a.attr_float("alpha", 1e-4f), a.attr_float("beta", 0.75f), a.attr_float("bias", 1.f)};
  }
};

}  // namespace dynrt
