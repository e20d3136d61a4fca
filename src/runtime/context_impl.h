// The executor behind ExecutionContext. A run is three steps:
//   bind    — check the caller's inputs (names, dtypes, ranks) and key them by shape;
//   plan    — once per distinct input shape (cached, bounded): bind symbols, check
//             profiles and guards, resolve every shape, place values in one arena
//             per memory, let kernels prepare (plan.cpp);
//   execute — point views at arenas and the caller's buffers, run kernels and
//             boundary copies in order (context.cpp).
#pragma once

#include <atomic>

#include <list>
#include <span>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <oneapi/tbb/task_arena.h>

#include "runtime/arena.h"
#include "runtime/engine_impl.h"
#include "runtime/thread_governor.h"

namespace dynrt {

struct Plan {
  std::vector<int64_t> binding;    // per symbol (data-dependent ones: -1)
  std::vector<TensorView> views;   // per value: dims resolved, data bound per run
  std::vector<int64_t> offsets;    // per value: offset in its memory's arena, or -1
  std::vector<int64_t> arena_bytes;                  // per memory (index as Graph::providers)
  std::vector<std::unique_ptr<KernelState>> states;  // per node (static nodes)
  int64_t runs = 0;                                  // runs of this plan so far
  // Per segment of the context (ContextImpl::segments): its recording for
  // this shape, made on the second run and replayed after.
  struct Captured {
    std::unique_ptr<CapturedWork> work;
    bool failed = false;  // the provider could not record it: run plainly
  };
  std::vector<Captured> captured;
  uint64_t captured_generation = 0;           // ContextImpl::memory_generation() at recording
  std::vector<const void*> captured_callers;  // ContextImpl::copy_source at recording
};

// Plans for the input shapes seen recently; the least recently used one is
// dropped when there are more than `capacity`.
class PlanCache {
 public:
  using Key = std::vector<int64_t>;
  explicit PlanCache(size_t capacity) : capacity_(capacity) {}
  Plan* find(const Key& key);
  Plan* insert(const Key& key, std::unique_ptr<Plan> plan);
  size_t size() const { return index_.size(); }

 private:
  size_t capacity_;
  std::list<std::pair<Key, std::unique_ptr<Plan>>> lru_;  // most recent first
  std::map<Key, std::list<std::pair<Key, std::unique_ptr<Plan>>>::iterator> index_;
};

// Plan for these input shapes (one per graph input, in order). Throws
// kShapeOutOfRange naming the input, dimension and range at fault.
// `streams`: the context's queue per provider (null entries for the CPU),
// handed to the kernels' prepare, as is `tuning` (KernelContext::tuning).
std::unique_ptr<Plan> make_plan(const EngineImpl& e, const std::vector<std::vector<int64_t>>& shapes,
                                int64_t max_tensor_bytes,
                                std::span<const std::unique_ptr<ProviderStream>> streams,
                                TimingCache* tuning = nullptr);

// DYNRT_PROFILE=1: time every kernel and print a per-op table when the context
// is destroyed (for performance work; off by default, no cost when off),
// each shape's first run left out. DYNRT_PROFILE=nodes: a row per node, with its provider.
struct OpProfile {
  bool enabled = false;
  bool per_node = false;
  std::map<std::string, std::pair<double, int64_t>> ms_calls;
  OpProfile();
  ~OpProfile();
  // One call of `key` that started at t0 and has just finished.
  void add(const std::string& key, std::chrono::steady_clock::time_point t0);
};

// The caller's inputs (tensors or values) in graph input order; a missing or
// unknown name is an error naming it.
template <class T>
std::vector<const T*> inputs_by_position(const ir::Graph& g, const std::map<std::string, T>& inputs) {
  std::vector<const T*> ins;
  for (int id : g.inputs) {
    const ir::Value& v = g.values[static_cast<size_t>(id)];
    auto it = inputs.find(v.name);
    if (it == inputs.end()) throw Error(ErrorCode::kInvalidInput, "missing input '" + v.name + "'");
    ins.push_back(&it->second);
  }
  for (const auto& [name, value] : inputs) {
    bool known = false;
    for (int id : g.inputs) known |= g.values[static_cast<size_t>(id)].name == name;
    if (!known) throw Error(ErrorCode::kInvalidInput, "'" + name + "' is not an input of this engine");
  }
  return ins;
}

struct BoxedNode;

struct ContextImpl {
  friend struct BoxedNode;  // boxed_node.h: the runtime's own nodes reach the run's values
  ContextImpl(std::shared_ptr<const EngineImpl> engine, const ContextOptions& options);

  // Set while a call runs: a second thread entering the same context is an
  // error (a context holds one set of plans and buffers), not corruption.
  std::atomic<bool> busy{false};

