// Inference for the optimizer ops of ai.onnx.preview.training: Adagrad,
// Adam, Momentum. Inputs are R (learning rate), T (step), then n tensors to
// optimize followed by their gradients and accumulators; outputs are the
// updated tensors then the updated accumulators, each shaped like its X.
#include "ops/families.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

// Per optimized tensor: X, G, plus these many accumulators.
size_t accumulators(const std::string& op) { return op == "Adam" ? 2 : 1; }

void infer_optimizer(InferContext& c) {
  size_t per = 2 + accumulators(c.node().op);
  if (c.num_inputs() < 2 + per || (c.num_inputs() - 2) % per != 0)
    c.fail("expects R, T and groups of X, G and accumulators");
  size_t n = (c.num_inputs() - 2) / per;
  if (c.num_outputs() != n * (per - 1)) c.fail("expects one updated X and accumulator(s) per input X");
  if (c.dtype(0) != DType::kFloat32 && c.dtype(0) != DType::kFloat64) c.fail("R must be float");
  if (c.dtype(1) != DType::kInt64) c.fail("T must be int64");
  for (size_t i = 0; i < n; ++i) {
    DType t = c.dtype(2 + i);
    if (t != DType::kFloat32 && t != DType::kFloat64) c.unsupported(std::string("X of type ") + dtype_name(t));
    const std::vector<Expr>& x = c.shape(2 + i);
    for (size_t k = 1; k < per; ++k) {
      size_t in = 2 + k * n + i;
      if (c.dtype(in) != t) c.fail("gradient/accumulator types differ from X");
      const std::vector<Expr>& s = c.shape(in);
      if (s.size() != x.size()) c.fail("gradient/accumulator ranks differ from X");
      for (size_t d = 0; d < x.size(); ++d) c.require_equal(s[d], x[d], "gradient/accumulator shape vs X");
    }
    for (size_t k = 0; k + 1 < per; ++k)
      if (c.has_output(k * n + i)) c.set_output(k * n + i, t, x);
  }
}

}  // namespace

void register_training_ops(OpRegistry& r) {
  for (const char* op : {"Adagrad", "Adam", "Momentum"}) r.add(op, infer_optimizer, "ai.onnx.preview.training");
}

}  // namespace dynrt
