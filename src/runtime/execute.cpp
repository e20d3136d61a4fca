// The node loop: kernels in topological order, copies at provider
// boundaries, run-time allocation for sizes decided by data.
#include <chrono>

#include "core/checked.h"
#include "runtime/context_impl.h"

namespace dynrt {

namespace {

// Guards on sizes known only now (skipped when planning) are checked here.
void check_late_guards(const ir::Graph& g, std::span<const int64_t> binding) {
  for (const ir::Guard& guard : g.guards) {
    bool ready = true;
    for (int s : guard.a.symbols()) ready = ready && binding[static_cast<size_t>(s)] >= 0;
    for (int s : guard.b.symbols()) ready = ready && binding[static_cast<size_t>(s)] >= 0;
    if (ready && !guard.holds(binding))
      throw Error(ErrorCode::kShapeOutOfRange,
                  "sizes computed at run time violate " + guard.describe(g.symbols) + ", required by " + guard.what);
  }
}

// An output sized from values computed in this run (by its own kernel, or
// from symbols an earlier node bound): checked before anything is allocated.
void check_run_time_size(const ir::Graph& g, const ir::Node& n, const ir::Value& val, std::span<const int64_t> dims,
                         int64_t max_tensor_bytes) {
  for (int64_t d : dims)
    if (d < 0)
      throw Error(ErrorCode::kInvalidInput, g.node_label(n) + ": output '" + val.name + "' would be " +
                                                dims_str({dims.begin(), dims.end()}) + ", with a negative dimension");
  int64_t bytes = static_cast<int64_t>(dtype_size(val.dtype));
  for (int64_t d : dims)
    if (__builtin_mul_overflow(bytes, d, &bytes) || bytes > kMaxTensorBytes)
      throw Error(ErrorCode::kInvalidInput, g.node_label(n) + ": output '" + val.name + "' would be " +
                                                dims_str({dims.begin(), dims.end()}) + ", too large to allocate");
  if (max_tensor_bytes > 0 && bytes > max_tensor_bytes)
    throw Error(ErrorCode::kOutOfMemory, g.node_label(n) + ": output '" + val.name + "' would be " +
                                             dims_str({dims.begin(), dims.end()}) + " (" + std::to_string(bytes) +
                                             " bytes), over ContextOptions::max_tensor_bytes = " +
                                             std::to_string(max_tensor_bytes));
}

}  // namespace

// Outputs a kernel sizes while running: binds the symbols the sizes define,
// checks the guards that mention them, allocates in the node's memory.
struct ContextImpl::RunAllocator final : OutputAllocator {
  RunAllocator(ContextImpl& c, const ir::Node& node, const ExecutionProvider* p, std::vector<TensorView>& v,
               std::vector<TensorView>& ov, std::vector<int64_t>& b)
      : ctx(c), n(node), provider(p), views(v), out_views(ov), binding(b) {}

  void allocate(size_t i, std::span<const int64_t> dims) override {
    const ir::Graph& g = ctx.e->graph;
    int o = n.outputs[i];
    const ir::Value& val = g.values[static_cast<size_t>(o)];
    if (dims.size() != val.shape.size())
      throw Error(ErrorCode::kInternal, g.node_label(n) + ": output rank differs from inference");
    bool newly_bound = false;
    for (size_t j = 0; j < dims.size(); ++j) {
      const Expr& ex = val.shape[j];
      if (ex.is_symbol() && binding[static_cast<size_t>(ex.symbol_id())] < 0) {
        binding[static_cast<size_t>(ex.symbol_id())] = dims[j];
        newly_bound = true;
      } else if (ex.eval(binding) != dims[j]) {
        throw Error(ErrorCode::kInternal, g.node_label(n) + ": output dimension differs from inference");
      }
    }
    if (newly_bound) check_late_guards(g, binding);
    check_run_time_size(g, n, val, dims, ctx.max_tensor_bytes);
    TensorView& ov = views[static_cast<size_t>(o)];
    ov.dtype = val.dtype;
    ov.rank = static_cast<int>(dims.size());
    for (size_t j = 0; j < dims.size(); ++j) ov.dims[j] = dims[j];
    ctx.dynamic_buffers.emplace_back(provider, ov.nbytes());
    ov.data = ctx.dynamic_buffers.back().data();
    out_views[i] = ov;
  }

