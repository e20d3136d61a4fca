// Fold an inference BatchNormalization into the Conv that feeds it:
// W' = W * s, b' = (b - mean) * s + beta, with s = gamma / sqrt(var + eps).
#include <cmath>

#include "passes/pass.h"

namespace dynrt::passes {
namespace {

const Tensor* const_f32(const ir::Graph& g, int id) {
  if (id < 0) return nullptr;
  const ir::Value& v = g.values[static_cast<size_t>(id)];
  return v.constant && v.dtype == DType::kFloat32 ? &*v.constant : nullptr;
}

}  // namespace

bool fuse_batchnorm(ir::Graph& g) {
  std::vector<int> uses = g.count_uses();
  std::vector<bool> keep(g.nodes.size(), true);
  bool changed = false;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    ir::Node& bn = g.nodes[k];
    if (bn.op != "BatchNormalization" || !bn.domain.empty() || bn.inputs.size() < 5) continue;
    if (bn.attrs.count("training_mode") && bn.attrs.at("training_mode").i != 0) continue;
    int x = bn.inputs[0];
    int p = g.values[static_cast<size_t>(x)].producer;
    if (p < 0 || uses[static_cast<size_t>(x)] != 1) continue;
    ir::Node& conv = g.nodes[static_cast<size_t>(p)];
    if (conv.op != "Conv" || conv.inputs.size() > 3) continue;
    const Tensor* w = const_f32(g, conv.inputs[1]);
    const Tensor* b = conv.inputs.size() > 2 ? const_f32(g, conv.inputs[2]) : nullptr;
    bool has_bias = conv.inputs.size() > 2 && conv.inputs[2] >= 0;
    const Tensor *gamma = const_f32(g, bn.inputs[1]), *beta = const_f32(g, bn.inputs[2]);
    const Tensor *mean = const_f32(g, bn.inputs[3]), *var = const_f32(g, bn.inputs[4]);
    if (!w || (has_bias && !b) || !gamma || !beta || !mean || !var) continue;
    int64_t oc = w->shape()[0];
    if (gamma->numel() != oc || beta->numel() != oc || mean->numel() != oc || var->numel() != oc) continue;
    float eps = bn.attrs.count("epsilon") ? bn.attrs.at("epsilon").f : 1e-5f;
    Tensor w2 = w->clone();
    Tensor b2(DType::kFloat32, {oc});
    int64_t per = w->numel() / oc;
    for (int64_t o = 0; o < oc; ++o) {
      float s = gamma->data_as<float>()[o] / std::sqrt(var->data_as<float>()[o] + eps);
      for (int64_t i = 0; i < per; ++i) w2.data_as<float>()[o * per + i] *= s;
      float bias = has_bias ? b->data_as<float>()[o] : 0.f;
      b2.data_as<float>()[o] = (bias - mean->data_as<float>()[o]) * s + beta->data_as<float>()[o];
    }
    std::string base = conv.name.empty() ? g.values[static_cast<size_t>(conv.outputs[0])].name : conv.name;
    int wid = g.add_constant(base + ".bn_folded_weight", std::move(w2));
    int bid = g.add_constant(base + ".bn_folded_bias", std::move(b2));
    ir::Node& c = g.nodes[static_cast<size_t>(p)];  // re-fetch: add_value may not move nodes, but be safe
    c.inputs.resize(3);
    c.inputs[1] = wid;
    c.inputs[2] = bid;
    c.outputs[0] = g.nodes[k].outputs[0];
    keep[k] = false;
    changed = true;
  }
  if (changed) g.compact(keep);
  return changed;
}

}  // namespace dynrt::passes
