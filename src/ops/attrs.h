// Typed attributes of the ops whose inference and kernels both read them:
// one struct and one parse(AttrReader) per op, so defaults, opset rules and
// validation live in one place. InferContext, RunShapeContext and KernelInit
// are all AttrReaders. (Spatial attributes of Conv and the pools:
// nnshape::read_spatial; Reshape: shapefn::ReshapeAttrs.)
#pragma once

#include <cstdint>

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

// Gemm: Y = alpha * op(A) * op(B) + beta * C.
struct GemmAttrs {
  bool trans_a = false, trans_b = false;
  float alpha = 1.f, beta = 1.f;
  static GemmAttrs parse(const AttrReader& a) {
    return {a.attr_int("transA", 0) != 0, a.attr_int("transB", 0) != 0, a.attr_float("alpha", 1.f),
            a.attr_float("beta", 1.f)};
  }
};

}  // namespace dynrt