  ContextImpl& ctx;
  const ir::Node& n;
  const ExecutionProvider* provider;
  std::vector<TensorView>& views;
  std::vector<TensorView>& out_views;
  std::vector<int64_t>& binding;
};

TensorView& ContextImpl::allocate_at_run_time(size_t k, size_t i, std::span<const int64_t> dims,
                                              std::vector<TensorView>& views, std::vector<int64_t>& binding) {
  const ir::Node& n = e->graph.nodes[k];
  std::vector<TensorView> outs(n.outputs.size());
  RunAllocator allocator{*this, n, e->providers[static_cast<size_t>(n.provider)], views, outs, binding};
  allocator.allocate(i, dims);
  return views[static_cast<size_t>(n.outputs[i])];
}

void ContextImpl::run_node(size_t k, Plan& plan, std::vector<TensorView>& views, std::vector<int64_t>& binding) {
  const ir::Graph& g = e->graph;
  NodeKind kind = e->kinds[k];
  if (kind == NodeKind::kView) return;
  if (kind == NodeKind::kSubgraph) {
    run_subgraph(k, views, binding);
    return;
  }
  if (kind == NodeKind::kBoxed) {
    run_boxed(k, views, binding);
    return;
  }
  // The first run of a shape pays one-time costs (modules loaded, library
  // heuristics): the profile counts the runs after it.
  const bool timed = profile.enabled && plan.runs > 0;
  if (kind == NodeKind::kCopy) {
    if (!timed) {
      run_copy(k, views, binding);
      return;
    }
    auto t0 = std::chrono::steady_clock::now();
    run_copy(k, views, binding);
    for (auto& s : streams)
      if (s) s->synchronize();
    profile.add(profile.per_node ? "MemCopy '" + g.nodes[k].name + "'" : "MemCopy", t0);
    return;
  }
  std::vector<TensorView>& in_views = scratch_in;
  std::vector<TensorView>& out_views = scratch_out;
  {
    const ir::Node& n = g.nodes[k];
    const ExecutionProvider& provider = *e->providers[static_cast<size_t>(n.provider)];
    int memory = e->node_memory(k);
    bool dyn = e->dynamic_node[k];
    bool data_dependent = e->schemas[k]->traits.data_dependent;
    in_views.clear();
    out_views.clear();
    for (size_t j = 0; j < n.inputs.size(); ++j) {
      int i = n.inputs[j];
      if (i < 0) {
        in_views.emplace_back();
        continue;
      }
      in_views.push_back(views[static_cast<size_t>(i)]);
      if (memory != 0 && e->homes[static_cast<size_t>(i)] == ValueHome::kConstant && !e->reads_on_host(k, j)) {
        auto it = e->device_constants.find({memory, i});
        if (it != e->device_constants.end()) in_views.back().data = it->second.data();
      }
    }
    bool pending = false;  // an output sized by values this node reads: its kernel allocates it
    for (int o : n.outputs) {
      if (o < 0) {
        out_views.emplace_back();
        continue;
      }
      TensorView& ov = views[static_cast<size_t>(o)];
      // An output whose shape the plan resolved keeps its arena bytes (a view
      // of it may already point there), even when the node reads sizes found
      // in this run.
      if (dyn && !data_dependent && e->homes[static_cast<size_t>(o)] == ValueHome::kDynamic) {
        // Sizes that depend on data produced earlier in this run.
        const ir::Value& val = g.values[static_cast<size_t>(o)];
        ov.dtype = val.dtype;
        ov.rank = static_cast<int>(val.shape.size());
        bool bound = true;
        for (const Expr& d : val.shape)
          for (int s : d.symbols()) bound = bound && binding[static_cast<size_t>(s)] >= 0;
        if (!bound) {
          // e.g. Reshape to a shape tensor computed at run time: the kernel
          // calls allocate_output, which binds the new symbols.
          for (size_t j = 0; j < val.shape.size(); ++j) ov.dims[j] = 0;
          ov.data = nullptr;
          pending = true;
        } else {
          for (size_t j = 0; j < val.shape.size(); ++j) ov.dims[j] = val.shape[j].eval(binding);
          check_run_time_size(g, n, val, {ov.dims.data(), val.shape.size()}, max_tensor_bytes);
          dynamic_buffers.emplace_back(&provider, ov.nbytes());
          ov.data = dynamic_buffers.back().data();
        }
      }
      out_views.push_back(ov);
    }
    KernelContext ctx;
    ctx.inputs = in_views;
    ctx.outputs = out_views;
    ctx.binding = binding;
    ctx.stream = streams[static_cast<size_t>(n.provider)].get();
    ctx.tuning = tuning;
    RunAllocator allocator{*this, n, &provider, views, out_views, binding};
    if (dyn) ctx.allocator = &allocator;
    if (pending && e->schemas[k]->run_shape) {
      // The op's shape function, on the host, then the outputs: the kernel
      // finds them allocated.
      std::vector<std::vector<int64_t>> dims(n.outputs.size());
      RunShapeContext shape_ctx(g, n, in_views, dims);
      e->schemas[k]->run_shape(shape_ctx);
      for (size_t i = 0; i < dims.size(); ++i)
        if (n.outputs[i] >= 0 && out_views[i].data == nullptr) allocator.allocate(i, dims[i]);
      pending = false;
    }
    bool empty = !data_dependent && !pending;
    for (const TensorView& ov : out_views) empty = empty && (ov.dtype == DType::kUndefined || ov.numel() == 0);
    if (empty) return;  // nothing to compute into
    std::unique_ptr<KernelState> fresh;
    if (dyn) {
      fresh = e->kernels[k]->prepare(ctx);
      ctx.state = fresh.get();
    } else {
      ctx.state = plan.states[k].get();
    }
    // Kernels see tensors, not nodes: their errors get the node's name here.
    auto run_kernel = [&] {
      try {
        e->kernels[k]->run(ctx);
      } catch (const Error& err) {
        std::string label = g.node_label(n);
        if (std::string_view(err.what()).find(label) != std::string_view::npos) throw;
        throw Error(err.code(), label + ": " + err.what());
      }
    };
    if (!timed) {
      run_kernel();
      return;
    }
    auto t0 = std::chrono::steady_clock::now();
    run_kernel();
    if (ctx.stream) ctx.stream->synchronize();  // time the work, not its launch
    auto fused = n.attrs.find("dynrt.fused");
    std::string key = fused != n.attrs.end() ? fused->second.s : n.op;
    if (profile.per_node) key += " '" + n.name + "' on " + g.providers[static_cast<size_t>(n.provider)] + (dyn ? " (sized at run time)" : "");
    profile.add(key, t0);
  }
}

void ContextImpl::execute(Plan& plan, std::vector<TensorView>& views) {
  std::vector<int64_t> binding = plan.binding;
  size_t n = e->graph.nodes.size();
  // Recordings hold pointers: drop them when memory moved (arenas, scratch)
  // or the caller's device buffers that kernels read in place changed.
  auto invalidate_if_moved = [&] {
    uint64_t generation = memory_generation();
    if (plan.captured.size() == segments.size() && plan.captured_generation == generation &&
        plan.captured_callers == copy_source)
      return;
    // New caller buffers: record only once the same ones come back (a
    // caller that passes fresh buffers every run gets plain runs).
    if (plan.captured_callers != copy_source) plan.runs = 0;
    plan.captured.clear();
    plan.captured.resize(segments.size());
    plan.captured_generation = generation;
    plan.captured_callers = copy_source;
  };
  invalidate_if_moved();
  for (size_t k = 0; k < n;) {
    int s = segment_at[k];
    if (s < 0 || profile.enabled || !capture_graphs) {
      run_node(k, plan, views, binding);
      ++k;
      continue;
    }
    invalidate_if_moved();  // a node since the last segment may have grown scratch memory
    const Segment& seg = segments[static_cast<size_t>(s)];
    Plan::Captured& cap = plan.captured[static_cast<size_t>(s)];
    if (cap.work) {
      cap.work->replay();
      ++stats.graph_replays;
    } else if (plan.runs == 0 || cap.failed) {
      // The first run of a shape runs plainly: libraries set themselves up
      // and scratch memory grows outside any capture.
      for (size_t j = seg.begin; j < seg.end; ++j) run_node(j, plan, views, binding);
    } else {
      capture(seg, cap, plan, views, binding);
    }
    k = seg.end;
  }
  ++plan.runs;
}

// Records a segment's kernels into a replayable graph and launches it; if
// the provider cannot record one of them, the segment runs plainly and is
// not tried again for this shape.
void ContextImpl::capture(const Segment& seg, Plan::Captured& cap, Plan& plan, std::vector<TensorView>& views,
                          std::vector<int64_t>& binding) {
  ProviderStream& stream = *streams[static_cast<size_t>(seg.provider)];
  if (!stream.begin_capture()) {
    cap.failed = true;
  } else {
    try {
      for (size_t j = seg.begin; j < seg.end; ++j) run_node(j, plan, views, binding);
    } catch (...) {  // the segment runs plainly below (and throws again if the error is real)
      stream.end_capture();
      cap.failed = true;
    }
    if (!cap.failed) {
      cap.work = stream.end_capture();
      cap.failed = !cap.work;
    }
  }
  if (cap.work) {
    cap.work->replay();
    ++stats.graph_replays;
  } else {
    for (size_t j = seg.begin; j < seg.end; ++j) run_node(j, plan, views, binding);
  }
}

uint64_t ContextImpl::memory_generation() const {
  uint64_t g = arena_generation;
  for (const auto& s : streams)
    if (s) g += s->generation();
  return g;
}

// Segments: runs of consecutive kernels on one provider with a stream whose
// work depends only on the input shapes (no sizes found while running, no
// host inputs other than constants and values of the symbols), so that a
// recording of one run replays correctly for every run of that shape.
void ContextImpl::find_segments() {
  const ir::Graph& g = e->graph;
  segment_at.assign(g.nodes.size(), -1);
  auto capturable = [&](size_t k) {
    const ir::Node& n = g.nodes[k];
    if (e->kinds[k] == NodeKind::kView) return true;
    if (e->kinds[k] != NodeKind::kKernel || e->dynamic_node[k] || e->schemas[k]->traits.data_dependent) return false;
    if (!streams[static_cast<size_t>(n.provider)]) return false;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      int v = n.inputs[i];
      if (v < 0 || !e->schemas[k]->traits.is_host_input(i)) continue;
      const ir::Value& val = g.values[static_cast<size_t>(v)];
      bool from_symbols = val.producer >= 0 && g.nodes[static_cast<size_t>(val.producer)].domain == "dynrt" &&
                          g.nodes[static_cast<size_t>(val.producer)].op == "ExprTensor";
      if (!val.constant && !from_symbols) return false;
    }
    return true;
  };
  for (size_t k = 0; k < g.nodes.size();) {
    if (e->kinds[k] != NodeKind::kKernel || !capturable(k)) {
      ++k;
      continue;
    }
    int provider = g.nodes[k].provider;
    size_t end = k;
    size_t kernels = 0;
    while (end < g.nodes.size() && capturable(end) &&
           (e->kinds[end] == NodeKind::kView || g.nodes[end].provider == provider)) {
      kernels += e->kinds[end] == NodeKind::kKernel;
      ++end;
    }
    if (kernels >= 2) {
      segment_at[k] = static_cast<int>(segments.size());
      segments.push_back(Segment{k, end, provider});
    }
    k = end;
  }
}

