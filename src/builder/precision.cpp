#include "builder/precision.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/half.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

// Nodes whose attributes name an element type or hold typed data would change
// meaning with their float tensors; Cast is handled on its own.
bool typed_attributes(const ir::Node& n) {
  return n.attrs.count("dtype") || n.attrs.count("value") || (n.op != "Cast" && n.attrs.count("to"));
}

Tensor to_half(const Tensor& t, DType half) {
  Tensor out(half, t.shape());
  const float* src = t.data_as<float>();
  auto* dst = out.data_as<uint16_t>();
  for (int64_t i = 0; i < t.numel(); ++i) dst[i] = half == DType::kFloat16 ? float_to_half(src[i]) : float_to_bf16(src[i]);
  return out;
}

// The float32 inputs of n that its kernel reads as data (not host shape
// inputs, not dims only) and its float32 outputs.
void float_edges(const ir::Graph& g, const ir::Node& n, std::vector<size_t>& ins, std::vector<size_t>& outs) {
  const OpSchema* schema = OpRegistry::instance().find(n.op, n.domain);
  ins.clear();
  outs.clear();
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] < 0 || g.values[static_cast<size_t>(n.inputs[i])].dtype != DType::kFloat32) continue;
    if (schema && (schema->traits.is_host_input(i) || schema->traits.is_metadata_input(i))) continue;
    ins.push_back(i);
  }
  for (size_t o = 0; o < n.outputs.size(); ++o)
    if (n.outputs[o] >= 0 && g.values[static_cast<size_t>(n.outputs[o])].dtype == DType::kFloat32) outs.push_back(o);
}

int new_value_like(ir::Graph& g, int v, const std::string& name, DType dtype) {
  int nv = g.add_value(name);
  const ir::Value& src = g.values[static_cast<size_t>(v)];
  ir::Value& dst = g.values[static_cast<size_t>(nv)];
  dst.dtype = dtype;
  dst.rank_known = src.rank_known;
  dst.shape = src.shape;
  return nv;
}

// A Cast on `provider` if it has the kernel, else on the host.
ir::Node cast_node(const ir::Graph& g, const std::vector<const ExecutionProvider*>& providers, const std::string& name,
                   int from, int to, DType dtype, int provider) {
  ir::Node c;
  c.op = "Cast";
  c.name = name;
  c.inputs = {from};
  c.outputs = {to};
  c.provider = provider;
  ir::Attribute a;
  a.type = ir::Attribute::Type::kInt;
  a.i = static_cast<int64_t>(dtype);
  c.attrs["to"] = a;
  if (!providers[static_cast<size_t>(provider)]->supports(g, c)) c.provider = 0;
  return c;
}

}  // namespace

