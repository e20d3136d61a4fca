// Shape-value folding: a small int64 tensor whose elements are known as
// expressions of the input symbols (Shape -> Gather -> Concat ...) is replaced
// by one dynrt.ExprTensor node that evaluates those expressions from the bound
// symbols. The chain that computed it then dies; nothing reads device data.
#include "passes/pass.h"

namespace dynrt::passes {

bool fold_shape_values(ir::Graph& g) {
  bool changed = false;
  for (ir::Node& n : g.nodes) {
    if (n.domain == "dynrt" || n.outputs.size() != 1 || n.outputs[0] < 0) continue;
    const ir::Value& v = g.values[static_cast<size_t>(n.outputs[0])];
    if (v.constant || !v.sym_value || v.dtype != DType::kInt64 || !v.rank_known || v.shape.size() > 1) continue;
    bool data_dependent = false;
    for (const Expr& e : *v.sym_value)
      for (int s : e.symbols()) data_dependent |= g.symbols[s].kind == ir::SymbolKind::kDataDependent;
    if (data_dependent) continue;
    ir::Attribute code;
    code.type = ir::Attribute::Type::kInts;
    for (const Expr& e : *v.sym_value) e.serialize(code.ints);
    ir::Attribute scalar;
    scalar.i = v.shape.empty() ? 1 : 0;
    n.op = "ExprTensor";
    n.domain = "dynrt";
    n.inputs.clear();
    n.attrs.clear();
    n.attrs["exprs"] = code;
    n.attrs["scalar"] = scalar;
    changed = true;
  }
  return changed;
}

}  // namespace dynrt::passes
