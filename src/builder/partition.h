// Partitioning: every node gets an execution provider from the user's
// preference list; boundary copies become explicit dynrt.MemCopy nodes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace dynrt {

// Assigns node.provider and value.provider (the provider whose memory holds
// the value) over `preference` (e.g. {"cuda", "cpu"}): each node goes to the
// first provider that supports it. Graph inputs, outputs and constants stay
// in host memory; a value read in another memory space gets one MemCopy node
// per destination, placed before its first reader. Throws kInvalidConfig for
// an unavailable or repeated provider, kUnsupported for a node no listed
// provider supports.
// `half` (kFloat16/kBFloat16): device nodes run their float32 math in it where
// their kernels take it (builder/precision.h).
void partition(ir::Graph& g, const std::vector<std::string>& preference, DType half = DType::kUndefined);

// The same checks of the provider list, before anything else is built.
void check_providers(const std::vector<std::string>& preference);

// Runs each provider's own lowering passes on the nodes assigned to it.
void run_provider_passes(ir::Graph& g, const std::function<void(const std::string&)>& progress);

}  // namespace dynrt
