#include "runtime/host_eval.h"

#include "backends/provider.h"

namespace dynrt {

TensorView view_of(const Tensor& t) {
  TensorView v;
  v.dtype = t.dtype();
  v.rank = static_cast<int>(t.shape().size());
  for (size_t i = 0; i < t.shape().size(); ++i) v.dims[i] = t.shape()[i];
  v.data = const_cast<void*>(t.data());
  return v;
}

bool can_evaluate_on_host(const ir::Node& n) { return cpu_provider().kernels().find(n.op, n.domain) != nullptr; }

std::vector<Tensor> evaluate_node(const ir::Graph& g, const ir::Node& n, std::span<const Tensor> inputs) {
  const OpSchema* def = OpRegistry::instance().find(n.op, n.domain);
  const KernelRegistry::Entry* k = cpu_provider().kernels().find(n.op, n.domain);
  if (!def || !k) throw Error(ErrorCode::kUnsupported, g.node_label(n) + ": no CPU kernel");
  std::unique_ptr<Kernel> kernel = k->make(KernelInit(g, n));
  std::vector<TensorView> in_views;
  for (const Tensor& t : inputs) in_views.push_back(t.empty_tensor() ? TensorView{} : view_of(t));
  std::vector<Tensor> outs(n.outputs.size());
  std::vector<TensorView> out_views(n.outputs.size());
  std::vector<int64_t> no_binding;
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    if (n.outputs[i] < 0 || def->traits.data_dependent) continue;
    const ir::Value& v = g.values[static_cast<size_t>(n.outputs[i])];
    std::vector<int64_t> dims;
    for (const Expr& e : v.shape) {
      if (!e.is_const()) throw Error(ErrorCode::kInternal, g.node_label(n) + ": folding needs constant output shapes");
      dims.push_back(e.const_value());
    }
    outs[i] = Tensor(v.dtype, dims);
    out_views[i] = view_of(outs[i]);
  }
  KernelContext ctx;
  ctx.inputs = in_views;
  ctx.outputs = out_views;
  ctx.binding = no_binding;
  struct Allocator : OutputAllocator {
    const ir::Graph& g;
    const ir::Node& n;
    std::vector<Tensor>& outs;
    std::vector<TensorView>& views;
    Allocator(const ir::Graph& g_, const ir::Node& n_, std::vector<Tensor>& o, std::vector<TensorView>& v)
        : g(g_), n(n_), outs(o), views(v) {}
    void allocate(size_t i, std::span<const int64_t> dims) override {
      const ir::Value& v = g.values[static_cast<size_t>(n.outputs[i])];
      outs[i] = Tensor(v.dtype, std::vector<int64_t>(dims.begin(), dims.end()));
      views[i] = view_of(outs[i]);
    }
  } allocator(g, n, outs, out_views);
  ctx.allocator = &allocator;
  std::unique_ptr<KernelState> state = kernel->prepare(ctx);
  ctx.state = state.get();
  kernel->run(ctx);
  return outs;
}

}  // namespace dynrt
