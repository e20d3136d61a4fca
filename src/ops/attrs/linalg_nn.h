// Typed attributes: Gemm, Conv, pools, BatchNormalization, Einsum, quantization.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/expr.h"
#include "dynrt/types.h"
#include "ir/attrs.h"

namespace dynrt {

// Gemm: Y = alpha * op(A) * op(B) + beta * C.
struct GemmAttrs {
  bool trans_a = false, trans_b = false;
  float alpha = 1.f, beta = 1.f;
  static GemmAttrs parse(const AttrReader& a) {
    return {a.attr_int("transA", 0) != 0, a.attr_int("transB", 0) != 0, a.attr_float("alpha", 1.f),
            a.attr_float("beta", 1.f)};
  }
};

// Conv / ConvTranspose beyond the spatial attributes (nnshape::read_spatial).
struct ConvAttrs {
  int64_t group = 1;
  std::vector<int64_t> output_padding, output_shape;  // ConvTranspose
  static ConvAttrs parse(const AttrReader& a, size_t spatial) {
    return {a.attr_int("group", 1), a.attr_ints("output_padding", std::vector<int64_t>(spatial, 0)),
            a.attr_ints("output_shape", {})};
  }
};

// MaxPool / AveragePool / LpPool: the window (spatial attributes through
// nnshape::read_spatial(reader, n, kernel_shape)).
struct PoolAttrs {
  std::vector<int64_t> kernel_shape;
  bool count_include_pad = false;
  int64_t storage_order = 0;  // MaxPool's Indices: 0 row-major, 1 column-major spatial index
  static PoolAttrs parse(const AttrReader& a) {
    return {a.attr_ints("kernel_shape"), a.attr_int("count_include_pad", 0) != 0, a.attr_int("storage_order", 0)};
  }
};

struct BatchNormAttrs {
  float epsilon = 1e-5f, momentum = 0.9f;
  bool training_mode = false, spatial = true;
  static BatchNormAttrs parse(const AttrReader& a) {
    return {a.attr_float("epsilon", 1e-5f), a.attr_float("momentum", 0.9f), a.attr_int("training_mode", 0) != 0,
            a.attr_int("spatial", 1) == 1};
  }
};

// Einsum.
struct EinsumAttrs {
  std::string equation;
  static EinsumAttrs parse(const AttrReader& a) { return {a.attr_string("equation", "")}; }
};

// QuantizeLinear / DequantizeLinear: per-axis (axis) or blocked (block_size > 0);
// saturate concerns float8 outputs.
struct QuantizeAttrs {
  int64_t axis = 1, block_size = 0;
  bool saturate = true;
  static QuantizeAttrs parse(const AttrReader& a) {
    return {a.attr_int("axis", 1), a.attr_int("block_size", 0), a.attr_int("saturate", 1) != 0};
  }
};

// Cast / CastLike: saturate concerns float8 targets, round_mode float8e8m0
// ("up", "down" or "nearest").
struct CastAttrs {
  bool saturate = true;
  std::string round_mode = "up";
  static CastAttrs parse(const AttrReader& a) {
    return {a.attr_int("saturate", 1) != 0, a.attr_string("round_mode", "up")};
  }
};

}  // namespace dynrt
