// Node order for engines that use a device: host work first.
#pragma once

#include "ir/graph.h"

namespace dynrt {

// Reorders g.nodes (keeping it topological) so that every node that runs on
// the host (or uploads to a device) runs as soon as its inputs allow, and
// device kernels stay in their order. Device work then comes in long
// uninterrupted runs, each recorded as one CUDA graph, instead of being cut
// wherever a small host node (shape arithmetic) sat between two kernels. An
// engine with host nodes only keeps its order.
void schedule_host_first(ir::Graph& g);

}  // namespace dynrt