int lower_precision(ir::Graph& g, const std::vector<const ExecutionProvider*>& providers, DType half) {
  const char* suffix = half == DType::kFloat16 ? "@fp16" : "@bf16";
  g.recompute_producers();
  // The provider of each value's producer (host values: 0), for casts back to float32.
  std::vector<int> made_on(g.values.size(), 0);
  for (const ir::Node& n : g.nodes)
    for (int o : n.outputs)
      if (o >= 0) made_on[static_cast<size_t>(o)] = n.provider;
  // 1. Which nodes convert: a device provider takes the node's 16-bit form.
  std::vector<bool> converted(g.nodes.size(), false);
  std::vector<std::vector<size_t>> half_inputs(g.nodes.size());  // per converted node
  std::vector<size_t> retargeted_casts;                           // Casts to float32 now casting to `half`
  std::vector<size_t> ins, outs;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    ir::Node& n = g.nodes[k];
    const ExecutionProvider& p = *providers[static_cast<size_t>(n.provider)];
    if (p.host_memory() || n.domain == "dynrt" || typed_attributes(n)) continue;
    float_edges(g, n, ins, outs);
    if (ins.empty() && outs.empty()) continue;
    bool cast_to_float = n.op == "Cast" && n.attrs.count("to") && n.attrs.at("to").i == static_cast<int64_t>(DType::kFloat32);
    // Try the 16-bit form: retype the edges, ask, restore.
    std::vector<std::pair<int, DType>> saved;
    for (size_t i : ins) saved.emplace_back(n.inputs[i], DType::kFloat32);
    for (size_t o : outs) saved.emplace_back(n.outputs[o], DType::kFloat32);
    for (auto& [v, t] : saved) g.values[static_cast<size_t>(v)].dtype = half;
    ir::Attribute old_to;
    if (cast_to_float) {
      old_to = n.attrs["to"];
      n.attrs["to"].i = static_cast<int64_t>(half);
    }
    bool ok = p.supports(g, n);
    for (auto& [v, t] : saved) g.values[static_cast<size_t>(v)].dtype = t;
    if (cast_to_float && !ok) n.attrs["to"] = old_to;
    converted[k] = ok;
    if (ok) half_inputs[k] = ins;
    if (ok && cast_to_float) retargeted_casts.push_back(k);
  }

  // Ops whose inputs are large numbers that 16 bits cannot carry precisely
  // enough (rotary embeddings: position x frequency, then Sin/Cos) stay in
  // float32, and so does the chain that computes only their inputs.
  {
    std::vector<std::vector<size_t>> readers(g.values.size());
    for (size_t k = 0; k < g.nodes.size(); ++k)
      for (int v : g.nodes[k].inputs)
        if (v >= 0) readers[static_cast<size_t>(v)].push_back(k);
    std::vector<bool> is_output(g.values.size(), false);
    for (int o : g.outputs) is_output[static_cast<size_t>(o)] = true;
    std::vector<bool> keep(g.nodes.size(), false);
    for (size_t k = g.nodes.size(); k-- > 0;) {
      const ir::Node& n = g.nodes[k];
      if (n.domain.empty() && (n.op == "Sin" || n.op == "Cos" || n.op == "Tan")) {
        keep[k] = true;
      } else {
        float_edges(g, n, ins, outs);
        bool only_feeds_kept = !outs.empty();
        for (size_t o : outs) {
          auto v = static_cast<size_t>(n.outputs[o]);
          only_feeds_kept = only_feeds_kept && !is_output[v] && !readers[v].empty();
          for (size_t r : readers[v]) only_feeds_kept = only_feeds_kept && keep[r];
        }
        keep[k] = only_feeds_kept;
      }
      if (keep[k] && converted[k]) {  // back to its float32 form, inputs included
        converted[k] = false;
        half_inputs[k].clear();
        if (std::find(retargeted_casts.begin(), retargeted_casts.end(), k) != retargeted_casts.end())
          g.nodes[k].attrs["to"].i = static_cast<int64_t>(DType::kFloat32);
      }
    }
  }

  // 2. Outputs of converted nodes become 16-bit.
  std::vector<bool> is_half(g.values.size(), false);
  int count = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (!converted[k]) continue;
    ++count;
    float_edges(g, g.nodes[k], ins, outs);
    for (size_t o : outs) {
      auto v = static_cast<size_t>(g.nodes[k].outputs[o]);
      g.values[v].dtype = half;
      is_half[v] = true;
    }
  }
  if (count == 0) return 0;

  // 3. Rewire: 16-bit readers of float32 values get a Cast (constants a
  // converted copy); float32 readers of 16-bit values get a Cast back.
  std::map<int, int> half_of, float_of;  // value -> its converted twin
  std::vector<ir::Node> out;
  auto to_half_value = [&](int v, int provider) -> int {
    if (auto it = half_of.find(v); it != half_of.end()) return it->second;
    std::string name = g.values[static_cast<size_t>(v)].name;
    int hv = new_value_like(g, v, name + suffix, half);  // may move g.values
    if (g.values[static_cast<size_t>(v)].constant) {
      g.values[static_cast<size_t>(hv)].constant = to_half(*g.values[static_cast<size_t>(v)].constant, half);
    } else {
      out.push_back(cast_node(g, providers, "cast " + name + " to " + dtype_name(half), v, hv, half, provider));
    }
    half_of[v] = hv;
    return hv;
  };
  auto to_float_value = [&](int v, int provider) -> int {
    if (auto it = float_of.find(v); it != float_of.end()) return it->second;
    std::string name = g.values[static_cast<size_t>(v)].name;
    int fv = new_value_like(g, v, name + "@fp32", DType::kFloat32);
    out.push_back(cast_node(g, providers, "cast " + name + " to float32", v, fv, DType::kFloat32, provider));
    float_of[v] = fv;
    return fv;
  };
  std::vector<ir::Node> nodes = std::move(g.nodes);
  for (size_t k = 0; k < nodes.size(); ++k) {
    ir::Node& n = nodes[k];
    std::set<size_t> wants_half(half_inputs[k].begin(), half_inputs[k].end());
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      int v = n.inputs[i];
      if (v < 0) continue;
      if (wants_half.count(i)) {
        if (!is_half[static_cast<size_t>(v)]) n.inputs[i] = to_half_value(v, n.provider);
      }
      else if (is_half[static_cast<size_t>(v)]) n.inputs[i] = to_float_value(v, made_on[static_cast<size_t>(v)]);
    }
    out.push_back(std::move(n));
  }
  // Graph outputs keep their names and float32: the 16-bit value is renamed.
  for (int& o : g.outputs) {
    if (!is_half[static_cast<size_t>(o)]) continue;
    std::string name = g.values[static_cast<size_t>(o)].name;
    g.rename_value(o, name + suffix);
    int fv = to_float_value(o, made_on[static_cast<size_t>(o)]);
    g.rename_value(fv, name);
    o = fv;
  }
  g.nodes = std::move(out);
  g.recompute_producers();
  return count;
}