// ---- the public handle ------------------------------------------------------

ExecutionContext::ExecutionContext(std::unique_ptr<ContextImpl> impl) : impl_(std::move(impl)) {}
ExecutionContext::~ExecutionContext() = default;

namespace {

// Marks the context busy for one call; a call that finds it busy fails.
class OneCaller {
 public:
  explicit OneCaller(std::atomic<bool>& busy) : busy_(busy) {
    if (busy_.exchange(true, std::memory_order_acquire))
      throw Error(ErrorCode::kInvalidConfig,
                  "this ExecutionContext is already running on another thread; use one context per thread "
                  "(Engine::create_context)");
  }
  ~OneCaller() { busy_.store(false, std::memory_order_release); }
  OneCaller(const OneCaller&) = delete;
  OneCaller& operator=(const OneCaller&) = delete;

 private:
  std::atomic<bool>& busy_;
};

}  // namespace

std::map<std::string, Tensor> ExecutionContext::run(const std::map<std::string, Tensor>& inputs) {
  std::map<std::string, Tensor> outputs;
  run(inputs, outputs);
  return outputs;
}

void ExecutionContext::run(const std::map<std::string, Tensor>& inputs, std::map<std::string, Tensor>& outputs) {
  OneCaller guard(impl_->busy);
  ContextImpl& c = impl_->serving(inputs);
  try {
    c.run(inputs, outputs);
  } catch (const std::bad_alloc&) {  // a tensor whose size the data decided, or the host's own buffers
    throw Error(ErrorCode::kOutOfMemory, "out of host memory while running (the plan's arena for these shapes is " +
                                             std::to_string(c.stats.arena_bytes) + " bytes)");
  }
}

