#include "builder/partition.h"

#include <functional>
#include <map>

#include "backends/provider.h"
#include "builder/precision.h"
#include "passes/pass.h"

namespace dynrt {
namespace {

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Index 0 of Graph::providers owns host memory: "cpu", whether or not the
// user lets it run nodes. The user's other providers follow in their order.
std::vector<const ExecutionProvider*> resolve(ir::Graph& g, const std::vector<std::string>& preference,
                                              std::vector<int>& order) {
  if (preference.empty()) throw Error(ErrorCode::kInvalidConfig, "the list of execution providers is empty");
  g.providers = {"cpu"};
  std::vector<const ExecutionProvider*> providers = {&cpu_provider()};
  order.clear();
  for (const std::string& name : preference) {
    for (int idx : order)
      if (g.providers[static_cast<size_t>(idx)] == name)
        throw Error(ErrorCode::kInvalidConfig, "execution provider '" + name + "' is listed twice");
    if (name == "cpu") {
      order.push_back(0);
      continue;
    }
    std::string why;
    const ExecutionProvider* p = ProviderRegistry::instance().try_get(name, &why);
    if (!p)
      throw Error(ErrorCode::kInvalidConfig,
                  "execution provider '" + name + "' is not available on this machine: " + why);
    order.push_back(static_cast<int>(g.providers.size()));
    g.providers.push_back(name);
    providers.push_back(p);
  }
  return providers;
}

}  // namespace

void check_providers(const std::vector<std::string>& preference) {
  ir::Graph scratch;
  std::vector<int> order;
  resolve(scratch, preference, order);
}

void partition(ir::Graph& g, const std::vector<std::string>& preference, DType half) {
  std::vector<int> order;
  std::vector<const ExecutionProvider*> providers = resolve(g, preference, order);
  const OpRegistry& schemas = OpRegistry::instance();
  // Memory space of a provider: 0 for host memory, else its own index.
  auto space = [&](int p) { return providers[static_cast<size_t>(p)]->host_memory() ? 0 : p; };

  for (ir::Node& n : g.nodes) {
    n.provider = -1;
    // Subgraph engines run from the host (runtime/control_flow.cpp); each
    // was partitioned over the same providers when it was built.
    // So do nodes on sequences and optionals (runtime/boxed_ops.cpp).
    if (const OpSchema* s = schemas.find(n.op, n.domain); s && (s->traits.subgraphs || s->traits.in_runtime || touches_boxed_values(g, n))) {
      n.provider = 0;
      continue;
    }
    for (int p : order)
      if (providers[static_cast<size_t>(p)]->supports(g, n)) {
        n.provider = p;
        break;
      }
    if (n.provider < 0)
      throw Error(ErrorCode::kUnsupported, g.node_label(n) + ": no execution provider in [" + join(preference) +
                                               "] supports it");
  }
  if (half != DType::kUndefined) lower_precision(g, providers, half);
  for (ir::Value& v : g.values) v.provider = 0;
  for (const ir::Node& n : g.nodes)
    for (int o : n.outputs)
      if (o >= 0) g.values[static_cast<size_t>(o)].provider = space(n.provider);

  // Rebuild the node list with copies before their first reader.
  std::map<std::pair<int, int>, int> copies;  // (value, space) -> copied value
  std::vector<ir::Node> out;
  auto copy_of = [&](int v, int to) -> int {
    auto key = std::make_pair(v, to);
    if (auto it = copies.find(key); it != copies.end()) return it->second;
    int from = g.values[static_cast<size_t>(v)].provider;
    ir::Node c;
    c.op = "MemCopy";
    c.domain = "dynrt";
    c.provider = to == 0 ? from : to;  // the device side owns the copy
    c.name = "copy " + g.values[static_cast<size_t>(v)].name + " to " + g.providers[static_cast<size_t>(to)];
    int nv = g.add_value(g.values[static_cast<size_t>(v)].name + "@" + g.providers[static_cast<size_t>(to)]);
    ir::Value& src = g.values[static_cast<size_t>(v)];
    ir::Value& dst = g.values[static_cast<size_t>(nv)];
    dst.dtype = src.dtype;
    dst.rank_known = src.rank_known;
    dst.shape = src.shape;
    dst.sym_value = src.sym_value;
    dst.provider = to;
    c.inputs = {v};
    c.outputs = {nv};
    out.push_back(std::move(c));
    copies[key] = nv;
    return nv;
  };
  // Between two device spaces, go through the host.
  auto bring = [&](int v, int to) -> int {
    int from = g.values[static_cast<size_t>(v)].provider;
    if (from == to || g.values[static_cast<size_t>(v)].constant) return v;  // constants are uploaded at load
    if (from != 0 && to != 0) v = copy_of(v, 0);
    return copy_of(v, to);
  };
  for (ir::Node& n : g.nodes) {
    const OpSchema* schema = schemas.find(n.op, n.domain);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] < 0 || (schema && schema->traits.is_metadata_input(i))) continue;
      bool host = schema && schema->traits.is_host_input(i);
      n.inputs[i] = bring(n.inputs[i], host ? 0 : space(n.provider));
    }
    out.push_back(std::move(n));
  }
  std::map<int, int> on_host;  // device output value -> its host copy
  for (int& o : g.outputs) {
    if (auto it = on_host.find(o); it != on_host.end()) {
      o = it->second;
      continue;
    }
    if (g.values[static_cast<size_t>(o)].provider == 0) continue;
    int device_value = o;
    // The host copy takes the output's name; the device value is renamed.
    std::string name = g.values[static_cast<size_t>(o)].name;
    g.rename_value(o, name + "@" + g.providers[static_cast<size_t>(g.values[static_cast<size_t>(o)].provider)]);
    int h = bring(o, 0);
    g.rename_value(h, name);
    on_host[device_value] = h;
    o = h;
  }
  g.nodes = std::move(out);
  g.recompute_producers();
}

void run_provider_passes(ir::Graph& g, const std::function<void(const std::string&)>& progress) {
  for (size_t p = 0; p < g.providers.size(); ++p) {
    bool used = false;
    for (const ir::Node& n : g.nodes) used |= n.provider == static_cast<int>(p);
    if (!used) continue;
    for (const ProviderPass& pass : ProviderRegistry::instance().get(g.providers[p]).passes()) {
      if (progress) progress(std::string("pass ") + pass.name);
      if (pass.run(g, static_cast<int>(p))) passes::eliminate_dead_code(g);
    }
  }
}

}  // namespace dynrt