int mark_cpu_bf16(ir::Graph& g) {
  int marked = 0;
  for (ir::Node& n : g.nodes) {
    if (n.provider < 0 || static_cast<size_t>(n.provider) >= g.providers.size() ||
        g.providers[static_cast<size_t>(n.provider)] != "cpu" || !n.domain.empty())
      continue;
    if (n.op != "MatMul" && n.op != "Gemm" && n.op != "Conv" && n.op != "Attention") continue;
    if (n.outputs.empty() || n.outputs[0] < 0 || g.values[static_cast<size_t>(n.outputs[0])].dtype != DType::kFloat32)
      continue;
    ir::Attribute a;
    a.type = ir::Attribute::Type::kString;
    a.s = "bf16";
    n.attrs["dynrt.compute"] = a;
    ++marked;
  }
  store_cpu_bf16_activations(g);
  return marked;
}

int store_cpu_bf16_activations(ir::Graph& g) {
  auto value = [&](int v) -> const ir::Value& { return g.values[static_cast<size_t>(v)]; };
  // A Conv the CPU kernel runs in bf16 on packed weights (backends/cpu/nn.cpp: ConvKernel).
  auto bf16_conv = [&](const ir::Node& n) {
    if (n.op != "Conv" || !n.domain.empty() || n.provider < 0 ||
        static_cast<size_t>(n.provider) >= g.providers.size() || g.providers[static_cast<size_t>(n.provider)] != "cpu")
      return false;
    auto c = n.attrs.find("dynrt.compute");
    if (c == n.attrs.end() || c->second.s != "bf16" || n.inputs.size() < 2 || n.inputs[1] < 0) return false;
    const ir::Value& w = value(n.inputs[1]);
    return w.constant && w.dtype == DType::kFloat32 && (n.inputs.size() < 3 || n.inputs[2] < 0 || value(n.inputs[2]).dtype == DType::kFloat32);
  };
  // A MatMul the CPU kernel runs in bf16 on packed weights (backends/cpu/linalg.cpp:
  // MatMulKernel): constant float32 weights of rank 2 or more with a known, nonzero inner
  // size (so it always has a primitive), float32 bias and residual if fused, no folded
  // transposes.
  auto bf16_matmul = [&](const ir::Node& n) {
    if (n.op != "MatMul" || !n.domain.empty() || n.provider < 0 ||
        static_cast<size_t>(n.provider) >= g.providers.size() || g.providers[static_cast<size_t>(n.provider)] != "cpu")
      return false;
    auto c = n.attrs.find("dynrt.compute");
    if (c == n.attrs.end() || c->second.s != "bf16" || n.inputs.size() < 2 || n.inputs.size() > 4 || n.inputs[1] < 0)
      return false;
    for (const char* a : {"dynrt.perm_a", "dynrt.perm_b", "dynrt.perm_y"})
      if (n.attrs.count(a)) return false;
    const ir::Value& w = value(n.inputs[1]);
    if (!w.constant || w.dtype != DType::kFloat32 || w.constant->shape().size() < 2) return false;
    const auto& ws = w.constant->shape();
    for (size_t i : {size_t{2}, size_t{3}})
      if (i < n.inputs.size() && n.inputs[i] >= 0 && value(n.inputs[i]).dtype != DType::kFloat32) return false;
    return ws[ws.size() - 2] > 0;
  };
  std::vector<bool> graph_output(g.values.size(), false);
  for (int o : g.outputs) graph_output[static_cast<size_t>(o)] = true;
  const std::vector<std::vector<int>> readers = g.readers();
  int stored = 0;
  for (const ir::Node& n : g.nodes) {
    if (!(bf16_conv(n) || bf16_matmul(n)) || n.outputs.empty() || n.outputs[0] < 0) continue;
    const auto v = static_cast<size_t>(n.outputs[0]);
    if (g.values[v].dtype != DType::kFloat32 || graph_output[v] || readers[v].empty()) continue;
    bool all = true;
    for (int r : readers[v]) {
      const ir::Node& reader = g.nodes[static_cast<size_t>(r)];
      // A Conv reads a bf16 value as its input or residual, a MatMul as its activation.
      const bool conv = bf16_conv(reader), matmul = bf16_matmul(reader);
      all = all && (conv || matmul);
      for (size_t i = 0; i < reader.inputs.size(); ++i)
        all = all && (reader.inputs[i] != static_cast<int>(v) || i == 0 || (conv && i == 3));
    }
    if (!all) continue;
    g.values[v].dtype = DType::kBFloat16;
    ++stored;
  }
  return stored;
}

}  // namespace dynrt
