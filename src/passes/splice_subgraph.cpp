// A subgraph's nodes copied into the graph that holds it: what inline_if,
// unroll_scan and expand_flex_attention do with a branch, a Scan body per
// step and a FlexAttention modifier.
#include "dynrt/error.h"
#include "passes/pass.h"

namespace dynrt::passes {

std::vector<int> splice_subgraph(ir::Graph& g, const ir::Graph& b, std::vector<int> id, const std::string& tag,
                                 const std::string& label, std::vector<ir::Node>& out) {
  id.resize(b.values.size(), -1);
  auto named = [&](const std::string& name) { return tag.empty() ? name : tag + "/" + name; };
  for (size_t v = 0; v < b.values.size(); ++v) {
    if (id[v] >= 0) continue;
    const ir::Value& bv = b.values[v];
    if (bv.constant || bv.producer >= 0) {
      const std::string name = named(bv.name);
      if (g.find_value(name) >= 0)
        throw Error(ErrorCode::kInvalidModel, label + ": its subgraph defines '" + name + "', which the graph also defines");
      id[v] = bv.constant ? g.add_constant(name, *bv.constant) : g.add_value(name);
    } else {
      id[v] = g.find_value(bv.name);  // read from an enclosing graph
      if (id[v] < 0) throw Error(ErrorCode::kInvalidModel, label + ": its subgraph reads '" + bv.name + "', which is not defined");
    }
  }
  for (const ir::Node& bn : b.nodes) {
    ir::Node c = bn;
    c.provider = 0;
    if (!bn.name.empty()) c.name = named(bn.name);
    for (int& i : c.inputs)
      if (i >= 0) i = id[static_cast<size_t>(i)];
    for (int& o : c.outputs)
      if (o >= 0) o = id[static_cast<size_t>(o)];
    out.push_back(std::move(c));
  }
  return id;
}

}  // namespace dynrt::passes
