// Run one node on host tensors with its CPU kernel. Used to fold constants at
// build time; shapes of the outputs must be known (or the op allocates them).
#pragma once

#include <span>
#include <vector>

#include "ir/graph.h"
#include "backends/kernel.h"

namespace dynrt {

DYNRT_INTERNAL TensorView view_of(const Tensor& t);
DYNRT_INTERNAL bool can_evaluate_on_host(const ir::Node& n);
DYNRT_INTERNAL std::vector<Tensor> evaluate_node(const ir::Graph& g, const ir::Node& n, std::span<const Tensor> inputs);

}  // namespace dynrt
