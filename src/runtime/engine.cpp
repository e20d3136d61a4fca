// Engine: finalize a partitioned graph into something runnable (kernels from
// each node's provider, uploaded constants, value homes and lifetimes), and
// the public Engine handle.
#include <algorithm>

#include "core/checked.h"
#include "runtime/context_impl.h"
#include "core/mapped_file.h"
#include "runtime/engine_file.h"
#include "runtime/engine_impl.h"
#include "runtime/memory_plan.h"

namespace dynrt {

namespace {

bool mentions_data_dependent(const ir::Graph& g, const std::vector<Expr>& shape) {
  for (const Expr& e : shape)
    for (int s : e.symbols())
      if (g.symbols[s].kind == ir::SymbolKind::kDataDependent) return true;
  return false;
}

}  // namespace

void EngineImpl::finalize() {
  const OpRegistry& reg = OpRegistry::instance();
  providers.clear();
  for (const std::string& name : graph.providers) {
    std::string why;
    const ExecutionProvider* p = ProviderRegistry::instance().try_get(name, &why);
    if (!p)
      throw Error(ErrorCode::kUnsupported,
                  "this engine runs nodes on execution provider '" + name + "', which is not available: " + why);
    providers.push_back(p);
  }
  if (providers.empty() || !providers[0]->host_memory())
    throw Error(ErrorCode::kInvalidEngine, "the engine's first execution provider must use host memory");
  size_t nn = graph.nodes.size();
  kernels.clear();
  kernels.resize(nn);
  schemas.assign(nn, nullptr);
  kinds.assign(nn, NodeKind::kKernel);
  subgraphs.assign(nn, {});
  for (size_t k = 0; k < nn; ++k) {
    const ir::Node& n = graph.nodes[k];
    if (n.provider < 0 || static_cast<size_t>(n.provider) >= providers.size())
      throw Error(ErrorCode::kInvalidEngine, graph.node_label(n) + ": bad provider index");
    schemas[k] = reg.find(n.op, n.domain);
    if (!schemas[k]) throw Error(ErrorCode::kUnsupported, graph.node_label(n) + ": unknown op in this build of dynrt");
    if (n.domain == "dynrt" && n.op == "MemCopy") {
      if (n.inputs.size() != 1 || n.outputs.size() != 1 || n.inputs[0] < 0 || n.outputs[0] < 0)
        throw Error(ErrorCode::kInvalidEngine, graph.node_label(n) + ": a copy has one input and one output");
      kinds[k] = NodeKind::kCopy;
      continue;
    }
    if (schemas[k]->traits.subgraphs) {
      if (n.provider != 0) throw Error(ErrorCode::kInvalidEngine, graph.node_label(n) + ": runs subgraphs off the host");
      kinds[k] = NodeKind::kSubgraph;
      subgraphs[k] = load_subgraph_engines(graph, n);
      // The bytes are loaded: keep one copy (saving writes them again from the engines).
      for (auto& [name, a] : graph.nodes[k].attrs)
        if (subgraph_engine_index(name) >= 0) std::string().swap(a.s);
      continue;
    }
    if (touches_boxed_values(graph, n) || schemas[k]->traits.in_runtime) {
      if (n.provider != 0 || !schemas[k]->traits.boxed)
        throw Error(ErrorCode::kInvalidEngine, graph.node_label(n) + ": reads or writes a sequence or optional" +
                                                   (n.provider != 0 ? " off the host" : ", which its op does not take"));
      kinds[k] = NodeKind::kBoxed;
      continue;
    }
    const ExecutionProvider& p = *providers[static_cast<size_t>(n.provider)];
    const KernelRegistry::Entry* entry = p.kernels().find(n.op, n.domain);
    if (!entry)
      throw Error(ErrorCode::kUnsupported, graph.node_label(n) + ": execution provider '" + p.name() +
                                               "' has no kernel for it in this build of dynrt");
    // The provider's own check (dtypes, ranks, attributes): the file may
    // place a node where no kernel takes it.
    const KernelInit init(graph, n);
    if (entry->supports && !entry->supports(init))
      throw Error(ErrorCode::kInvalidEngine, graph.node_label(n) + ": execution provider '" + p.name() +
                                                 "' cannot run this node (its types or attributes)");
    kernels[k] = entry->make(init);
  }
  check_partition();
  assign_homes();
  for (int o : graph.outputs)
    if (homes[static_cast<size_t>(o)] == ValueHome::kUnused)
      throw Error(ErrorCode::kInvalidEngine, "output '" + graph.values[static_cast<size_t>(o)].name +
                                                 "' is not computed by any node");
  assign_aliases();
  // Weights a device node reads are uploaded once, here (not the shape
  // tensors its op reads on the host).
  device_constants.clear();
  for (size_t k = 0; k < nn; ++k) {
    int mem = node_memory(k);
    if (mem == 0 || kinds[k] != NodeKind::kKernel) continue;
    for (size_t i = 0; i < graph.nodes[k].inputs.size(); ++i) {
      int v = graph.nodes[k].inputs[i];
      if (v < 0 || homes[static_cast<size_t>(v)] != ValueHome::kConstant || reads_on_host(k, i)) continue;
      auto key = std::make_pair(mem, v);
      if (device_constants.count(key)) continue;
      const Tensor& t = *graph.values[static_cast<size_t>(v)].constant;
      DeviceBuffer buf(providers[static_cast<size_t>(mem)], t.nbytes());
      providers[static_cast<size_t>(mem)]->copy_from_host(buf.data(), t.data(), t.nbytes());
      release_resident(t.data(), t.nbytes());  // a mapped engine's copy on the host is no longer needed
      device_constants.emplace(key, std::move(buf));
    }
  }
}

bool EngineImpl::reads_on_host(size_t k, size_t i) const {
  return schemas[k]->traits.is_host_input(i) || schemas[k]->traits.is_metadata_input(i);
}

// An engine file is untrusted: every value must live where the nodes that
// touch it expect (the partitioner's invariants), or a kernel would read one
// memory's pointer as another's.
void EngineImpl::check_partition() const {
  auto bad = [&](const std::string& why) { throw Error(ErrorCode::kInvalidEngine, "inconsistent partition: " + why); };
  auto space = [&](int p) { return providers[static_cast<size_t>(p)]->host_memory() ? 0 : p; };
  for (const ir::Value& v : graph.values)
    if (space(v.provider) != v.provider) bad("value '" + v.name + "' names a host provider other than the first");
  for (int v : graph.inputs)
    if (graph.values[static_cast<size_t>(v)].provider != 0) bad("graph input not in host memory");
  for (int v : graph.outputs)
    if (graph.values[static_cast<size_t>(v)].provider != 0) bad("graph output not in host memory");
  for (const ir::Value& v : graph.values)
    if (v.constant && v.provider != 0) bad("constant '" + v.name + "' not in host memory");
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const ir::Node& n = graph.nodes[k];
    if (kinds[k] == NodeKind::kCopy) {
      int from = graph.values[static_cast<size_t>(n.inputs[0])].provider;
      int to = graph.values[static_cast<size_t>(n.outputs[0])].provider;
      if (from == to || (from != 0 && to != 0)) bad(graph.node_label(n) + " does not copy between the host and a device");
      continue;
    }
    int mem = node_memory(k);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] < 0) continue;
      const ir::Value& v = graph.values[static_cast<size_t>(n.inputs[i])];
      bool host_ok = schemas[k]->traits.is_host_input(i) || v.constant;
      if (v.provider != mem && !(host_ok && v.provider == 0) && !schemas[k]->traits.is_metadata_input(i))
        bad(graph.node_label(n) + " reads '" + v.name + "' from another memory");
    }
    for (int o : n.outputs)
      if (o >= 0 && graph.values[static_cast<size_t>(o)].provider != mem)
        bad(graph.node_label(n) + " writes '" + graph.values[static_cast<size_t>(o)].name + "' into another memory");
  }
}

