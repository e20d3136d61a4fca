// Engine: the public face of a built or loaded plan.
#include <algorithm>
#include <map>
#include <sstream>

#include "builder/build.h"
#include "onnx/importer.h"
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

std::string human_bytes(int64_t b) {
  std::ostringstream s;
  s.precision(3);
  if (b >= (1 << 20)) s << static_cast<double>(b) / (1 << 20) << " MiB";
  else if (b >= 1024) s << static_cast<double>(b) / 1024 << " KiB";
  else s << b << " B";
  return s.str();
}

}  // namespace

void EngineImpl::finalize() {
  const OpRegistry& reg = OpRegistry::instance();
  size_t nv = graph.values.size(), nn = graph.nodes.size();
  kernels.clear();
  defs.clear();
  for (const ir::Node& n : graph.nodes) {
    const OpDef* def = reg.find(n.op, n.domain);
    if (!def || !def->kernels.count(Backend::kCpu))
      throw Error(ErrorCode::kUnsupported, graph.node_label(n) + ": no CPU kernel in this build of dynrt");
    defs.push_back(def);
    kernels.push_back(def->kernels.at(Backend::kCpu)(KernelInit{graph, n}));
  }
  homes.assign(nv, ValueHome::kUnused);
  for (size_t v = 0; v < nv; ++v)
    if (graph.values[v].constant) homes[v] = ValueHome::kConstant;
  for (int in : graph.inputs) homes[static_cast<size_t>(in)] = ValueHome::kInput;
  dynamic_node.assign(nn, false);
  first_use.assign(nv, -1);
  last_use.assign(nv, -1);
  for (size_t k = 0; k < nn; ++k) {
    const ir::Node& n = graph.nodes[k];
    for (int o : n.outputs) {
      if (o < 0 || homes[static_cast<size_t>(o)] == ValueHome::kConstant) continue;
      const ir::Value& v = graph.values[static_cast<size_t>(o)];
      bool dyn = defs[k]->data_dependent || mentions_data_dependent(graph, v.shape);
      homes[static_cast<size_t>(o)] = dyn ? ValueHome::kDynamic : ValueHome::kArena;
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
  for (int o : graph.outputs) last_use[static_cast<size_t>(o)] = static_cast<int>(nn);
  assign_aliases();
}

void EngineImpl::assign_aliases() {
  skip_node.assign(graph.nodes.size(), false);
  alias_root.assign(graph.values.size(), -1);
  for (size_t k = 0; k < graph.nodes.size(); ++k) {
    const ir::Node& n = graph.nodes[k];
    bool view_op = n.domain.empty() && (n.op == "Reshape" || n.op == "Flatten" || n.op == "Squeeze" ||
                                        n.op == "Unsqueeze" || n.op == "Identity");
    if (!view_op || dynamic_node[k] || n.outputs.size() != 1 || n.inputs.empty() || n.inputs[0] < 0) continue;
    auto o = static_cast<size_t>(n.outputs[0]);
    auto in = static_cast<size_t>(n.inputs[0]);
    if (homes[o] != ValueHome::kArena) continue;
    if (homes[in] != ValueHome::kArena && homes[in] != ValueHome::kInput && homes[in] != ValueHome::kConstant &&
        homes[in] != ValueHome::kAlias)
      continue;
    auto root = static_cast<size_t>(homes[in] == ValueHome::kAlias ? alias_root[in] : static_cast<int>(in));
    homes[o] = ValueHome::kAlias;
    alias_root[o] = static_cast<int>(root);
    skip_node[k] = true;
    // The shared bytes must live as long as the last reader of any alias.
    last_use[root] = std::max(last_use[root], last_use[o]);
  }
}

int64_t EngineImpl::planned_bytes(std::span<const int64_t> binding) const {
  std::vector<Buffer> buffers;
  for (size_t v = 0; v < graph.values.size(); ++v) {
    if (homes[v] != ValueHome::kArena) continue;
    int64_t n = static_cast<int64_t>(dtype_size(graph.values[v].dtype));
    for (const Expr& e : graph.values[v].shape) n *= e.eval(binding);
    buffers.push_back(Buffer{n, first_use[v], last_use[v]});
  }
  return plan_memory(buffers).total;
}

Engine::Engine(std::shared_ptr<EngineImpl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

std::shared_ptr<Engine> Engine::build(const std::string& onnx_path, const BuildConfig& config) {
  if (config.progress) config.progress("importing " + onnx_path);
  return std::make_shared<Engine>(build_engine(onnx_import::import_model(onnx_path), config));
}

std::shared_ptr<Engine> Engine::build_from_bytes(const std::string& onnx_bytes, const BuildConfig& config) {
  return std::make_shared<Engine>(build_engine(onnx_import::import_model_bytes(onnx_bytes, "<memory>", ""), config));
}

std::shared_ptr<Engine> Engine::load(const std::string& engine_path) {
  return std::make_shared<Engine>(load_engine(engine_path));
}

void Engine::save(const std::string& engine_path) const { save_engine(*impl_, engine_path); }

static TensorInfo info_of(const ir::Graph& g, int id) {
  const ir::Value& v = g.values[static_cast<size_t>(id)];
  TensorInfo t{v.name, v.dtype, {}};
  for (const Expr& e : v.shape) t.dims.push_back(e.str(&g.symbols));
  return t;
}

std::vector<TensorInfo> Engine::inputs() const {
  std::vector<TensorInfo> out;
  for (int id : impl_->graph.inputs) out.push_back(info_of(impl_->graph, id));
  return out;
}

std::vector<TensorInfo> Engine::outputs() const {
  std::vector<TensorInfo> out;
  for (int id : impl_->graph.outputs) out.push_back(info_of(impl_->graph, id));
  return out;
}

std::string Engine::describe() const {
  const EngineImpl& e = *impl_;
  const ir::Graph& g = e.graph;
  std::ostringstream s;
  auto io = [&](const char* title, const std::vector<TensorInfo>& list) {
    s << title << ":\n";
    for (const TensorInfo& t : list) {
      s << "  " << t.name << ": " << dtype_name(t.dtype) << " [";
      for (size_t i = 0; i < t.dims.size(); ++i) s << (i ? ", " : "") << t.dims[i];
      s << "]\n";
    }
  };
  io("inputs", inputs());
  io("outputs", outputs());
  s << "dimensions:\n";
  for (int id = 0; id < g.symbols.size(); ++id) {
    const ir::Symbol& sym = g.symbols[id];
    if (sym.kind == ir::SymbolKind::kDataDependent)
      s << "  " << sym.name << ": data-dependent, in [0, " << sym.max << "]\n";
    else if (sym.max > 0 || sym.min > 0)
      s << "  " << sym.name << ": [" << sym.min << ", " << sym.max << "], opt " << sym.opt << "\n";
  }
  s << "profiles:\n";
  for (size_t p = 0; p < e.profiles.size(); ++p) {
    s << "  profile " << p << ":";
    bool any = false;
    for (int id = 0; id < g.symbols.size(); ++id) {
      const ProfileBox& b = e.profiles[p];
      if (g.symbols[id].kind != ir::SymbolKind::kInput || (b.max[static_cast<size_t>(id)] == 0 && b.min[static_cast<size_t>(id)] == 0)) continue;
      s << " " << g.symbols[id].name << "=" << b.min[static_cast<size_t>(id)] << ":" << b.opt[static_cast<size_t>(id)] << ":"
        << b.max[static_cast<size_t>(id)];
      any = true;
    }
    s << (any ? "\n" : " static\n");
  }
  std::map<std::string, int> ops;
  for (const ir::Node& n : g.nodes) {
    std::string name = (n.domain.empty() ? "" : n.domain + ".") + n.op;
    if (n.attrs.count("dynrt.activation")) name += "+" + n.attrs.at("dynrt.activation").s;
    if (n.op == "Conv" && n.inputs.size() > 3 && n.inputs[3] >= 0) name += "+Add";
    ++ops[name];
  }
  s << "ops (" << g.nodes.size() << " nodes):";
  for (const auto& [name, count] : ops) s << " " << name << " x" << count;
  s << "\nguards (checked once per new input shape):\n";
  if (g.guards.empty()) s << "  (none)\n";
  for (const ir::Guard& guard : g.guards) s << "  " << guard.describe(g.symbols) << "  [" << guard.what << "]\n";
  s << "planned memory (arena bytes, exact per shape):\n";
  for (size_t p = 0; p < e.profiles.size(); ++p) {
    const ProfileBox& b = e.profiles[p];
    auto at = [&](const std::vector<int64_t>& dims) {
      std::vector<int64_t> binding = dims;
      for (int id = 0; id < g.symbols.size(); ++id)
        if (g.symbols[id].kind == ir::SymbolKind::kDataDependent) binding[static_cast<size_t>(id)] = g.symbols[id].max;
      return human_bytes(e.planned_bytes(binding));
    };
    s << "  profile " << p << ": min " << at(b.min) << ", opt " << at(b.opt) << ", max " << at(b.max) << "\n";
  }
  return s.str();
}

std::unique_ptr<ExecutionContext> Engine::create_context() const {
  return std::make_unique<ExecutionContext>(impl_);
}

std::vector<int64_t> parse_dims(const std::string& text) {
  std::vector<int64_t> dims;
  if (text.empty() || text == "scalar") return dims;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, 'x')) {
    try {
      size_t used = 0;
      int64_t d = std::stoll(part, &used);
      if (used != part.size() || d < 0) throw std::invalid_argument("");
      dims.push_back(d);
    } catch (const std::exception&) {
      throw Error(ErrorCode::kInvalidConfig, "bad shape '" + text + "': expected dims like 1x3x224x224");
    }
  }
  return dims;
}

std::map<std::string, std::vector<int64_t>> parse_shape_list(const std::string& text) {
  std::map<std::string, std::vector<int64_t>> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw Error(ErrorCode::kInvalidConfig, "bad shape list item '" + item + "': expected NAME:DIMS like input:1x3x224x224");
    out[item.substr(0, colon)] = parse_dims(item.substr(colon + 1));
  }
  return out;
}

}  // namespace dynrt
