#include "backends/attention_layout.h"

#include <string>
#include <vector>

namespace dynrt {
namespace {

bool is_op(const ir::Node& n, const char* op) { return n.domain.empty() && n.op == op; }

bool swaps_seq_and_heads(const ir::Node& n, int self) {
  if (n.provider != self || !is_op(n, "Transpose") || n.inputs.size() != 1 || n.outputs.size() != 1) return false;
  auto perm = n.attrs.find("perm");
  return perm != n.attrs.end() && perm->second.ints == std::vector<int64_t>{0, 2, 1, 3};
}

}  // namespace

bool attention_layout(ir::Graph& g, int self, const std::function<bool(const ir::Graph&, const ir::Node&)>& takes) {
  std::vector<int> uses = g.count_uses();
  std::vector<bool> keep(g.nodes.size(), true), graph_output(g.values.size(), false);
  for (int o : g.outputs) graph_output[static_cast<size_t>(o)] = true;
  const std::vector<std::vector<int>> readers = g.readers();
  bool changed = false;
  for (ir::Node& n : g.nodes) {
    if (n.provider != self || !is_op(n, "Attention") || n.attrs.count("dynrt.layout") || !takes(g, n)) continue;
    std::string layout = "hhhh";
    for (size_t i = 0; i < 3; ++i) {
      const int v = n.inputs[i];
      const int p = g.values[static_cast<size_t>(v)].producer;
      if (p < 0 || uses[static_cast<size_t>(v)] != 1 || graph_output[static_cast<size_t>(v)]) continue;
      const ir::Node& t = g.nodes[static_cast<size_t>(p)];
      if (!swaps_seq_and_heads(t, self) || t.inputs[0] < 0) continue;
      n.inputs[i] = t.inputs[0];
      layout[i] = 's';
    }
    // The output's one reader, looking through a Reshape that keeps the shape
    // (the TorchScript export views the result as itself before transposing).
    auto sole_reader = [&](int v) {
      return uses[static_cast<size_t>(v)] == 1 && !graph_output[static_cast<size_t>(v)] ? readers[static_cast<size_t>(v)][0] : -1;
    };
    const int y = n.outputs[0];
    int r = sole_reader(y), same_shape_reshape = -1;
    if (r >= 0 && is_op(g.nodes[static_cast<size_t>(r)], "Reshape") && g.nodes[static_cast<size_t>(r)].provider == self &&
        !g.nodes[static_cast<size_t>(r)].outputs.empty() && g.nodes[static_cast<size_t>(r)].inputs[0] == y) {
      const int z = g.nodes[static_cast<size_t>(r)].outputs[0];
      if (z >= 0 && g.values[static_cast<size_t>(z)].shape == g.values[static_cast<size_t>(y)].shape) {
        same_shape_reshape = r;
        r = sole_reader(z);
      } else {
        r = -1;
      }
    }
    if (r >= 0 && swaps_seq_and_heads(g.nodes[static_cast<size_t>(r)], self)) {
      n.outputs[0] = g.nodes[static_cast<size_t>(r)].outputs[0];
      keep[static_cast<size_t>(r)] = false;
      if (same_shape_reshape >= 0) keep[static_cast<size_t>(same_shape_reshape)] = false;
      layout[3] = 's';
    }
    if (layout == "hhhh") continue;
    ir::Attribute a;
    a.type = ir::Attribute::Type::kString;
    a.s = layout;
    n.attrs["dynrt.layout"] = a;
    changed = true;
  }
  if (changed) g.compact(keep);  // the input-side transposes go with dead-code elimination
  return changed;
}

}  // namespace dynrt