void EngineImpl::assign_homes() {
  size_t nv = graph.values.size(), nn = graph.nodes.size();
  homes.assign(nv, ValueHome::kUnused);
  for (size_t v = 0; v < nv; ++v)
    if (graph.values[v].constant) homes[v] = ValueHome::kConstant;
  for (int in : graph.inputs) homes[static_cast<size_t>(in)] = ValueHome::kInput;
  auto boxed = [&](int v) { return graph.values[static_cast<size_t>(v)].boxed(); };
  dynamic_node.assign(nn, false);
  first_use.assign(nv, -1);
  last_use.assign(nv, -1);
  for (size_t k = 0; k < nn; ++k) {
    const ir::Node& n = graph.nodes[k];
    for (int o : n.outputs) {
      if (o < 0 || homes[static_cast<size_t>(o)] == ValueHome::kConstant) continue;
      const ir::Value& v = graph.values[static_cast<size_t>(o)];
      bool dyn = schemas[k]->traits.data_dependent || mentions_data_dependent(graph, v.shape);
      homes[static_cast<size_t>(o)] = v.boxed() ? ValueHome::kBoxed : dyn ? ValueHome::kDynamic : ValueHome::kArena;
      first_use[static_cast<size_t>(o)] = static_cast<int>(k);
      last_use[static_cast<size_t>(o)] = static_cast<int>(k);
    }
    for (int i : n.inputs)
      if (i >= 0) last_use[static_cast<size_t>(i)] = static_cast<int>(k);
  }
  for (size_t k = 0; k < nn; ++k) {
    for (int v : graph.nodes[k].inputs)
      if (v >= 0 && homes[static_cast<size_t>(v)] == ValueHome::kDynamic) dynamic_node[k] = true;
    for (int v : graph.nodes[k].outputs)
      if (v >= 0 && homes[static_cast<size_t>(v)] == ValueHome::kDynamic) dynamic_node[k] = true;
  }
  for (int in : graph.inputs)
    if (boxed(in)) homes[static_cast<size_t>(in)] = ValueHome::kBoxed;
  // Graph outputs computed into the arena go straight to the caller's buffer instead.
  for (int o : graph.outputs) {
    auto v = static_cast<size_t>(o);
    if (homes[v] == ValueHome::kArena && graph.values[v].provider == 0) homes[v] = ValueHome::kOutput;
    last_use[v] = static_cast<int>(nn);
  }
}

