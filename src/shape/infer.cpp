#include "shape/infer.h"

#include "ops/registry.h"

namespace dynrt {

void infer_shapes(ir::Graph& g, const std::function<void(ir::Graph&, size_t)>& after_node,
                  const std::function<bool(ir::Graph&, size_t)>& replace_node) {
  const OpRegistry& reg = OpRegistry::instance();
  size_t replaced = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    // A replaced node's first replacement is inferred next (or replaced in turn: nested Ifs).
    while (replace_node && replace_node(g, i)) {
      // Each replacement removes one node with a subgraph; a bound keeps a bad model from looping.
      if (++replaced > 100000) throw Error(ErrorCode::kInvalidModel, "too many nested control-flow nodes");
      if (i >= g.nodes.size()) return;
    }
    const ir::Node& n = g.nodes[i];
    const OpSchema* def = reg.find(n.op, n.domain);
    if (!def) {
      std::string dom = n.domain.empty() ? "ai.onnx" : n.domain;
      throw Error(ErrorCode::kUnsupported,
                  "unsupported op '" + n.op + "' (domain " + dom + ") in " + g.node_label(n));
    }
    for (const auto& [name, a] : n.attrs)
      if (a.type == ir::Attribute::Type::kGraph)
        throw Error(ErrorCode::kUnsupported, g.node_label(n) + ": subgraph attribute '" + name + "' is not supported");
    for (int in : n.inputs)
      if (in >= 0 && g.values[static_cast<size_t>(in)].dtype == DType::kUndefined)
        throw Error(ErrorCode::kInternal, g.node_label(n) + ": input '" + g.values[static_cast<size_t>(in)].name + "' has no type");
    check_value_kinds(g, i, *def);
    InferContext ctx(g, i);
    def->infer(ctx);
    check_narrow_types(g, i, *def);
    for (int o : g.nodes[i].outputs)
      if (o >= 0 && g.values[static_cast<size_t>(o)].dtype == DType::kUndefined)
        throw Error(ErrorCode::kUnsupported, g.node_label(g.nodes[i]) + ": output '" + g.values[static_cast<size_t>(o)].name +
                                                 "' is not supported (no type inferred)");
    if (after_node) after_node(g, i);
  }
}

}  // namespace dynrt