  std::shared_ptr<const EngineImpl> e;
  int threads;              // the most CPU threads a run uses (ContextOptions::threads)
  ThreadGovernor governor;  // how many it uses now (fewer while other processes take the cores)
  // Planning and running happen in a TBB arena of governor.threads() slots (the
  // caller's thread takes one): oneDNN and the CPU kernels (parallel_for) share it.
  std::unique_ptr<tbb::task_arena> arena;
  // A subgraph engine's context (control_flow.cpp) runs in its node's: the
  // caller is already in that context's arena.
  bool nested = false;
  template <class F>
  auto in_arena(F&& f) {
    if (nested) return f();
    const int n = governor.threads();
    if (!arena || arena->max_concurrency() != n) arena = std::make_unique<tbb::task_arena>(n);
    return arena->execute(std::forward<F>(f));
  }
  PlanCache cache;
  int64_t max_arena_bytes = 0;  // ContextOptions::max_arena_bytes
  int64_t max_tensor_bytes = 0;  // ContextOptions::max_tensor_bytes (0: no limit of the context's own)
  int64_t plans_created = 0;
  OpProfile profile;
  std::vector<Arena> arenas;                  // per memory, grown to the largest plan seen
  std::vector<DeviceBuffer> dynamic_buffers;  // sized by data during the current run
  std::vector<std::unique_ptr<ProviderStream>> streams;  // per provider; null where work is synchronous
  RunStats stats;
  bool capture_graphs = true;
  // Set by the builder while it tunes the engine (builder/tune.cpp): kernels
  // prepare with KernelContext::tuning.
  TimingCache* tuning = nullptr;
  uint64_t arena_generation = 0;  // bumped when an arena is reallocated

  // A run of consecutive kernels on one provider that can be recorded once
  // per shape and replayed (see find_segments).
  struct Segment {
    size_t begin, end;  // node range
    int provider;
  };
  std::vector<Segment> segments;
  std::vector<int> segment_at;  // per node: the segment starting there, or -1

  void run(const std::map<std::string, Tensor>& inputs, std::map<std::string, Tensor>& outputs);
  // The same with the inputs bound by position (graph input order).
  void run_bound(const std::vector<const Tensor*>& inputs, std::map<std::string, Tensor>& outputs);
  // Inputs and outputs of any kind (tensors, sequences, optionals), by name
  // or by position (graph input and output order).
  std::map<std::string, Value> run_values(const std::map<std::string, Value>& inputs);
  std::vector<Value> run_positional(const std::vector<const Value*>& inputs);
  // Whether the engine has sequence or optional values anywhere.
  bool has_boxed = false;
  std::map<std::string, std::vector<int64_t>> output_shapes(const std::map<std::string, std::vector<int64_t>>& shapes);

  // An engine with variants (EngineVariant): the context of the variant
  // that serves these input dims, made on first use (runtime/variants.cpp);
  // this context itself for any other engine. Throws kShapeOutOfRange or
  // the variant's own error when none serves them.
  ContextImpl& serving(const std::map<std::string, std::vector<int64_t>>& shapes);
  ContextImpl& serving(const std::map<std::string, Tensor>& inputs);
  ContextOptions options;
  std::vector<std::unique_ptr<ContextImpl>> variant_contexts;  // per EngineVariant
  ContextImpl* last = this;  // the context of the most recent call
  int64_t total_plans_created() const;
  int64_t total_plans_cached() const;

 private:
  struct RunAllocator;
  Plan& plan_for(const std::vector<std::vector<int64_t>>& shapes);
  void execute(Plan& plan, std::vector<TensorView>& views);
  void run_node(size_t k, Plan& plan, std::vector<TensorView>& views, std::vector<int64_t>& binding);
  void capture(const Segment& seg, Plan::Captured& cap, Plan& plan, std::vector<TensorView>& views,
               std::vector<int64_t>& binding);
  void find_segments();
  // dynrt.If / dynrt.Loop (control_flow.cpp): node k's subgraph engines run
  // in contexts of their own, made on first use.
  std::vector<std::vector<std::unique_ptr<ContextImpl>>> sub_contexts;  // per node
  void run_subgraph(size_t k, std::vector<TensorView>& views, std::vector<int64_t>& binding);
  // into: buffers for some of its outputs, by name (tensor-only engines without variants).
  std::vector<Value> run_subgraph_engine(size_t k, size_t which, const std::vector<Value>& inputs,
                                         std::map<std::string, Tensor>* into = nullptr);
  // Sequences and optionals of the current run, per value (ValueHome::kBoxed),
  // and the caller's, per graph input (null for a tensor), while run_positional runs.
  std::vector<Value> boxed;
  std::vector<const Value*> boxed_inputs;
  void bind_boxed_inputs();
  // A node of NodeKind::kBoxed (boxed_ops.cpp).
  void run_boxed(size_t k, std::vector<TensorView>& views, std::vector<int64_t>& binding);
  // Output i of node k, sized now: binds its symbols, checks guards, allocates.
  TensorView& allocate_at_run_time(size_t k, size_t i, std::span<const int64_t> dims, std::vector<TensorView>& views,
                                   std::vector<int64_t>& binding);
  uint64_t memory_generation() const;
  std::vector<TensorView> scratch_in, scratch_out;

  // Caller's tensors in device memory (Tensor::wrap_device).
  bool user_stream = false;
  std::vector<std::vector<size_t>> input_copies;  // per value: MemCopy nodes that read it (graph inputs)
  std::vector<bool> read_on_host;                  // per value: a host node or the caller reads it
  std::vector<int> output_copy;                    // per value: the MemCopy node that makes it, or -1
  std::vector<const void*> copy_source;            // per node: a copy replaced by the caller's device bytes
  std::vector<void*> copy_target;                  // per node: a copy writing into the caller's device buffer
  std::vector<std::vector<std::byte>> host_staging;
  void bind_device_input(size_t v, const Tensor& t, std::vector<TensorView>& views);
  int memory_of(const std::string& device, const std::string& what) const;
  void run_copy(size_t node, std::vector<TensorView>& views, std::vector<int64_t>& binding);
  void find_device_io();
};

}  // namespace dynrt
