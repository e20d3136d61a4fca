// What an engine is inside: the final graph, its profiles, one kernel per
// node, and the per-engine facts the runtime needs on every run.
#pragma once

#include <memory>
#include <vector>

#include "dynrt/dynrt.h"
#include "ir/graph.h"
#include "ops/registry.h"

namespace dynrt {

// A profile as a box over the input symbols.
struct ProfileBox {
  std::vector<int64_t> min, opt, max;  // indexed by symbol id (data-dependent symbols: unused)
};

enum class ValueHome : uint8_t { kConstant, kInput, kArena, kDynamic, kUnused };

struct EngineImpl {
  ir::Graph graph;
  std::vector<ProfileBox> profiles;

  // Derived by finalize(); not serialized.
  std::vector<std::unique_ptr<Kernel>> kernels;  // per node
  std::vector<const OpDef*> defs;                // per node
  std::vector<ValueHome> homes;                  // per value
  std::vector<bool> dynamic_node;                // shapes known only while running
  std::vector<int> first_use, last_use;          // per value: node indices (lifetimes)

  // Instantiate kernels and precompute value homes and lifetimes.
  void finalize();
  // Arena bytes planned for a full binding of the input symbols.
  int64_t planned_bytes(std::span<const int64_t> binding) const;
};

}  // namespace dynrt
