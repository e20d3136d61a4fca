// Inference for Softmax, LogSoftmax, Hardmax, LayerNormalization,
// InstanceNormalization, GroupNormalization, LpNormalization,
// MeanVarianceNormalization, LRN and Einsum.
#include <set>

#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

bool is_float(DType t) { return t == DType::kFloat32 || t == DType::kFloat64; }

void require_float(InferContext& c, size_t i, const char* what) {
  if (!is_float(c.dtype(i)))
    c.unsupported(std::string(what) + " of type " + dtype_name(c.dtype(i)) + " (float32 and float64 are supported)");
}

void infer_softmax(InferContext& c) {
  // 16-bit floats are computed in float32 and rounded once (the kernel widens them).
  if (c.dtype(0) != DType::kFloat16 && c.dtype(0) != DType::kBFloat16) require_float(c, 0, "input");
  const std::vector<Expr>& s = c.shape(0);
  if (s.empty()) c.fail("input must have rank >= 1");
  c.axis(SoftmaxAttrs::parse(c).axis, s.size());
  c.set_output(0, c.dtype(0), s);
}

// Scale/bias of LayerNormalization: after dropping leading 1s, the shape
// must equal the trailing normalized dims (the kernel indexes it periodically).
void check_affine(InferContext& c, size_t i, const std::vector<Expr>& x, size_t axis, const char* what) {
  if (!c.has_input(i)) return;
  if (c.dtype(i) != c.dtype(0)) c.fail(std::string(what) + " type differs from X");
  const std::vector<Expr>& s = c.shape(i);
  if (s.size() > x.size()) c.fail(std::string(what) + " has a higher rank than X");
  size_t k = 0;
  while (k < s.size() && s[k].is_const() && s[k].const_value() == 1) ++k;
  if (s.size() - k > x.size() - axis) c.fail(std::string(what) + " does not broadcast to the normalized dims");
  for (size_t j = k; j < s.size(); ++j) {
    Expr xd = x[x.size() - (s.size() - j)];
    if (s[j].is_const() && s[j].const_value() == 1 && xd != s[j])
      c.unsupported(std::string(what) + " broadcasting inside the normalized dims");
    c.require_equal(s[j], xd, std::string(what) + " shape");
  }
}

DType stash_dtype(InferContext& c) {
  LayerNormAttrs a = LayerNormAttrs::parse(c);
  if (!a.stash_valid) c.unsupported("stash_type " + std::to_string(c.attr_int("stash_type", 1)));
  return a.stash;
}

void infer_layer_norm(InferContext& c) {
  require_float(c, 0, "X");
  const std::vector<Expr>& x = c.shape(0);
  if (x.empty()) c.fail("X must have rank >= 1");
  auto axis = static_cast<size_t>(c.axis(LayerNormAttrs::parse(c).axis, x.size()));
  if (!c.has_input(1)) c.fail("Scale is required");
  check_affine(c, 1, x, axis, "Scale");
  check_affine(c, 2, x, axis, "B");
  DType u = stash_dtype(c);
  c.set_output(0, c.dtype(0), x);
  std::vector<Expr> stat(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(axis));
  stat.resize(x.size(), Expr::constant(1));
  c.set_output(1, u, stat);
  c.set_output(2, u, stat);
}

// RMSNormalization (opset 23): X / sqrt(mean(X^2 over axis..) + eps) * Scale.
void infer_rms_norm(InferContext& c) {
  require_float(c, 0, "X");
  const std::vector<Expr>& x = c.shape(0);
  if (x.empty()) c.fail("X must have rank >= 1");
  auto axis = static_cast<size_t>(c.axis(c.attr_int("axis", -1), x.size()));
  if (!c.has_input(1)) c.fail("scale is required");
  check_affine(c, 1, x, axis, "scale");
  stash_dtype(c);
  c.set_output(0, c.dtype(0), x);
}

// Per-channel parameter of shape [n].
void check_vector(InferContext& c, size_t i, Expr n, const std::string& what) {
  if (!c.has_input(i)) c.fail(what + " is required");
  if (c.dtype(i) != c.dtype(0)) c.fail(what + " type differs from the input");
  const std::vector<Expr>& s = c.shape(i);
  if (s.size() != 1) c.fail(what + " must be 1-D");
  c.require_equal(s[0], n, what + " length");
}

void infer_instance_norm(InferContext& c) {
  require_float(c, 0, "input");
  const std::vector<Expr>& x = c.shape(0);
  if (x.size() < 2) c.fail("input must have rank >= 2");
  check_vector(c, 1, x[1], "scale");
  check_vector(c, 2, x[1], "B");
  c.set_output(0, c.dtype(0), x);
}

void infer_group_norm(InferContext& c) {
  require_float(c, 0, "X");
  const std::vector<Expr>& x = c.shape(0);
  if (x.size() < 2) c.fail("X must have rank >= 2");
  if (!c.has_attr("num_groups")) c.fail("required attribute 'num_groups' is missing");
  int64_t g = GroupNormAttrs::parse(c).num_groups;
  if (g <= 0) c.fail("num_groups must be positive");
  c.require_divisible(x[1], Expr::constant(g), "channels divisible by num_groups");
  // Opset 18 takes one scale/bias per group, opset 21 one per channel.
  Expr n = c.opset() >= 21 ? x[1] : Expr::constant(g);
  check_vector(c, 1, n, "scale");
  check_vector(c, 2, n, "bias");
  if (c.opset() >= 21) stash_dtype(c);
  c.set_output(0, c.dtype(0), x);
}

void infer_lp_norm(InferContext& c) {
  require_float(c, 0, "input");
  const std::vector<Expr>& x = c.shape(0);
  if (x.empty()) c.fail("input must have rank >= 1");
  LpNormAttrs attrs = LpNormAttrs::parse(c);
  c.axis(attrs.axis, x.size());
  int64_t p = attrs.p;
  if (p != 1 && p != 2) c.fail("p must be 1 or 2");
  c.set_output(0, c.dtype(0), x);
}

void infer_mvn(InferContext& c) {
  require_float(c, 0, "input");
  const std::vector<Expr>& x = c.shape(0);
  std::set<int64_t> seen;
  for (int64_t a : MvnAttrs::parse(c).axes)
    if (!seen.insert(c.axis(a, x.size(), "axes")).second) c.fail("repeated axis in 'axes'");
  c.set_output(0, c.dtype(0), x);
}

void infer_lrn(InferContext& c) {
  require_float(c, 0, "input");
  const std::vector<Expr>& x = c.shape(0);
  if (x.size() < 2) c.fail("input must have rank >= 2");
  if (!c.has_attr("size")) c.fail("required attribute 'size' is missing");
  if (LrnAttrs::parse(c).size <= 0) c.fail("size must be positive");
  c.set_output(0, c.dtype(0), x);
}

}  // namespace

void infer_einsum(InferContext& c);  // einsum.cpp

void register_normalization_ops(OpRegistry& r) {
  r.add("Softmax", infer_softmax);
  r.add("LogSoftmax", infer_softmax);
  r.add("Hardmax", infer_softmax);
  r.add("LayerNormalization", infer_layer_norm);
  r.add("RMSNormalization", infer_rms_norm);
  r.add("InstanceNormalization", infer_instance_norm);
  r.add("GroupNormalization", infer_group_norm);
  r.add("LpNormalization", infer_lp_norm);
  r.add("MeanVarianceNormalization", infer_mvn);
  r.add("LRN", infer_lrn);
  r.add("Einsum", infer_einsum);
}

}  // namespace dynrt
