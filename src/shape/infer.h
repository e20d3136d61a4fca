// Symbolic shape inference over the whole graph: every value gets a dtype
// and a shape of expressions; small int tensors carry their values too.
#pragma once

#include <functional>

#include "ir/graph.h"

namespace dynrt {

// Runs each node's registered inference in topological order. `after_node`
// (e.g. constant folding) runs right after each node is inferred, so later
// nodes see folded values.
void infer_shapes(ir::Graph& g, const std::function<void(ir::Graph&, size_t)>& after_node = {});

}  // namespace dynrt
