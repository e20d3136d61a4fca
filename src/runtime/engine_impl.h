// What an engine is inside: the final partitioned graph, its profiles, one
// kernel per node from the node's provider, and the per-engine facts the
// runtime needs on every run (value homes, lifetimes, uploaded constants).
#pragma once

#include <map>
#include <string>
#include <memory>
#include <vector>

#include "backends/provider.h"
#include "dynrt/runtime.h"
#include "ir/graph.h"

namespace dynrt {

// A profile as a box over the input symbols.
struct ProfileBox {
  std::vector<int64_t> min, opt, max;  // indexed by symbol id (data-dependent symbols: unused)
};

// Where a value's bytes come from at run time.
//  kArena:   planned in its memory's arena from the exact sizes of this shape
//  kDynamic: sized by data during the run, allocated then
//  kAlias:   the bytes of another value (alias_root), viewed with its own shape
//  kOutput:  a graph output: the caller's buffer or a fresh host tensor
//  kBoxed:   a sequence or optional, held per run (ContextImpl::boxed), never in an arena
enum class ValueHome : uint8_t { kConstant, kInput, kArena, kDynamic, kAlias, kOutput, kUnused, kBoxed };

enum class NodeKind : uint8_t {
  kKernel,  // run the provider's kernel
  kCopy,    // dynrt.MemCopy between two memories
  kView,    // nothing to run: the output aliases the input
  kSubgraph,  // dynrt.If / dynrt.Loop: the runtime runs its subgraph engines (control_flow.cpp)
  kBoxed,     // reads or writes sequences or optionals: the runtime runs it (boxed_ops.cpp)
};

struct EngineImpl;

// An engine built once per value of a few input dims (builder/variants.cpp),
// for models where those dims fix an output rank, a Scan's length or an If's
// branch. The outer EngineImpl then holds the interface (its graph has the
// inputs and symbols, no nodes), the profiles, and one variant per value.
struct EngineVariant {
  struct Pin {
    uint32_t input = 0, dim = 0;  // graph input index, dimension
    int64_t value = 0;
  };
  std::vector<Pin> pins;
  std::shared_ptr<const EngineImpl> engine;  // null: the model is invalid at these values,
  ErrorCode error_code = ErrorCode::kInvalidModel;
  std::string error;  // and this says why
};

struct DYNRT_INTERNAL EngineImpl {
  ir::Graph graph;
  std::vector<ProfileBox> profiles;
  // Non-empty for an engine with variants; then outputs are described by
  // variant_outputs (their ranks may differ between variants).
  std::vector<EngineVariant> variants;
  std::vector<TensorInfo> variant_outputs;

  // Derived by finalize(); not serialized.
  std::vector<const ExecutionProvider*> providers;  // per Graph::providers entry
  std::vector<std::unique_ptr<Kernel>> kernels;     // per node (null unless kKernel)
  std::vector<const OpSchema*> schemas;             // per node
  // Input i of node k is read on the host (a shape tensor) or for its dims only.
  bool reads_on_host(size_t k, size_t i) const;
  std::vector<NodeKind> kinds;                      // per node
  std::vector<std::vector<std::shared_ptr<const EngineImpl>>> subgraphs;  // per node (kSubgraph): its engines
  std::vector<bool> dynamic_node;                   // shapes known only while running
  std::vector<ValueHome> homes;                     // per value
  std::vector<int> alias_root;                      // per value: the value whose bytes it shares, or -1
  std::vector<int> first_use, last_use;             // per value: node indices (lifetimes)
  // Constants read by nodes whose memory is not the host's, uploaded once:
  // (memory, value id) -> that memory's copy.
  std::map<std::pair<int, int>, DeviceBuffer> device_constants;

  // Memory space a node's kernel works in: 0 = host, else its provider index.
  int node_memory(size_t node) const {
    int p = graph.nodes[node].provider;
    return providers[static_cast<size_t>(p)]->host_memory() ? 0 : p;
  }
  // Instantiate kernels, upload constants, precompute value homes and lifetimes.
  void finalize();
  // Arena bytes planned for a full binding of the input symbols, per memory
  // (index as Graph::providers).
  std::vector<int64_t> planned_bytes(std::span<const int64_t> binding) const;

 private:
  void check_partition() const;
  void assign_homes();
  void assign_aliases();
};

// Which of a node's subgraph engines (EngineImpl::subgraphs) an attribute
// holds: then_engine 0, else_engine 1, body_engine 0; -1 for any other.
inline int subgraph_engine_index(const std::string& attr) {
  return attr == "then_engine" || attr == "body_engine" ? 0 : attr == "else_engine" ? 1 : -1;
}

// The engines a dynrt.If (then, else) or dynrt.Loop (body) node holds,
// loaded from its attributes and checked against the node's inputs and
// outputs (runtime/control_flow.cpp). Throws kInvalidEngine.
std::vector<std::shared_ptr<const EngineImpl>> load_subgraph_engines(const ir::Graph& g, const ir::Node& n);

// Makes the public handles around the internal objects.
struct DYNRT_INTERNAL EngineAccess {
  static std::shared_ptr<Engine> wrap(std::shared_ptr<const EngineImpl> impl);
  static const EngineImpl& impl(const Engine& e) { return *e.impl_; }
};

}  // namespace dynrt
