// Ops that give back their input unchanged become Identity, which the runtime
// skips (a view), instead of copying it:
//   Slice whose output shape is its input's with every step 1 (the whole
//     range: exporters slice `x[:, :]` inside loop bodies, a copy of x per
//     iteration), Expand to the input's own shape, Cast to the input's type,
//     Transpose by the identity permutation.
// Shapes compare as symbolic expressions, so this holds at every shape in range.
#include "passes/pass.h"

namespace dynrt::passes {
namespace {

bool same_shape(const ir::Value& a, const ir::Value& b) {
  if (!a.rank_known || !b.rank_known || a.shape.size() != b.shape.size()) return false;
  for (size_t i = 0; i < a.shape.size(); ++i)
    if (!(a.shape[i] == b.shape[i])) return false;
  return true;
}

// Every element of an int tensor known at build time equal to one.
bool all_ones(const ir::Value& v) {
  if (v.sym_value) {
    for (const Expr& e : *v.sym_value)
      if (!e.is_const() || e.const_value() != 1) return false;
    return true;
  }
  if (!v.constant || (v.constant->dtype() != DType::kInt64 && v.constant->dtype() != DType::kInt32)) return false;
  for (int64_t i = 0; i < v.constant->numel(); ++i) {
    int64_t x = v.constant->dtype() == DType::kInt64 ? v.constant->data_as<int64_t>()[i] : v.constant->data_as<int32_t>()[i];
    if (x != 1) return false;
  }
  return true;
}

bool is_identity(const ir::Graph& g, const ir::Node& n) {
  if (!n.domain.empty() || n.inputs.empty() || n.inputs[0] < 0 || n.outputs.size() != 1 || n.outputs[0] < 0) return false;
  const ir::Value& x = g.values[static_cast<size_t>(n.inputs[0])];
  const ir::Value& y = g.values[static_cast<size_t>(n.outputs[0])];
  if (x.dtype != y.dtype || x.dtype == DType::kUndefined || !same_shape(x, y) || y.constant || y.sym_value) return false;
  if (n.op == "Slice") {  // the same shape with steps of 1 leaves every start at 0 and every end at the dim
    const bool steps = n.inputs.size() > 4 && n.inputs[4] >= 0;
    return !steps || all_ones(g.values[static_cast<size_t>(n.inputs[4])]);
  }
  if (n.op == "Expand" || n.op == "Cast") return true;
  if (n.op == "Transpose") {
    auto perm = n.attrs.find("perm");
    if (perm == n.attrs.end()) return x.shape.size() <= 1;
    for (size_t i = 0; i < perm->second.ints.size(); ++i)
      if (perm->second.ints[i] != static_cast<int64_t>(i)) return false;
    return true;
  }
  return false;
}

}  // namespace

bool drop_identity_ops(ir::Graph& g) {
  bool changed = false;
  for (ir::Node& n : g.nodes) {
    if (!is_identity(g, n)) continue;
    n.op = "Identity";
    n.inputs.resize(1);
    n.attrs.clear();
    changed = true;
  }
  if (changed) eliminate_dead_code(g);  // the Slice's starts and ends, the Expand's shape
  return changed;
}

}  // namespace dynrt::passes
