// ExecutionContext: check input shapes against profiles and guards, bind the
// symbols, plan (once per distinct input shape: sizes, arena offsets, kernel
// state), then run the nodes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "runtime/engine_impl.h"
#include "runtime/host_eval.h"
#include "runtime/memory_plan.h"

namespace dynrt {

namespace {

struct Plan {
  std::vector<int64_t> binding;       // per symbol (data-dependent ones: -1)
  std::vector<TensorView> views;      // per value; data filled at run time for arena values
  std::vector<int64_t> offsets;       // per value, arena values only
  int64_t arena_bytes = 0;
  std::vector<std::unique_ptr<KernelState>> states;  // per node (static nodes)
};

struct AlignedFree {
  void operator()(std::byte* p) const { std::free(p); }
};

std::string binding_str(const ir::Graph& g, const std::vector<int64_t>& binding) {
  std::string s;
  for (int id = 0; id < g.symbols.size(); ++id)
    if (binding[static_cast<size_t>(id)] >= 0)
      s += (s.empty() ? "" : ", ") + g.symbols[id].name + "=" + std::to_string(binding[static_cast<size_t>(id)]);
  return s;
}

}  // namespace

// DYNRT_PROFILE=1: time every kernel and print a per-op table when the context
// is destroyed (for performance work; off by default, no cost when off).
struct OpProfile {
  bool enabled = std::getenv("DYNRT_PROFILE") != nullptr;
  std::map<std::string, std::pair<double, int64_t>> ms_calls;
  ~OpProfile() {
    if (!enabled || ms_calls.empty()) return;
    double total = 0;
    for (const auto& [op, v] : ms_calls) total += v.first;
    std::vector<std::pair<double, std::string>> rows;
    for (const auto& [op, v] : ms_calls) rows.emplace_back(v.first, op);
    std::sort(rows.rbegin(), rows.rend());
    std::fprintf(stderr, "dynrt profile: %.1f ms in kernels\n", total);
    for (const auto& [ms, op] : rows)
      std::fprintf(stderr, "  %-32s %10.2f ms %5.1f%% %8lld calls\n", op.c_str(), ms, 100 * ms / total,
                   static_cast<long long>(ms_calls[op].second));
  }
};

struct ContextImpl {
  std::shared_ptr<const EngineImpl> e;
  OpProfile profile;
  std::map<std::vector<int64_t>, std::unique_ptr<Plan>> plans;
  std::unique_ptr<std::byte, AlignedFree> arena;
  int64_t arena_capacity = 0;
  int64_t last_arena = 0;
  std::vector<std::unique_ptr<std::byte[]>> dynamic_buffers;

  std::unique_ptr<Plan> make_plan(const std::vector<const Tensor*>& inputs);
  void check_profiles(const std::vector<int64_t>& binding, const std::vector<const Tensor*>& inputs) const;
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs);
};

