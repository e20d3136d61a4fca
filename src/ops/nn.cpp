// Inference for the nn family: Conv, ConvTranspose, pools and
// BatchNormalization. Spatial output sizes are symbolic expressions built by
// the formulas in nn_shape.h (shared with the kernels).
#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/nn_shape.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

using nnshape::Spatial;

void require_float32(InferContext& c, size_t i) {
  if (c.dtype(i) != DType::kFloat32)
    c.unsupported(std::string("element type ") + dtype_name(c.dtype(i)) + " (only float32 is supported)");
}

size_t spatial_rank(InferContext& c) {
  size_t r = c.rank(0);
  if (r < 3) c.fail("input must have rank >= 3 (N, C, spatial...), got rank " + std::to_string(r));
  if (r > 5) c.unsupported("only 1-D, 2-D and 3-D spatial inputs are supported");
  return r - 2;
}

// Kernel dims of a convolution: the weight's trailing dims. Symbolic ones
// (a weight that is a graph input) go to p.kernel_expr unless kernel_shape
// pins them.
Spatial conv_spatial(InferContext& c, size_t n) {
  const std::vector<Expr>& w = c.shape(1);
  if (w.size() != n + 2) c.fail("weight must have rank " + std::to_string(n + 2));
  std::vector<int64_t> attr = c.attr_ints("kernel_shape", {});
  if (!attr.empty() && attr.size() != n) c.fail("kernel_shape must have " + std::to_string(n) + " values");
  std::vector<int64_t> k(n, 1);
  std::vector<Expr> ke(w.begin() + 2, w.end());
  bool symbolic = false;
  for (size_t i = 0; i < n; ++i) {
    if (!attr.empty()) {
      if (w[i + 2].is_const() && w[i + 2].const_value() != attr[i]) c.fail("kernel_shape does not match the weight shape");
      c.require_equal(w[i + 2], Expr::constant(attr[i]), "weight kernel dims vs kernel_shape");
      k[i] = attr[i];
    } else if (w[i + 2].is_const()) {
      k[i] = w[i + 2].const_value();
    } else {
      symbolic = true;
    }
    ke[i] = Expr::constant(k[i]);
    if (attr.empty() && !w[i + 2].is_const()) ke[i] = w[i + 2];
  }
  Spatial p = nnshape::read_spatial(c, n, k);
  if (!p.error.empty()) c.fail(p.error);
  if (symbolic) p.kernel_expr = std::move(ke);
  return p;
}

Spatial checked(InferContext& c, Spatial p) {
  if (!p.error.empty()) c.fail(p.error);
  return p;
}

// Conv/ConvTranspose: float32, or float16/bfloat16 (computed in float32);
// weight and bias share the input's type.
DType conv_dtype(InferContext& c) {
  DType t = c.dtype(0);
  if (t != DType::kFloat16 && t != DType::kBFloat16) require_float32(c, 0);
  for (size_t i = 1; i < 3; ++i)
    if (c.has_input(i) && c.dtype(i) != t)
      c.fail(std::string("input ") + std::to_string(i) + " has type " + dtype_name(c.dtype(i)) + ", expected " +
             dtype_name(t));
  return t;
}

void check_bias(InferContext& c, size_t i, Expr channels) {
  if (!c.has_input(i)) return;
  if (c.rank(i) != 1) c.fail("bias must be 1-D");
  c.require_equal(c.shape(i)[0], channels, "bias length vs output channels");
}

void infer_conv(InferContext& c) {
  DType dt = conv_dtype(c);
  size_t n = spatial_rank(c);
  Spatial p = conv_spatial(c, n);
  int64_t group = ConvAttrs::parse(c, n).group;
  if (group < 1) c.fail("group must be positive");
  if (c.has_input(3)) c.fail("Conv takes at most 3 inputs");
  const std::vector<Expr>& x = c.shape(0);
  const std::vector<Expr>& w = c.shape(1);
  Expr g = Expr::constant(group);
  c.require_equal(x[1], w[1] * g, "input channels vs weight channels * group");
  c.require_divisible(w[0], g, "output channels vs group");
  check_bias(c, 2, w[0]);
  std::vector<Expr> out{x[0], w[0]};
  for (size_t i = 0; i < n; ++i) out.push_back(nnshape::forward_out_size(p, i, x[i + 2]));
  c.set_output(0, dt, out);
}

