// Typed attributes: Transpose, Concat/Split/Gather axes, DepthToSpace, Pad, Slice-1, indexing, reductions, Shape, Mod, ExprTensor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/expr.h"
#include "dynrt/types.h"
#include "ir/attrs.h"

namespace dynrt {

// Transpose: the permutation (empty: reverse the dims).
struct TransposeAttrs {
  std::vector<int64_t> perm;
  static TransposeAttrs parse(const AttrReader& a) { return {a.attr_ints("perm")}; }
};

// The `axis` of Concat, Split, Gather, GatherElements, Scatter*, CumSum-like
// ops (its default differs: 0 for most, -1 for TopK/ArgMax-style ops).
struct AxisAttrs {
  int64_t axis = 0;
  static AxisAttrs parse(const AttrReader& a, int64_t def = 0) { return {a.attr_int("axis", def)}; }
};

// Compress / Unique: an optional axis (absent: over the flattened input).
struct OptionalAxisAttrs {
  bool has_axis = false;
  int64_t axis = 0;
  static OptionalAxisAttrs parse(const AttrReader& a) { return {a.has_attr("axis"), a.attr_int("axis", 0)}; }
};

// DepthToSpace / SpaceToDepth.
struct BlockAttrs {
  int64_t blocksize = 0;  // 0: missing (invalid)
  std::string mode;       // DCR or CRD (DepthToSpace)
  static BlockAttrs parse(const AttrReader& a) { return {a.attr_int("blocksize", 0), a.attr_string("mode", "DCR")}; }
};

// Pad: the mode; before opset 11 also the pads and fill value.
struct PadAttrs {
  std::string mode;
  std::vector<int64_t> pads;  // opset < 11 ("paddings" in opset 1)
  float value = 0.f;          // opset < 11
  static PadAttrs parse(const AttrReader& a) {
    return {a.attr_string("mode", "constant"), a.attr_ints(a.has_attr("pads") ? "pads" : "paddings"),
            a.attr_float("value", 0.f)};
  }
};

// Slice before opset 10: starts, ends and axes were attributes.
struct SliceAttrs {
  std::vector<int64_t> starts, ends, axes;
  static SliceAttrs parse(const AttrReader& a) {
    return {a.attr_ints("starts"), a.attr_ints("ends"), a.attr_ints("axes")};
  }
};

struct GatherNDAttrs {
  int64_t batch_dims = 0;
  static GatherNDAttrs parse(const AttrReader& a) { return {a.attr_int("batch_dims", 0)}; }
};

// ScatterND / ScatterElements: how updates combine with the data.
struct ScatterAttrs {
  std::string reduction;  // none, add, mul, max, min
  static ScatterAttrs parse(const AttrReader& a) { return {a.attr_string("reduction", "none")}; }
};

// Reduce*: axes as an attribute (before they became an input), keepdims,
// noop_with_empty_axes.
struct ReduceAttrs {
  std::vector<int64_t> axes;
  bool keep_dims = true, noop_with_empty_axes = false;
  static ReduceAttrs parse(const AttrReader& a) {
    return {a.attr_ints("axes"), a.attr_int("keepdims", 1) != 0, a.attr_int("noop_with_empty_axes", 0) != 0};
  }
};

// ArgMax / ArgMin.
struct ArgReduceAttrs {
  int64_t axis = 0;
  bool keep_dims = true, select_last_index = false;
  static ArgReduceAttrs parse(const AttrReader& a) {
    return {a.attr_int("axis", 0), a.attr_int("keepdims", 1) != 0, a.attr_int("select_last_index", 0) != 0};
  }
};

// Shape: the dims [start, end) (end defaults to the rank).
struct ShapeAttrs {
  int64_t start = 0;
  bool has_end = false;
  int64_t end = 0;
  static ShapeAttrs parse(const AttrReader& a) {
    return {a.attr_int("start", 0), a.has_attr("end"), a.attr_int("end", 0)};
  }
};

// Mod: C fmod (sign of the dividend) or Python-style mod.
struct ModAttrs {
  bool fmod = false;
  static ModAttrs parse(const AttrReader& a) { return {a.attr_int("fmod", 0) != 0}; }
};

// dynrt.ExprTensor: its elements, dimension expressions serialized in
// "exprs", and whether it is a scalar.
struct ExprTensorAttrs {
  std::vector<Expr> values;
  bool scalar = false;
  static ExprTensorAttrs parse(const AttrReader& a) {
    ExprTensorAttrs r;
    std::vector<int64_t> code = a.attr_ints("exprs");
    for (size_t pos = 0; pos < code.size();) r.values.push_back(Expr::deserialize(code, pos));
    r.scalar = a.attr_int("scalar", 0) != 0;
    return r;
  }
};

}  // namespace dynrt
