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

// kAlias: the bytes of another value (alias_root), viewed with its own shape:
// Reshape / Flatten / Squeeze / Unsqueeze / Identity cost nothing at run time.
enum class ValueHome : uint8_t { kConstant, kInput, kArena, kDynamic, kAlias, kUnused };

struct EngineImpl {
  ir::Graph graph;
  std::vector<ProfileBox> profiles;

  // Derived by finalize(); not serialized.
  std::vector<std::unique_ptr<Kernel>> kernels;  // per node
  std::vector<const OpDef*> defs;                // per node
  std::vector<ValueHome> homes;                  // per value
  std::vector<bool> dynamic_node;                // shapes known only while running
  std::vector<bool> skip_node;                   // nothing to run (its output aliases its input)
  std::vector<int> alias_root;                   // per value: the value whose bytes it shares, or -1
  std::vector<int> first_use, last_use;          // per value: node indices (lifetimes)

  // Instantiate kernels and precompute value homes and lifetimes.
  void finalize();
  void assign_aliases();
  // Arena bytes planned for a full binding of the input symbols.
  int64_t planned_bytes(std::span<const int64_t> binding) const;
};

}  // namespace dynrt
