// Engine::describe: the human-readable report behind `dynrt inspect ENGINE`.
#include <map>
#include <sstream>

#include "runtime/engine_impl.h"

namespace dynrt {
namespace {

std::string human_bytes(int64_t b) {
  std::ostringstream s;
  s.precision(3);
  if (b >= (1 << 20)) s << static_cast<double>(b) / (1 << 20) << " MiB";
  else if (b >= 1024) s << static_cast<double>(b) / 1024 << " KiB";
  else s << b << " B";
  return s.str();
}

// "Conv+Add+Relu" for nodes a provider fused, else "Conv".
std::string op_name(const ir::Node& n) {
  auto it = n.attrs.find("dynrt.fused");
  std::string op = it != n.attrs.end() ? it->second.s : n.op;
  return (n.domain.empty() ? "" : n.domain + ".") + op;
}

void describe_io(std::ostringstream& s, const char* title, const std::vector<TensorInfo>& list) {
  s << title << ":\n";
  for (const TensorInfo& t : list) {
    if (t.kind != ValueKind::kTensor) {  // "sequence of float32 [?, ?]"
      s << "  " << t.name << ": " << value_kind_name(t.kind) << " of " << dtype_name(t.dtype)
        << (t.rank_known ? " [" : " [elements of any rank");
      for (size_t i = 0; i < t.dims.size(); ++i) s << (i ? ", " : "") << t.dims[i];
      s << "]\n";
      continue;
    }
    s << "  " << t.name << ": " << dtype_name(t.dtype) << (t.rank_known ? " [" : " [rank depends on the variant");
    for (size_t i = 0; i < t.dims.size(); ++i) s << (i ? ", " : "") << t.dims[i];
    s << "]\n";
  }
}

void describe_partition(std::ostringstream& s, const EngineImpl& e) {
  const ir::Graph& g = e.graph;
  s << "partition (providers:";
  for (const std::string& p : g.providers) s << " " << p;
  s << "):\n";
  std::vector<std::map<std::string, int>> per(g.providers.size());
  int copies = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (e.kinds[k] == NodeKind::kCopy) ++copies;
    else ++per[static_cast<size_t>(g.nodes[k].provider)][op_name(g.nodes[k])];
  for (size_t p = 0; p < per.size(); ++p) {
    int total = 0;
    for (const auto& [op, c] : per[p]) total += c;
    s << "  " << g.providers[p] << ": " << total << " nodes";
    for (const auto& [op, c] : per[p]) s << " " << op << " x" << c;
    s << "\n";
  }
  s << "  copies between memories: " << copies << "\n";
  int used = 0;
  for (const auto& ops : per) used += ops.empty() ? 0 : 1;
  if (used <= 1 && copies == 0) return;  // one provider runs every node: the line above says it
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& n = g.nodes[k];
    if (e.kinds[k] == NodeKind::kCopy) {
      const ir::Value& from = g.values[static_cast<size_t>(n.inputs[0])];
      const ir::Value& to = g.values[static_cast<size_t>(n.outputs[0])];
      s << "  [" << k << "] copy '" << from.name << "' " << g.providers[static_cast<size_t>(from.provider)] << " -> "
        << g.providers[static_cast<size_t>(to.provider)] << "\n";
    } else {
      s << "  [" << k << "] " << op_name(n) << (n.name.empty() ? "" : " '" + n.name + "'") << ": "
        << g.providers[static_cast<size_t>(n.provider)] << (e.kinds[k] == NodeKind::kView ? " (view, no run)" : "")
        << "\n";
    }
  }
}

// "12 nodes: MatMul x2 Tanh x1", or "3 variants" for an engine with variants.
std::string ops_summary(const EngineImpl& e) {
  if (!e.variants.empty()) return std::to_string(e.variants.size()) + " variants";
  std::map<std::string, int> ops;
  int nodes = 0;
  for (size_t k = 0; k < e.graph.nodes.size(); ++k)
    if (e.kinds[k] != NodeKind::kCopy) {
      ++ops[op_name(e.graph.nodes[k])];
      ++nodes;
    }
  std::string s = std::to_string(nodes) + " nodes:";
  for (const auto& [name, count] : ops) s += " " + name + " x" + std::to_string(count);
  return s;
}

void describe_subgraphs(std::ostringstream& s, const EngineImpl& e) {
  bool any = false;
  for (size_t k = 0; k < e.graph.nodes.size(); ++k) {
    if (e.kinds[k] != NodeKind::kSubgraph) continue;
    if (!any) s << "subgraph engines (run from the host by their node):\n";
    any = true;
    const ir::Node& n = e.graph.nodes[k];
    const char* names[2] = {n.op == "If" ? "then" : "body", "else"};
    s << "  " << op_name(n) << (n.name.empty() ? "" : " '" + n.name + "'") << ":\n";
    for (size_t i = 0; i < e.subgraphs[k].size(); ++i)
      s << "    " << names[i] << ": "
        << (e.subgraphs[k][i] ? ops_summary(*e.subgraphs[k][i]) : "invalid at these shapes, an error if taken") << "\n";
  }
}

}  // namespace

