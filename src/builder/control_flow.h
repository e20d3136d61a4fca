// If and Loop that run at run time: each subgraph becomes an engine of its
// own, built with the same configuration, and the node becomes dynrt.If or
// dynrt.Loop, which the runtime runs by calling those engines
// (runtime/control_flow.cpp).
#pragma once

#include <functional>
#include <memory>

#include "dynrt/compiler.h"
#include "ir/graph.h"
#include "runtime/engine_impl.h"

namespace dynrt {

using BuildSubgraph = std::function<std::shared_ptr<EngineImpl>(ir::Graph, const BuildConfig&)>;

// Replaces node k when it is an If whose condition is known only at run
// time (inline_if took the others) or a Loop; true if it did. The new
// node's outputs get their types and shapes here: a dim both branches (or
// every iteration) give the same expression of outer dims keeps it, any
// other becomes a fresh data-dependent symbol.
bool lower_control_flow(ir::Graph& g, size_t k, const BuildConfig& cfg, const BuildSubgraph& build);

}  // namespace dynrt