std::map<std::string, Value> ExecutionContext::run_values(const std::map<std::string, Value>& inputs) {
  OneCaller guard(impl_->busy);
  std::map<std::string, Tensor> tensors;  // the dims a variant is chosen by
  for (const auto& [name, v] : inputs)
    if (v.holds() == Value::Holds::kTensor) tensors.emplace(name, v.tensor());
  ContextImpl& c = impl_->serving(tensors);
  try {
    return c.run_values(inputs);
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::kOutOfMemory, "out of host memory while running (the plan's arena for these shapes is " +
                                             std::to_string(c.stats.arena_bytes) + " bytes)");
  }
}

std::map<std::string, std::vector<int64_t>> ExecutionContext::output_shapes(
    const std::map<std::string, std::vector<int64_t>>& input_shapes) {
  OneCaller guard(impl_->busy);
  return impl_->serving(input_shapes).output_shapes(input_shapes);
}

int64_t ExecutionContext::plans_created() const { return impl_->total_plans_created(); }
int64_t ExecutionContext::plans_cached() const { return impl_->total_plans_cached(); }
int64_t ExecutionContext::arena_bytes() const { return impl_->last->stats.arena_bytes; }
RunStats ExecutionContext::last_run_stats() const { return impl_->last->stats; }
int ExecutionContext::threads() const { return impl_->threads; }

}  // namespace dynrt
