// Dead code elimination: drop nodes none of whose outputs is needed (unused,
// or already a build-time constant).
#include "passes/pass.h"

namespace dynrt::passes {

bool eliminate_dead_code(ir::Graph& g) {
  std::vector<bool> needed(g.values.size(), false);
  for (int o : g.outputs) needed[static_cast<size_t>(o)] = true;
  std::vector<bool> keep(g.nodes.size(), false);
  for (size_t k = g.nodes.size(); k-- > 0;) {
    const ir::Node& n = g.nodes[k];
    for (int o : n.outputs)
      if (o >= 0 && needed[static_cast<size_t>(o)] && !g.values[static_cast<size_t>(o)].constant) keep[k] = true;
    if (!keep[k]) continue;
    for (int i : n.inputs)
      if (i >= 0) needed[static_cast<size_t>(i)] = true;
  }
  bool changed = false;
  for (bool k : keep) changed |= !k;
  if (changed) g.compact(keep);
  return changed;
}

}  // namespace dynrt::passes
