// Typed attributes: activations, Softmax, LayerNorm/RMSNorm, GroupNorm/InstanceNorm,
// LpNormalization, MVN, LRN.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/expr.h"
#include "dynrt/types.h"
#include "ir/attrs.h"

namespace dynrt {

// Parameters of the elementwise activations, with each op's ONNX defaults:
// HardSigmoid (alpha 0.2, beta 0.5), LeakyRelu (alpha 0.01), Elu, Celu,
// Swish, ThresholdedRelu (alpha 1), Selu (alpha, gamma), Shrink (lambd 0.5,
// bias 0), Gelu (approximate), Clip before opset 11 (min, max), IsInf.
struct ActivationAttrs {
  float alpha = 0, beta = 0, gamma = 0, lambd = 0, bias = 0;
  float min = -INFINITY, max = INFINITY;
  bool tanh_gelu = false;
  bool detect_positive = true, detect_negative = true;
  static ActivationAttrs parse(const AttrReader& a, const std::string& op) {
    ActivationAttrs r;
    float alpha_default = op == "HardSigmoid" ? 0.2f : op == "LeakyRelu" ? 0.01f
                          : op == "Selu"      ? 1.67326319217681884765625f
                                              : 1.f;
    r.alpha = a.attr_float("alpha", alpha_default);
    r.beta = a.attr_float("beta", op == "HardSigmoid" ? 0.5f : 0.f);
    r.gamma = a.attr_float("gamma", 1.05070102214813232421875f);
    r.lambd = a.attr_float("lambd", 0.5f);
    r.bias = a.attr_float("bias", 0.f);
    r.min = a.attr_float("min", -INFINITY);
    r.max = a.attr_float("max", INFINITY);
    r.tanh_gelu = a.attr_string("approximate", "none") == "tanh";
    r.detect_positive = a.attr_int("detect_positive", 1) != 0;
    r.detect_negative = a.attr_int("detect_negative", 1) != 0;
    return r;
  }
};

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
