// Planning one input shape: bind symbols, pick the profile, check guards,
// resolve every shape, place arena values per memory, prepare kernels.
#include <algorithm>
#include <exception>
#include <string>
#include <unordered_set>

#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include "core/checked.h"
#include "runtime/context_impl.h"
#include "runtime/memory_plan.h"

namespace dynrt {

namespace {

std::string binding_str(const ir::Graph& g, const std::vector<int64_t>& binding) {
  std::string s;
  for (int id = 0; id < g.symbols.size(); ++id)
    if (binding[static_cast<size_t>(id)] >= 0)
      s += (s.empty() ? "" : ", ") + g.symbols[id].name + "=" + std::to_string(binding[static_cast<size_t>(id)]);
  return s;
}

void check_profiles(const EngineImpl& e, const std::vector<std::vector<int64_t>>& shapes) {
  const ir::Graph& g = e.graph;
  std::string why;
  for (size_t p = 0; p < e.profiles.size(); ++p) {
    const ProfileBox& box = e.profiles[p];
    std::string miss;
    for (size_t k = 0; k < g.inputs.size() && miss.empty(); ++k) {
      const ir::Value& v = g.values[static_cast<size_t>(g.inputs[k])];
      for (size_t j = 0; j < v.shape.size() && miss.empty(); ++j) {
        if (!v.shape[j].is_symbol()) continue;
        auto s = static_cast<size_t>(v.shape[j].symbol_id());
        int64_t d = shapes[k][j];
        if (d < box.min[s] || d > box.max[s])
          miss = "input '" + v.name + "' dimension " + std::to_string(j) + " ('" + g.symbols[static_cast<int>(s)].name +
                 "') is " + std::to_string(d) + ", outside the range [" + std::to_string(box.min[s]) + ", " +
                 std::to_string(box.max[s]) + "]";
      }
    }
    if (miss.empty()) return;
    why += (why.empty() ? "" : "; ") + ("profile " + std::to_string(p) + ": " + miss);
  }
  throw Error(ErrorCode::kShapeOutOfRange, "input shapes are outside every optimization profile of this engine (" + why + ")");
}

// Symbols from whole-symbol dims; fixed dims and relations must match exactly.
std::vector<int64_t> bind_symbols(const EngineImpl& e, const std::vector<std::vector<int64_t>>& shapes) {
  const ir::Graph& g = e.graph;
  std::vector<int64_t> binding(static_cast<size_t>(g.symbols.size()), -1);
  std::vector<std::string> bound_by(binding.size());
  for (size_t k = 0; k < g.inputs.size(); ++k) {
    const ir::Value& v = g.values[static_cast<size_t>(g.inputs[k])];
    for (size_t j = 0; j < v.shape.size(); ++j) {
      int64_t d = shapes[k][j];
      std::string where = "input '" + v.name + "' dimension " + std::to_string(j);
      const Expr& ex = v.shape[j];
      if (ex.is_const() && d != ex.const_value())
        throw Error(ErrorCode::kShapeOutOfRange, where + " must be " + std::to_string(ex.const_value()) + ", got " +
                                                     std::to_string(d) + " (shape " + dims_str(shapes[k]) + ")");
      if (!ex.is_symbol()) continue;
      auto s = static_cast<size_t>(ex.symbol_id());
      if (binding[s] >= 0 && binding[s] != d)
        throw Error(ErrorCode::kShapeOutOfRange,
                    where + " is " + std::to_string(d) + ", but " + bound_by[s] + " is " + std::to_string(binding[s]) +
                        "; both are the dimension '" + g.symbols[static_cast<int>(s)].name + "' and must be equal");
      binding[s] = d;
      bound_by[s] = where;
    }
  }
  check_profiles(e, shapes);
  // Derived dims (relations such as dec = 2*enc) are checked once all are bound.
  for (size_t k = 0; k < g.inputs.size(); ++k) {
    const ir::Value& v = g.values[static_cast<size_t>(g.inputs[k])];
    for (size_t j = 0; j < v.shape.size(); ++j) {
      const Expr& ex = v.shape[j];
      if (ex.is_const() || ex.is_symbol()) continue;
      int64_t want = ex.eval(binding), d = shapes[k][j];
      if (want != d)
        throw Error(ErrorCode::kShapeOutOfRange, "input '" + v.name + "' dimension " + std::to_string(j) + " is " +
                                                     std::to_string(d) + ", but the relation makes it " +
                                                     ex.str(&g.symbols) + " = " + std::to_string(want));
    }
  }
  for (const ir::Guard& guard : g.guards) {
    bool data_dependent = false;
    for (int s : guard.a.symbols()) data_dependent |= binding[static_cast<size_t>(s)] < 0;
    for (int s : guard.b.symbols()) data_dependent |= binding[static_cast<size_t>(s)] < 0;
    if (data_dependent) continue;  // checked by the op once its sizes are known
    if (!guard.holds(binding))
      throw Error(ErrorCode::kShapeOutOfRange, "input shapes violate " + guard.describe(g.symbols) + " (with " +
                                                   binding_str(g, binding) + "), required by " + guard.what);
  }
  return binding;
}

TensorView view_with_dims(const ir::Value& v, std::span<const int64_t> binding) {
  TensorView view;
  view.dtype = v.dtype;
  view.rank = static_cast<int>(v.shape.size());
  for (size_t j = 0; j < v.shape.size(); ++j) view.dims[j] = v.shape[j].eval(binding);
  // Dims from constants may be any int64 (a Range over a huge constant span):
  // the size must fit before anything multiplies them unchecked. The check
  // runs per value and shape, so the message is only built on failure.
  int64_t bytes = static_cast<int64_t>(dtype_size(v.dtype));
  bool fits = true;
  for (int j = 0; j < view.rank; ++j)
    fits = fits && view.dims[j] >= 0 && !__builtin_mul_overflow(bytes, view.dims[j], &bytes) && bytes <= kMaxTensorBytes;
  if (!fits)
    checked_bytes(v.dtype, {view.dims.begin(), view.dims.begin() + view.rank}, "tensor '" + v.name + "'",
                  ErrorCode::kInvalidInput);
  return view;
}

// One node's prepare() for this plan's shapes.
std::unique_ptr<KernelState> prepare_node(const EngineImpl& e, const Plan& plan, size_t k,
                                          std::span<const std::unique_ptr<ProviderStream>> streams, TimingCache* tuning) {
  const ir::Node& n = e.graph.nodes[k];
  std::vector<TensorView> ins, outs;
  for (int i : n.inputs) ins.push_back(i >= 0 ? plan.views[static_cast<size_t>(i)] : TensorView{});
  for (int o : n.outputs) outs.push_back(o >= 0 ? plan.views[static_cast<size_t>(o)] : TensorView{});
  KernelContext ctx;
  ctx.inputs = ins;
  ctx.outputs = outs;
  ctx.binding = plan.binding;
  ctx.stream = streams[static_cast<size_t>(n.provider)].get();
  ctx.tuning = tuning;
  return e.kernels[k]->prepare(ctx);
}

// What a node's prepare depends on besides its attributes: the op and its
// operands' types and dims. Nodes that share it usually share a oneDNN
// primitive, which is made once and then found in oneDNN's cache.
std::string prepare_signature(const EngineImpl& e, const Plan& plan, size_t k) {
  const ir::Node& n = e.graph.nodes[k];
  std::string sig = n.op;
  for (const auto* list : {&n.inputs, &n.outputs}) {
    sig += '|';
    for (int v : *list) {
      if (v < 0) {
        sig += "-;";
        continue;
      }
      const TensorView& view = plan.views[static_cast<size_t>(v)];
      sig += std::to_string(static_cast<int>(view.dtype));
      for (int64_t d : view.shape()) sig += ',' + std::to_string(d);
      sig += ';';
    }
  }
  return sig;
}

// Prepares every kernel node. Nodes of providers whose prepare may run
// concurrently (the CPU) are prepared in parallel on the calling arena: first
// one node of each signature (the nodes that make new oneDNN primitives, whose
// JIT code generation is most of a new shape's cost), then the rest. The first
// error in node order is the one reported.
void prepare_kernels(const EngineImpl& e, Plan& plan, std::span<const std::unique_ptr<ProviderStream>> streams,
                     TimingCache* tuning) {
  const ir::Graph& g = e.graph;
  std::vector<size_t> first, rest;
  std::unordered_set<std::string> seen;
  std::vector<std::exception_ptr> failed(g.nodes.size());
  auto prepare = [&](size_t k) {
    try {
      plan.states[k] = prepare_node(e, plan, k, streams, tuning);
    } catch (...) {
      failed[k] = std::current_exception();
    }
  };
  const bool parallel = tbb::this_task_arena::max_concurrency() > 1;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (e.dynamic_node[k] || e.kinds[k] != NodeKind::kKernel) continue;
    if (!parallel || !e.providers[static_cast<size_t>(g.nodes[k].provider)]->concurrent_prepare()) {
      prepare(k);
      continue;
    }
    (seen.insert(prepare_signature(e, plan, k)).second ? first : rest).push_back(k);
  }
  for (const std::vector<size_t>* wave : {&first, &rest}) {
    // A task group rather than a parallel_for: the spawning thread takes
    // tasks from the end and thieves from the front, so the costly nodes,
    // wherever they sit, spread over the threads.
    tbb::task_group tasks;
    for (size_t k : *wave)
      tasks.run([&, k] {
        // Isolated: a thread waiting inside a kernel's own parallel work (a
        // weight reorder) must not pick up another node's prepare meanwhile.
        tbb::this_task_arena::isolate([&] { prepare(k); });
      });
    tasks.wait();
  }
  for (const std::exception_ptr& f : failed)
    if (f) std::rethrow_exception(f);
}

}  // namespace

