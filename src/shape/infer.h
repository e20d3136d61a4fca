// Symbolic shape inference over the whole graph: every value gets a dtype
// and a shape of expressions; small int tensors carry their values too.
#pragma once

#include <functional>

#include "ir/graph.h"

namespace dynrt {

// Runs each node's registered inference in topological order. `after_node`
// (e.g. constant folding) runs right after each node is inferred, so later
// nodes see folded values. `replace_node` runs first and may replace node i
// with others (returning true), which are then inferred in its place (an If
// with a known condition becomes its branch).
void infer_shapes(ir::Graph& g, const std::function<void(ir::Graph&, size_t)>& after_node = {},
                  const std::function<bool(ir::Graph&, size_t)>& replace_node = {});

}  // namespace dynrt