void ContextImpl::check_profiles(const std::vector<int64_t>& binding, const std::vector<const Tensor*>& inputs) const {
  const ir::Graph& g = e->graph;
  std::string why;
  for (size_t p = 0; p < e->profiles.size(); ++p) {
    const ProfileBox& box = e->profiles[p];
    std::string miss;
    for (size_t k = 0; k < g.inputs.size() && miss.empty(); ++k) {
      const ir::Value& v = g.values[static_cast<size_t>(g.inputs[k])];
      for (size_t j = 0; j < v.shape.size() && miss.empty(); ++j) {
        if (!v.shape[j].is_symbol()) continue;
        auto s = static_cast<size_t>(v.shape[j].symbol_id());
        int64_t d = inputs[k]->shape()[j];
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

std::unique_ptr<Plan> ContextImpl::make_plan(const std::vector<const Tensor*>& inputs) {
  const ir::Graph& g = e->graph;
  auto plan = std::make_unique<Plan>();
  plan->binding.assign(static_cast<size_t>(g.symbols.size()), -1);
  std::vector<std::string> bound_by(static_cast<size_t>(g.symbols.size()));
  // Bind symbols from whole-symbol dims; fixed dims must match exactly.
  for (size_t k = 0; k < g.inputs.size(); ++k) {
    const ir::Value& v = g.values[static_cast<size_t>(g.inputs[k])];
    for (size_t j = 0; j < v.shape.size(); ++j) {
      int64_t d = inputs[k]->shape()[j];
      std::string where = "input '" + v.name + "' dimension " + std::to_string(j);
      const Expr& ex = v.shape[j];
      if (ex.is_const() && d != ex.const_value())
        throw Error(ErrorCode::kShapeOutOfRange, where + " must be " + std::to_string(ex.const_value()) + ", got " +
                                                     std::to_string(d) + " (shape " + dims_str(inputs[k]->shape()) + ")");
      if (!ex.is_symbol()) continue;
      auto s = static_cast<size_t>(ex.symbol_id());
      if (plan->binding[s] >= 0 && plan->binding[s] != d)
        throw Error(ErrorCode::kShapeOutOfRange,
                    where + " is " + std::to_string(d) + ", but " + bound_by[s] + " is " + std::to_string(plan->binding[s]) +
                        "; both are the dimension '" + g.symbols[static_cast<int>(s)].name + "' and must be equal");
      plan->binding[s] = d;
      bound_by[s] = where;
    }
  }
  check_profiles(plan->binding, inputs);
  // Derived dims (relations such as dec = 2*enc) are checked once all are bound.
  for (size_t k = 0; k < g.inputs.size(); ++k) {
    const ir::Value& v = g.values[static_cast<size_t>(g.inputs[k])];
    for (size_t j = 0; j < v.shape.size(); ++j) {
      const Expr& ex = v.shape[j];
      if (ex.is_const() || ex.is_symbol()) continue;
      int64_t want = ex.eval(plan->binding), d = inputs[k]->shape()[j];
      if (want != d)
        throw Error(ErrorCode::kShapeOutOfRange, "input '" + v.name + "' dimension " + std::to_string(j) + " is " +
                                                     std::to_string(d) + ", but the relation makes it " +
                                                     ex.str(&g.symbols) + " = " + std::to_string(want));
    }
  }
  for (const ir::Guard& guard : g.guards) {
    bool data_dependent = false;
    for (int s : guard.a.symbols()) data_dependent |= plan->binding[static_cast<size_t>(s)] < 0;
    for (int s : guard.b.symbols()) data_dependent |= plan->binding[static_cast<size_t>(s)] < 0;
    if (data_dependent) continue;  // checked by the op once its sizes are known
    if (!guard.holds(plan->binding))
      throw Error(ErrorCode::kShapeOutOfRange, "input shapes violate " + guard.describe(g.symbols) + " (with " +
                                                   binding_str(g, plan->binding) + "), required by " + guard.what);
  }

  // Resolve every statically known shape and plan the arena.
  plan->views.assign(g.values.size(), TensorView{});
  std::vector<Buffer> buffers;
  std::vector<size_t> buffer_values;
  for (size_t v = 0; v < g.values.size(); ++v) {
    ValueHome h = e->homes[v];
    const ir::Value& val = g.values[v];
    TensorView& view = plan->views[v];
    view.dtype = val.dtype;
    if (h == ValueHome::kConstant) {
      view = view_of(*val.constant);
      continue;
    }
    if (h != ValueHome::kArena && h != ValueHome::kAlias) continue;
    view.rank = static_cast<int>(val.shape.size());
    for (size_t j = 0; j < val.shape.size(); ++j) view.dims[j] = val.shape[j].eval(plan->binding);
    if (h == ValueHome::kAlias) continue;  // bytes of its root, bound at run time
    buffers.push_back(Buffer{static_cast<int64_t>(view.nbytes()), e->first_use[v], e->last_use[v]});
    buffer_values.push_back(v);
  }
  for (size_t k = 0; k < g.inputs.size(); ++k) {
    plan->views[static_cast<size_t>(g.inputs[k])] = view_of(*inputs[k]);
    plan->views[static_cast<size_t>(g.inputs[k])].data = nullptr;
  }
  MemoryPlan mp = plan_memory(buffers);
  plan->offsets.assign(g.values.size(), -1);
  for (size_t b = 0; b < buffers.size(); ++b) plan->offsets[buffer_values[b]] = mp.offsets[b];
  plan->arena_bytes = mp.total;

  // Shape-specific kernel work, once per shape.
  plan->states.resize(g.nodes.size());
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (e->dynamic_node[k] || e->skip_node[k]) continue;
    const ir::Node& n = g.nodes[k];
    std::vector<TensorView> ins, outs;
    for (int i : n.inputs) ins.push_back(i >= 0 ? plan->views[static_cast<size_t>(i)] : TensorView{});
    for (int o : n.outputs) outs.push_back(o >= 0 ? plan->views[static_cast<size_t>(o)] : TensorView{});
    KernelContext ctx;
    ctx.inputs = ins;
    ctx.outputs = outs;
    ctx.binding = plan->binding;
    plan->states[k] = e->kernels[k]->prepare(ctx);
  }
  return plan;
}

std::map<std::string, Tensor> ContextImpl::run(const std::map<std::string, Tensor>& inputs) {
  const ir::Graph& g = e->graph;
  std::vector<const Tensor*> ins;
  std::vector<int64_t> key;
  for (int id : g.inputs) {
    const ir::Value& v = g.values[static_cast<size_t>(id)];
    auto it = inputs.find(v.name);
    if (it == inputs.end()) throw Error(ErrorCode::kInvalidInput, "missing input '" + v.name + "'");
    const Tensor& t = it->second;
    if (t.dtype() != v.dtype)
      throw Error(ErrorCode::kInvalidInput, "input '" + v.name + "' has element type " + dtype_name(t.dtype()) +
                                                ", expected " + dtype_name(v.dtype));
    if (t.shape().size() != v.shape.size())
      throw Error(ErrorCode::kInvalidInput, "input '" + v.name + "' has rank " + std::to_string(t.shape().size()) +
                                                " (shape " + dims_str(t.shape()) + "), expected rank " +
                                                std::to_string(v.shape.size()) + " " + shape_str(v.shape, &g.symbols));
    ins.push_back(&t);
    key.insert(key.end(), t.shape().begin(), t.shape().end());
    key.push_back(-1);
  }
  for (const auto& [name, t] : inputs) {
    bool known = false;
    for (int id : g.inputs) known |= g.values[static_cast<size_t>(id)].name == name;
    if (!known) throw Error(ErrorCode::kInvalidInput, "'" + name + "' is not an input of this engine");
  }
  auto it = plans.find(key);
  if (it == plans.end()) it = plans.emplace(key, make_plan(ins)).first;
  Plan& plan = *it->second;

  if (plan.arena_bytes > arena_capacity) {
    auto bytes = static_cast<size_t>((plan.arena_bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment);
    arena.reset(static_cast<std::byte*>(std::aligned_alloc(kArenaAlignment, bytes)));
    if (!arena) throw Error(ErrorCode::kInternal, "out of memory allocating a " + std::to_string(bytes) + "-byte arena");
    arena_capacity = plan.arena_bytes;
  }
  last_arena = plan.arena_bytes;
  std::vector<TensorView> views = plan.views;
  for (size_t v = 0; v < views.size(); ++v)
    if (plan.offsets[v] >= 0) views[v].data = arena.get() + plan.offsets[v];
  for (size_t k = 0; k < g.inputs.size(); ++k) views[static_cast<size_t>(g.inputs[k])].data = const_cast<void*>(ins[k]->data());
  for (size_t v = 0; v < views.size(); ++v)
    if (e->homes[v] == ValueHome::kAlias) views[v].data = views[static_cast<size_t>(e->alias_root[v])].data;
  std::vector<int64_t> binding = plan.binding;
  dynamic_buffers.clear();

  std::vector<TensorView> in_views, out_views;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (e->skip_node[k]) continue;
    const ir::Node& n = g.nodes[k];
    bool dyn = e->dynamic_node[k];
    bool data_dependent = e->defs[k]->data_dependent;
    in_views.clear();
    out_views.clear();
    bool pending = false;  // an output sized by values this node reads: its kernel allocates it
    for (int i : n.inputs) in_views.push_back(i >= 0 ? views[static_cast<size_t>(i)] : TensorView{});
    for (int o : n.outputs) {
      if (o < 0) {
        out_views.emplace_back();
        continue;
      }
      TensorView& ov = views[static_cast<size_t>(o)];
      if (dyn && !data_dependent) {
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
          dynamic_buffers.emplace_back(new std::byte[std::max<size_t>(ov.nbytes(), 1)]);
          ov.data = dynamic_buffers.back().get();
        }
      }
      out_views.push_back(ov);
    }
    KernelContext ctx;
    ctx.inputs = in_views;
    ctx.outputs = out_views;
    ctx.binding = binding;
    ctx.allocate_output = [&](size_t i, std::span<const int64_t> dims) {
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
      // Guards on sizes known only now (skipped when planning) are checked here.
      for (const ir::Guard& guard : g.guards) {
        if (!newly_bound) break;
        bool ready = true;
        for (int s : guard.a.symbols()) ready = ready && binding[static_cast<size_t>(s)] >= 0;
        for (int s : guard.b.symbols()) ready = ready && binding[static_cast<size_t>(s)] >= 0;
        if (ready && !guard.holds(binding))
          throw Error(ErrorCode::kShapeOutOfRange, "sizes computed at run time violate " + guard.describe(g.symbols) +
                                                       ", required by " + guard.what);
      }
      TensorView& ov = views[static_cast<size_t>(o)];
      ov.dtype = val.dtype;
      ov.rank = static_cast<int>(dims.size());
      for (size_t j = 0; j < dims.size(); ++j) ov.dims[j] = dims[j];
      dynamic_buffers.emplace_back(new std::byte[std::max<size_t>(ov.nbytes(), 1)]);
      ov.data = dynamic_buffers.back().get();
      out_views[i] = ov;
    };
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
    auto& [ms, calls] = profile.ms_calls[n.attrs.count("dynrt.activation") ? n.op + "+" + n.attrs.at("dynrt.activation").s : n.op];
    ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ++calls;
  }

  std::map<std::string, Tensor> outputs;
  for (int o : g.outputs) {
    const TensorView& v = views[static_cast<size_t>(o)];
    Tensor t(v.dtype, std::vector<int64_t>(v.dims.begin(), v.dims.begin() + v.rank));
    if (t.nbytes()) std::memcpy(t.data(), v.data, t.nbytes());
    outputs[g.values[static_cast<size_t>(o)].name] = std::move(t);
  }
  return outputs;
}

ExecutionContext::ExecutionContext(std::shared_ptr<const EngineImpl> engine) : impl_(std::make_unique<ContextImpl>()) {
  impl_->e = std::move(engine);
}
ExecutionContext::~ExecutionContext() = default;

std::map<std::string, Tensor> ExecutionContext::run(const std::map<std::string, Tensor>& inputs) {
  return impl_->run(inputs);
}

int64_t ExecutionContext::plans_created() const { return static_cast<int64_t>(impl_->plans.size()); }
int64_t ExecutionContext::arena_bytes() const { return impl_->last_arena; }

}  // namespace dynrt
