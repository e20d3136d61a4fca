// Constant folding: a node whose inputs are all known at build time runs once
// on the host and its outputs become constants.
#include "ops/registry.h"
#include "passes/pass.h"
#include "runtime/host_eval.h"

namespace dynrt::passes {

namespace {
constexpr int64_t kMaxFoldBytes = 64 << 20;  // don't bloat engines with huge folded tensors

bool set_constant_from_values(ir::Value& v) {
  if (!v.sym_value || v.constant || !v.rank_known || v.shape.size() > 1) return false;
  for (const Expr& e : *v.sym_value)
    if (!e.is_const()) return false;
  if (v.dtype != DType::kInt64 && v.dtype != DType::kInt32) return false;
  Tensor t(v.dtype, v.shape.empty() ? std::vector<int64_t>{} : std::vector<int64_t>{static_cast<int64_t>(v.sym_value->size())});
  for (size_t i = 0; i < v.sym_value->size(); ++i) {
    if (v.dtype == DType::kInt64) t.data_as<int64_t>()[i] = (*v.sym_value)[i].const_value();
    else t.data_as<int32_t>()[i] = static_cast<int32_t>((*v.sym_value)[i].const_value());
  }
  v.constant = std::move(t);
  return true;
}
}  // namespace

bool fold_node(ir::Graph& g, size_t index) {
  ir::Node& n = g.nodes[index];
  bool all_values_known = true;
  bool changed = false;
  for (int o : n.outputs) {
    if (o < 0) continue;
    ir::Value& v = g.values[static_cast<size_t>(o)];
    changed |= set_constant_from_values(v);
    all_values_known = all_values_known && v.constant;
  }
  if (all_values_known) return changed;
  std::vector<Tensor> inputs;
  for (int i : n.inputs) {
    if (i < 0) {
      inputs.emplace_back();
      continue;
    }
    const ir::Value& v = g.values[static_cast<size_t>(i)];
    if (!v.constant) return changed;
    inputs.push_back(*v.constant);
  }
  if (n.inputs.empty() && n.domain == "dynrt") return changed;  // ExprTensor reads the binding
  if (!can_evaluate_on_host(n)) return changed;
  if (const OpSchema* s = OpRegistry::instance().find(n.op, n.domain); s && s->traits.random) return changed;
  int64_t bytes = 0;
  for (int o : n.outputs) {
    if (o < 0) continue;
    const ir::Value& v = g.values[static_cast<size_t>(o)];
    if (!v.rank_known) return changed;
    // Checked: shapes come from the model, and a product that wraps must not look small.
    int64_t size = static_cast<int64_t>(dtype_size(v.dtype));
    for (const Expr& e : v.shape) {
      if (!e.is_const() || e.const_value() < 0) return changed;
      if (__builtin_mul_overflow(size, e.const_value(), &size) || size > kMaxFoldBytes) return changed;
    }
    bytes += size;
  }
  if (bytes > kMaxFoldBytes) return changed;
  std::vector<Tensor> outs = evaluate_node(g, n, inputs);
  for (size_t k = 0; k < n.outputs.size(); ++k) {
    if (n.outputs[k] < 0) continue;
    ir::Value& v = g.values[static_cast<size_t>(n.outputs[k])];
    v.constant = std::move(outs[k]);
    if (!v.sym_value && v.constant->numel() <= 64 && v.shape.size() <= 1 &&
        (v.dtype == DType::kInt64 || v.dtype == DType::kInt32)) {
      std::vector<Expr> vals;
      for (int64_t x : v.constant->to_int64_vector()) vals.push_back(Expr::constant(x));
      v.sym_value = vals;
    }
    // Data-dependent ops folded at build time get their real (constant) shape.
    v.shape.clear();
    for (int64_t d : v.constant->shape()) v.shape.push_back(Expr::constant(d));
  }
  return true;
}

bool fold_constants(ir::Graph& g) {
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) changed |= fold_node(g, i);
  return changed;
}

}  // namespace dynrt::passes
