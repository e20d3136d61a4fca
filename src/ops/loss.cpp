// Inference for the loss ops: NegativeLogLikelihoodLoss and
// SoftmaxCrossEntropyLoss (both reduce to a scalar unless reduction='none').
#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

void infer_loss(InferContext& c) {
  DType t = c.dtype(0);
  if (t != DType::kFloat32 && t != DType::kFloat64)
    c.unsupported(std::string("input type ") + dtype_name(t) + " (float32 and float64 are supported)");
  if (c.dtype(1) != DType::kInt64 && c.dtype(1) != DType::kInt32) c.fail("target must be int32 or int64");
  const std::vector<Expr>& x = c.shape(0);
  const std::vector<Expr>& target = c.shape(1);
  if (x.size() < 2) c.fail("input must have rank >= 2 ([N, C, ...])");
  if (target.size() != x.size() - 1) c.fail("target rank must be the input rank - 1");
  c.require_equal(target[0], x[0], "target batch dim");
  for (size_t i = 1; i < target.size(); ++i) c.require_equal(target[i], x[i + 1], "target dim " + std::to_string(i));
  if (c.has_input(2)) {
    if (c.dtype(2) != t) c.fail("weight type differs from the input");
    if (c.rank(2) != 1) c.fail("weight must be 1-D");
    c.require_equal(c.shape(2)[0], x[1], "weight length vs classes");
  }
  std::string red = LossAttrs::parse(c).reduction;
  if (red != "none" && red != "sum" && red != "mean") c.fail("unknown reduction '" + red + "'");
  c.set_output(0, t, red == "none" ? target : std::vector<Expr>{});
  if (c.node().op == "SoftmaxCrossEntropyLoss") c.set_output(1, t, x);
}

}  // namespace

void register_loss_ops(OpRegistry& r) {
  r.add("NegativeLogLikelihoodLoss", infer_loss);
  r.add("SoftmaxCrossEntropyLoss", infer_loss);
}

}  // namespace dynrt