std::unique_ptr<Plan> make_plan(const EngineImpl& e, const std::vector<std::vector<int64_t>>& shapes,
                                int64_t max_tensor_bytes, std::span<const std::unique_ptr<ProviderStream>> streams,
                                TimingCache* tuning) {
  const ir::Graph& g = e.graph;
  auto plan = std::make_unique<Plan>();
  plan->binding = bind_symbols(e, shapes);

  // Resolve every statically known shape; arena values are placed per memory.
  size_t memories = g.providers.size();
  plan->views.assign(g.values.size(), TensorView{});
  std::vector<std::vector<Buffer>> buffers(memories);
  std::vector<std::vector<size_t>> buffer_values(memories);
  for (size_t v = 0; v < g.values.size(); ++v) {
    ValueHome h = e.homes[v];
    const ir::Value& val = g.values[v];
    TensorView& view = plan->views[v];
    view.dtype = val.dtype;
    if (h == ValueHome::kConstant) {
      const Tensor& t = *val.constant;
      view.rank = static_cast<int>(t.shape().size());
      for (size_t j = 0; j < t.shape().size(); ++j) view.dims[j] = t.shape()[j];
      view.data = const_cast<void*>(t.data());
      continue;
    }
    if (h != ValueHome::kArena && h != ValueHome::kAlias && h != ValueHome::kOutput) continue;
    view = view_with_dims(val, plan->binding);
    if (h != ValueHome::kArena) continue;  // bound at run time
    auto m = static_cast<size_t>(val.provider);
    buffers[m].push_back(Buffer{static_cast<int64_t>(view.nbytes()), e.first_use[v], e.last_use[v]});
    buffer_values[m].push_back(v);
  }
  for (size_t k = 0; k < g.inputs.size(); ++k) {
    TensorView& view = plan->views[static_cast<size_t>(g.inputs[k])];
    view.rank = static_cast<int>(shapes[k].size());
    for (size_t j = 0; j < shapes[k].size(); ++j) view.dims[j] = shapes[k][j];
  }
  if (max_tensor_bytes > 0)  // every tensor whose size this shape fixes: inputs, intermediates, outputs
    for (size_t v = 0; v < g.values.size(); ++v) {
      const TensorView& view = plan->views[v];
      std::span<const int64_t> dims = view.shape();
      if (e.homes[v] == ValueHome::kConstant || std::any_of(dims.begin(), dims.end(), [](int64_t d) { return d < 0; }))
        continue;
      if (static_cast<int64_t>(view.nbytes()) > max_tensor_bytes)
        throw Error(ErrorCode::kOutOfMemory, "tensor '" + g.values[v].name + "' would be " +
                                                 dims_str({dims.begin(), dims.end()}) + " (" +
                                                 std::to_string(view.nbytes()) +
                                                 " bytes), over ContextOptions::max_tensor_bytes = " +
                                                 std::to_string(max_tensor_bytes));
    }
  plan->offsets.assign(g.values.size(), -1);
  plan->arena_bytes.assign(memories, 0);
  for (size_t m = 0; m < memories; ++m) {
    MemoryPlan mp = plan_memory(buffers[m]);
    for (size_t b = 0; b < buffers[m].size(); ++b) plan->offsets[buffer_values[m][b]] = mp.offsets[b];
    plan->arena_bytes[m] = mp.total;
  }

  // Shape-specific kernel work, once per shape.
  plan->states.resize(g.nodes.size());
  prepare_kernels(e, *plan, streams, tuning);
  return plan;
}

Plan* PlanCache::find(const Key& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return lru_.front().second.get();
}

Plan* PlanCache::insert(const Key& key, std::unique_ptr<Plan> plan) {
  lru_.emplace_front(key, std::move(plan));
  index_[key] = lru_.begin();
  while (index_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return lru_.front().second.get();
}

}  // namespace dynrt