// A node whose schema says "output 0 is a view of input 0" does not run when
// both live in the same memory: the output shares the input's bytes, which
// then live until the last reader of any alias.
void EngineImpl::assign_aliases() {
  alias_root.assign(graph.values.size(), -1);
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const ir::Node& n = graph.nodes[k];
    if (kinds[k] != NodeKind::kKernel || !schemas[k]->traits.view_of_input0 || dynamic_node[k] ||
        n.outputs.size() != 1 || n.inputs.empty() || n.inputs[0] < 0)
      continue;
    auto o = static_cast<size_t>(n.outputs[0]);
    auto in = static_cast<size_t>(n.inputs[0]);
    if (homes[o] != ValueHome::kArena) continue;
    ValueHome h = homes[in];
    if (h != ValueHome::kArena && h != ValueHome::kInput && h != ValueHome::kConstant && h != ValueHome::kAlias &&
        h != ValueHome::kOutput)
      continue;
    if (graph.values[o].provider != graph.values[in].provider || graph.values[o].layout != graph.values[in].layout)
      continue;
    if (h == ValueHome::kConstant && node_memory(k) != 0) continue;  // the device copy is per reader
    auto root = static_cast<size_t>(h == ValueHome::kAlias ? alias_root[in] : static_cast<int>(in));
    homes[o] = ValueHome::kAlias;
    alias_root[o] = static_cast<int>(root);
    kinds[k] = NodeKind::kView;
    last_use[root] = std::max(last_use[root], last_use[o]);
  }
  // In place: a kernel's output takes over the buffer of an input that
  // nothing reads afterwards (a convolution's residual, accumulated onto).
  auto root_of = [&](int v) { return homes[static_cast<size_t>(v)] == ValueHome::kAlias ? alias_root[static_cast<size_t>(v)] : v; };
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const ir::Node& n = graph.nodes[k];
    const int i = kinds[k] == NodeKind::kKernel && !dynamic_node[k] ? kernels[k]->inplace_input() : -1;
    if (i < 0 || static_cast<size_t>(i) >= n.inputs.size() || n.inputs[static_cast<size_t>(i)] < 0 || n.outputs.empty() ||
        n.outputs[0] < 0)
      continue;
    auto o = static_cast<size_t>(n.outputs[0]), in = static_cast<size_t>(n.inputs[static_cast<size_t>(i)]);
    const auto root = static_cast<size_t>(root_of(static_cast<int>(in)));
    if (homes[o] != ValueHome::kArena || homes[root] != ValueHome::kArena || last_use[root] != static_cast<int>(k))
      continue;
    const ir::Value &out = graph.values[o], &res = graph.values[in];
    if (out.dtype != res.dtype || out.provider != res.provider || out.layout != res.layout || !out.rank_known ||
        !res.rank_known || out.shape != res.shape)
      continue;
    const bool shared = std::any_of(n.inputs.begin(), n.inputs.end(), [&, at = 0](int v) mutable {
      return at++ != i && v >= 0 && root_of(v) == static_cast<int>(root);  // another input reads the same buffer
    });
    if (shared) continue;
    homes[o] = ValueHome::kAlias;
    alias_root[o] = static_cast<int>(root);
    last_use[root] = std::max(last_use[root], last_use[o]);
    for (int& r : alias_root)  // views of the output (made above) now share the residual's buffer: one level deep
      if (r == static_cast<int>(o)) r = static_cast<int>(root);
  }
}