std::string Engine::describe() const {
  const EngineImpl& e = *impl_;
  const ir::Graph& g = e.graph;
  std::ostringstream s;
  describe_io(s, "inputs", inputs());
  describe_io(s, "outputs", outputs());
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
    const ProfileBox& b = e.profiles[p];
    for (int id = 0; id < g.symbols.size(); ++id) {
      auto i = static_cast<size_t>(id);
      if (g.symbols[id].kind != ir::SymbolKind::kInput || (b.max[i] == 0 && b.min[i] == 0)) continue;
      s << " " << g.symbols[id].name << "=" << b.min[i] << ":" << b.opt[i] << ":" << b.max[i];
      any = true;
    }
    s << (any ? "\n" : " static\n");
  }
  if (!e.variants.empty()) {  // the variants, then the first that built, in full
    s << "variants (one engine per value of input dims that fix a rank, a length or a branch):\n";
    std::shared_ptr<const EngineImpl> first;
    for (const EngineVariant& v : e.variants) {
      s << " ";
      for (const EngineVariant::Pin& p : v.pins)
        s << " " << g.values[static_cast<size_t>(g.inputs[p.input])].name << "[" << p.dim << "]=" << p.value;
      if (v.engine) s << ": " << v.engine->graph.nodes.size() << " nodes\n";
      else s << ": the model is invalid there (" << v.error << ")\n";
      if (v.engine && !first) first = v.engine;
    }
    if (first) s << "the first variant:\n" << EngineAccess::wrap(first)->describe();
    return s.str();
  }
  std::map<std::string, int> ops;
  int nodes = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (e.kinds[k] != NodeKind::kCopy) {
      ++ops[op_name(g.nodes[k])];
      ++nodes;
    }
  s << "ops (" << nodes << " nodes):";
  for (const auto& [name, count] : ops) s << " " << name << " x" << count;
  s << "\n";
  describe_partition(s, e);
  describe_subgraphs(s, e);
  s << "guards (checked once per new input shape):\n";
  if (g.guards.empty()) s << "  (none)\n";
  for (const ir::Guard& guard : g.guards) s << "  " << guard.describe(g.symbols) << "  [" << guard.what << "]\n";
  s << "planned memory (arena bytes, exact per shape):\n";
  for (size_t p = 0; p < e.profiles.size(); ++p) {
    const ProfileBox& b = e.profiles[p];
    auto at = [&](const std::vector<int64_t>& dims) {
      std::vector<int64_t> binding = dims;
      for (int id = 0; id < g.symbols.size(); ++id)
        if (g.symbols[id].kind == ir::SymbolKind::kDataDependent) binding[static_cast<size_t>(id)] = g.symbols[id].max;
      std::vector<int64_t> bytes = e.planned_bytes(binding);
      std::string out = human_bytes(bytes[0]);
      for (size_t m = 1; m < bytes.size(); ++m)
        if (bytes[m] > 0) out += " + " + g.providers[m] + " " + human_bytes(bytes[m]);
      return out;
    };
    s << "  profile " << p << ": min " << at(b.min) << ", opt " << at(b.opt) << ", max " << at(b.max) << "\n";
  }
  return s.str();
}

}  // namespace dynrt
