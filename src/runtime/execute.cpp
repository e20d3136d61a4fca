// The node loop: kernels in topological order, copies at provider
// boundaries, run-time allocation for sizes decided by data.
#include <chrono>

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
    // Sizes computed from input values: checked before allocating.
    int64_t bytes = static_cast<int64_t>(dtype_size(val.dtype));
    for (int64_t d : dims)
      if (d < 0 || __builtin_mul_overflow(bytes, d, &bytes) || bytes > (int64_t{1} << 46))
        throw Error(ErrorCode::kInvalidInput, g.node_label(n) + ": output '" + val.name + "' would be " +
                                                  dims_str({dims.begin(), dims.end()}) + ", too large to allocate");
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

void ContextImpl::execute(Plan& plan, std::vector<TensorView>& views) {
  const ir::Graph& g = e->graph;
  std::vector<int64_t> binding = plan.binding;
  std::vector<TensorView> in_views, out_views;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    NodeKind kind = e->kinds[k];
    if (kind == NodeKind::kView) continue;
    if (kind == NodeKind::kCopy) {
      run_copy(k, views, binding);
      continue;
    }
    const ir::Node& n = g.nodes[k];
    const ExecutionProvider& provider = *e->providers[static_cast<size_t>(n.provider)];
    int memory = e->node_memory(k);
    bool dyn = e->dynamic_node[k];
    bool data_dependent = e->schemas[k]->traits.data_dependent;
    in_views.clear();
    out_views.clear();
    for (int i : n.inputs) {
      if (i < 0) {
        in_views.emplace_back();
        continue;
      }
      in_views.push_back(views[static_cast<size_t>(i)]);
      if (memory != 0 && e->homes[static_cast<size_t>(i)] == ValueHome::kConstant) {
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
      if (dyn && !data_dependent && e->homes[static_cast<size_t>(o)] != ValueHome::kOutput) {
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
    if (empty) continue;  // nothing to compute into
    std::unique_ptr<KernelState> fresh;
    if (dyn) {
      fresh = e->kernels[k]->prepare(ctx);
      ctx.state = fresh.get();
    } else {
      ctx.state = plan.states[k].get();
    }
    if (!profile.enabled) {
      e->kernels[k]->run(ctx);
      continue;
    }
    auto t0 = std::chrono::steady_clock::now();
    e->kernels[k]->run(ctx);
    auto fused = n.attrs.find("dynrt.fused");
    auto& [ms, calls] = profile.ms_calls[fused != n.attrs.end() ? fused->second.s : n.op];
    ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ++calls;
  }
}

// ---- the public handle ------------------------------------------------------

ExecutionContext::ExecutionContext(std::unique_ptr<ContextImpl> impl) : impl_(std::move(impl)) {}
ExecutionContext::~ExecutionContext() = default;

std::map<std::string, Tensor> ExecutionContext::run(const std::map<std::string, Tensor>& inputs) {
  std::map<std::string, Tensor> outputs;
  impl_->run(inputs, outputs);
  return outputs;
}

void ExecutionContext::run(const std::map<std::string, Tensor>& inputs, std::map<std::string, Tensor>& outputs) {
  impl_->run(inputs, outputs);
}

std::map<std::string, std::vector<int64_t>> ExecutionContext::output_shapes(
    const std::map<std::string, std::vector<int64_t>>& input_shapes) {
  return impl_->output_shapes(input_shapes);
}

int64_t ExecutionContext::plans_created() const { return impl_->plans_created; }
int64_t ExecutionContext::plans_cached() const { return static_cast<int64_t>(impl_->cache.size()); }
int64_t ExecutionContext::arena_bytes() const { return impl_->stats.arena_bytes; }
RunStats ExecutionContext::last_run_stats() const { return impl_->stats; }
int ExecutionContext::threads() const { return impl_->threads; }

}  // namespace dynrt
