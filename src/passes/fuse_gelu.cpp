// Recognize the erf form of GELU that both PyTorch exporters emit before
// opset 20,
//     0.5 * x * (1 + erf(x / sqrt(2)))    (Div by 1.414.. or Mul by 0.707..)
// in any association of the two final Muls, and replace it by one Gelu node:
// one pass over the tensor instead of five.
#include <cmath>

#include "passes/pass.h"

namespace dynrt::passes {
namespace {

bool is(const ir::Node& n, const char* op) { return n.domain.empty() && n.op == op && n.inputs.size() == 2; }

// The scalar float constant of value v, if it is one.
bool scalar(const ir::Graph& g, int v, float& out) {
  if (v < 0) return false;
  const ir::Value& val = g.values[static_cast<size_t>(v)];
  if (!val.constant || val.dtype != DType::kFloat32 || val.constant->numel() != 1) return false;
  out = val.constant->data_as<float>()[0];
  return true;
}

bool near(float a, float b) { return std::fabs(a - b) < 1e-4f * std::fabs(b); }

// If node n multiplies by the scalar `c`, return its other input.
int times_scalar(const ir::Graph& g, const ir::Node& n, float c) {
  float k;
  if (!is(n, "Mul")) return -1;
  if (scalar(g, n.inputs[1], k) && near(k, c)) return n.inputs[0];
  if (scalar(g, n.inputs[0], k) && near(k, c)) return n.inputs[1];
  return -1;
}

struct Uses {
  std::vector<int> count;
  std::vector<int> consumer;  // a consumer node of each value (meaningful when count == 1)
};

Uses uses_of(const ir::Graph& g) {
  Uses u{g.count_uses(), std::vector<int>(g.values.size(), -1)};
  for (size_t k = 0; k < g.nodes.size(); ++k)
    for (int i : g.nodes[k].inputs)
      if (i >= 0) u.consumer[static_cast<size_t>(i)] = static_cast<int>(k);
  return u;
}

int sole(const Uses& u, int v) { return u.count[static_cast<size_t>(v)] == 1 ? u.consumer[static_cast<size_t>(v)] : -1; }

}  // namespace

bool fuse_gelu(ir::Graph& g) {
  Uses u = uses_of(g);
  std::vector<bool> keep(g.nodes.size(), true);
  bool changed = false;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& erf = g.nodes[k];
    if (!erf.domain.empty() || erf.op != "Erf" || !keep[k]) continue;
    int scaled = erf.inputs[0];
    int p = g.values[static_cast<size_t>(scaled)].producer;
    if (p < 0 || sole(u, scaled) != static_cast<int>(k)) continue;
    const ir::Node& pre = g.nodes[static_cast<size_t>(p)];
    float c;
    int x = -1;
    if (is(pre, "Div") && scalar(g, pre.inputs[1], c) && near(c, std::sqrt(2.f))) x = pre.inputs[0];
    if (x < 0) x = times_scalar(g, pre, 1.f / std::sqrt(2.f));
    if (x < 0 || g.values[static_cast<size_t>(x)].dtype != DType::kFloat32) continue;
    // 1 + erf(...)
    int a = sole(u, erf.outputs[0]);
    if (a < 0 || !is(g.nodes[static_cast<size_t>(a)], "Add")) continue;
    const ir::Node& add = g.nodes[static_cast<size_t>(a)];
    int erf_out = erf.outputs[0];
    if (!scalar(g, add.inputs[0] == erf_out ? add.inputs[1] : add.inputs[0], c) || !near(c, 1.f)) continue;
    // Two Muls with x and 0.5, in any order.
    int m1 = sole(u, add.outputs[0]);
    if (m1 < 0 || !is(g.nodes[static_cast<size_t>(m1)], "Mul")) continue;
    const ir::Node& mul1 = g.nodes[static_cast<size_t>(m1)];
    int other = mul1.inputs[0] == add.outputs[0] ? mul1.inputs[1] : mul1.inputs[0];
    std::vector<int> dead = {p, static_cast<int>(k), a, m1};
    int last = -1;
    if (other == x) {  // (x * (1 + erf)) * 0.5
      int m2 = sole(u, mul1.outputs[0]);
      if (m2 < 0 || times_scalar(g, g.nodes[static_cast<size_t>(m2)], 0.5f) != mul1.outputs[0]) continue;
      dead.push_back(m2);
      last = m2;
    } else if (float half; scalar(g, other, half) && near(half, 0.5f)) {  // ((1 + erf) * 0.5) * x
      int m2 = sole(u, mul1.outputs[0]);
      if (m2 < 0 || !is(g.nodes[static_cast<size_t>(m2)], "Mul")) continue;
      const ir::Node& mul2 = g.nodes[static_cast<size_t>(m2)];
      if ((mul2.inputs[0] == mul1.outputs[0] ? mul2.inputs[1] : mul2.inputs[0]) != x) continue;
      dead.push_back(m2);
      last = m2;
    } else {  // (x * 0.5) * (1 + erf)
      int hx = other >= 0 ? g.values[static_cast<size_t>(other)].producer : -1;
      if (hx < 0 || sole(u, other) != m1 || times_scalar(g, g.nodes[static_cast<size_t>(hx)], 0.5f) != x) continue;
      dead.push_back(hx);
      last = m1;
    }
    // The Div/Mul feeding Erf may have x used elsewhere; only its own output must be private.
    ir::Node gelu;
    gelu.op = "Gelu";
    gelu.name = erf.name.empty() ? "gelu" : erf.name + ".gelu";
    gelu.inputs = {x};
    gelu.outputs = {g.nodes[static_cast<size_t>(last)].outputs[0]};
    for (int d : dead) keep[static_cast<size_t>(d)] = false;
    keep[static_cast<size_t>(last)] = true;
    g.nodes[static_cast<size_t>(last)] = gelu;  // x is defined before every node of the pattern
    changed = true;
  }
  if (changed) g.compact(keep);
  return changed;
}

}  // namespace dynrt::passes