void infer_conv_transpose(InferContext& c) {
  DType dt = conv_dtype(c);
  size_t n = spatial_rank(c);
  Spatial p = conv_spatial(c, n);
  ConvAttrs attrs = ConvAttrs::parse(c, n);
  int64_t group = attrs.group;
  if (group < 1) c.fail("group must be positive");
  nnshape::Transposed t;
  t.output_padding = attrs.output_padding;
  t.output_shape = attrs.output_shape;
  if (t.output_padding.size() != n) c.fail("output_padding must have " + std::to_string(n) + " values");
  if (t.output_shape.size() == n + 2) t.output_shape.erase(t.output_shape.begin(), t.output_shape.begin() + 2);
  if (!t.output_shape.empty() && t.output_shape.size() != n) c.fail("output_shape has the wrong number of values");
  const std::vector<Expr>& x = c.shape(0);
  const std::vector<Expr>& w = c.shape(1);
  c.require_equal(x[1], w[0], "input channels vs weight dim 0");
  c.require_divisible(w[0], Expr::constant(group), "input channels vs group");
  Expr m = w[1] * Expr::constant(group);
  check_bias(c, 2, m);
  std::vector<Expr> out{x[0], m};
  for (size_t i = 0; i < n; ++i) {
    Expr o = nnshape::transposed_out_size(p, t, i, x[i + 2]);
    if (o.is_const() && o.const_value() <= 0) c.fail("output size is not positive");
    out.push_back(o);
  }
  c.set_output(0, dt, out);
}

void infer_pool(InferContext& c) {
  const std::string& op = c.node().op;
  const DType t = c.dtype(0);
  // MaxPool picks input values: exact in the types it is defined for.
  const bool max_type = t == DType::kInt8 || t == DType::kUInt8 || t == DType::kFloat16 || t == DType::kBFloat16;
  if (!(op == "MaxPool" && max_type)) require_float32(c, 0);
  size_t n = spatial_rank(c);
  if (!c.has_attr("kernel_shape")) c.fail("kernel_shape is required");
  Spatial p = checked(c, nnshape::read_spatial(c, n, PoolAttrs::parse(c).kernel_shape));
  for (size_t i = 0; i < n; ++i)
    if (p.same() && p.dilations[i] > 1)
      c.unsupported("auto_pad SAME with dilations > 1 (ONNX Runtime and the ONNX spec disagree on its padding)");
  const bool indices = op == "MaxPool" && c.has_output(1);
  if (indices && PoolAttrs::parse(c).storage_order != 0 && PoolAttrs::parse(c).storage_order != 1)
    c.fail("storage_order must be 0 or 1");
  const std::vector<Expr>& x = c.shape(0);
  std::vector<Expr> out{x[0], x[1]};
  for (size_t i = 0; i < n; ++i) {
    Expr o = nnshape::forward_out_size(p, i, x[i + 2]);
    if (o.is_const() && o.const_value() <= 0) c.fail("pooled output size is not positive");
    out.push_back(o);
  }
  c.set_output(0, t, out);
  if (indices) c.set_output(1, DType::kInt64, out);  // flat indices into X, one per pooled value
}

void infer_global_pool(InferContext& c) {
  require_float32(c, 0);
  spatial_rank(c);
  std::vector<Expr> out = c.shape(0);
  for (size_t i = 2; i < out.size(); ++i) out[i] = Expr::constant(1);
  c.set_output(0, DType::kFloat32, out);
}

void infer_batchnorm(InferContext& c) {
  require_float32(c, 0);
  BatchNormAttrs attrs = BatchNormAttrs::parse(c);
  bool training = attrs.training_mode;
  if (!attrs.spatial) c.unsupported("BatchNormalization with spatial=0");
  if (!training)
    for (size_t i = 1; i < c.num_outputs(); ++i)
      if (c.has_output(i)) c.unsupported("BatchNormalization mean/var outputs without training_mode=1");
  if (c.rank(0) < 2) c.fail("input must have rank >= 2");
  Expr ch = c.shape(0)[1];
  for (size_t i = 1; i <= 4; ++i) {
    require_float32(c, i);
    if (c.rank(i) != 1) c.fail("scale, bias, mean and var must be 1-D");
    c.require_equal(c.shape(i)[0], ch, "per-channel parameter length vs channels");
  }
  c.set_output(0, DType::kFloat32, c.shape(0));
  // training_mode=1: normalize with the batch's statistics; outputs 1 and 2
  // are the updated running mean and variance.
  for (size_t i = 1; i <= 2 && training; ++i) c.set_output(i, DType::kFloat32, {ch});
}

}  // namespace

void register_nn_ops(OpRegistry& r) {
  r.add("Conv", infer_conv).layout_sensitive();
  r.add("ConvTranspose", infer_conv_transpose).layout_sensitive();
  for (const char* op : {"MaxPool", "AveragePool", "LpPool"}) r.add(op, infer_pool).layout_sensitive();
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"}) r.add(op, infer_global_pool).layout_sensitive();
  r.add("BatchNormalization", infer_batchnorm).layout_sensitive();
}

}  // namespace dynrt