std::vector<int64_t> EngineImpl::planned_bytes(std::span<const int64_t> binding) const {
  std::vector<std::vector<Buffer>> buffers(graph.providers.size());
  for (size_t v = 0; v < graph.values.size(); ++v) {
    if (homes[v] != ValueHome::kArena) continue;
    std::vector<int64_t> dims;
    for (const Expr& e : graph.values[v].shape) dims.push_back(e.eval(binding));
    int64_t n = checked_bytes(graph.values[v].dtype, dims, "value '" + graph.values[v].name + "'",
                              ErrorCode::kShapeOutOfRange);
    buffers[static_cast<size_t>(graph.values[v].provider)].push_back(Buffer{n, first_use[v], last_use[v]});
  }
  std::vector<int64_t> out;
  for (const auto& b : buffers) out.push_back(plan_memory(b).total);
  return out;
}

// ---- the public handle ------------------------------------------------------

std::shared_ptr<Engine> EngineAccess::wrap(std::shared_ptr<const EngineImpl> impl) {
  return std::shared_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::Engine(std::shared_ptr<const EngineImpl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

std::shared_ptr<Engine> Engine::load(const std::string& engine_path) {
  return EngineAccess::wrap(load_engine(engine_path));
}

std::shared_ptr<Engine> Engine::load_from_memory(const std::string& engine_bytes) {
  return EngineAccess::wrap(load_engine_bytes(engine_bytes, "<memory>"));
}

void Engine::save(const std::string& engine_path) const { save_engine(*impl_, engine_path); }

static TensorInfo info_of(const ir::Graph& g, int id) {
  const ir::Value& v = g.values[static_cast<size_t>(id)];
  TensorInfo t{v.name, v.dtype, {}};
  for (const Expr& e : v.shape) t.dims.push_back(e.str(&g.symbols));
  t.kind = v.kind;
  if (v.kind != ValueKind::kTensor) {  // its elements' dims are their own: "?" for each where the rank is known
    t.rank_known = v.elem_rank >= 0;
    t.dims.assign(static_cast<size_t>(std::max(v.elem_rank, 0)), "?");
  }
  return t;
}

std::vector<TensorInfo> Engine::inputs() const {
  std::vector<TensorInfo> out;
  for (int id : impl_->graph.inputs) out.push_back(info_of(impl_->graph, id));
  return out;
}

std::vector<TensorInfo> Engine::outputs() const {
  if (!impl_->variants.empty()) return impl_->variant_outputs;
  std::vector<TensorInfo> out;
  for (int id : impl_->graph.outputs) out.push_back(info_of(impl_->graph, id));
  return out;
}

std::vector<std::string> Engine::providers() const { return impl_->graph.providers; }

std::unique_ptr<ExecutionContext> Engine::create_context(const ContextOptions& options) const {
  return std::unique_ptr<ExecutionContext>(new ExecutionContext(std::make_unique<ContextImpl>(impl_, options)));
}

}  // namespace dynrt
