// Epilogue fusion shared by the providers (fuse_epilogue.h).
#include "backends/fuse_epilogue.h"

namespace dynrt {
namespace {

bool is_fusable_producer(const ir::Node& n, int self, const EpilogueRules& r) {
  return n.provider == self && n.domain.empty() && (n.op == "Conv" || (n.op == "Gemm" && r.gemm) || n.op == "MatMul");
}

// "Conv+Add+Relu": what describe() and the op profile call a fused node.
void note_fused(ir::Node& x, const std::string& what) {
  ir::Attribute& a = x.attrs["dynrt.fused"];
  a.type = ir::Attribute::Type::kString;
  if (a.s.empty()) a.s = x.op;
  a.s += "+" + what;
}

// The single consumer of value v, or -1.
int sole_consumer(const ir::Graph& g, const std::vector<int>& uses, int v) {
  if (uses[static_cast<size_t>(v)] != 1) return -1;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    for (int i : g.nodes[k].inputs)
      if (i == v) return static_cast<int>(k);
  return -1;  // a graph output
}

const char* activation_name(const ir::Graph& g, const ir::Node& n) {
  if (!n.domain.empty()) return nullptr;
  if (n.op == "Relu" || n.op == "Sigmoid" || n.op == "Tanh" || n.op == "HardSwish") return n.op.c_str();
  if (n.op == "Gelu" && (!n.attrs.count("approximate") || n.attrs.at("approximate").s == "none")) return "Gelu";
  if (n.op == "Clip") {
    for (size_t i = 1; i < n.inputs.size(); ++i)
      if (n.inputs[i] >= 0 && (!g.values[static_cast<size_t>(n.inputs[i])].constant ||
                               g.values[static_cast<size_t>(n.inputs[i])].dtype != DType::kFloat32))
        return nullptr;
    return "Clip";
  }
  return nullptr;
}

}  // namespace

bool fuse_epilogues(ir::Graph& g, int self, const EpilogueRules& rules) {
  bool changed = false;
  std::vector<bool> keep(g.nodes.size(), true);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (!keep[k] || !is_fusable_producer(g.nodes[k], self, rules)) continue;
    if (rules.conv_needs_bias && g.nodes[k].op == "Conv" && (g.nodes[k].inputs.size() < 3 || g.nodes[k].inputs[2] < 0))
      continue;
    for (;;) {
      ir::Node& x = g.nodes[k];
      if (x.attrs.count("dynrt.activation")) break;
      int out = x.outputs[0];
      DType type = g.values[static_cast<size_t>(out)].dtype;
      if (!rules.dtype_ok(type)) break;
      std::vector<int> uses = g.count_uses();
      int c = sole_consumer(g, uses, out);
      if (c < 0 || !keep[static_cast<size_t>(c)]) break;
      ir::Node& y = g.nodes[static_cast<size_t>(c)];
      if (y.provider != self) break;
      // A residual Add into a Conv or a MatMul (input 3).
      const bool residual_rule = (rules.conv_residual && x.op == "Conv") || (rules.matmul_residual && x.op == "MatMul");
      if (residual_rule && x.inputs.size() <= 3 && y.op == "Add" && y.domain.empty() && y.inputs.size() == 2) {
        int other = y.inputs[0] == out ? y.inputs[1] : y.inputs[0];
        const ir::Value &rv = g.values[static_cast<size_t>(other)], &xv = g.values[static_cast<size_t>(out)];
        // The residual must exist before the producer runs and need no broadcasting.
        bool ok = other != out && !rv.constant && rv.producer < static_cast<int>(k) && rv.dtype == type &&
                  xv.rank_known && rv.rank_known && rv.shape == xv.shape;
        if (ok) {
          x.inputs.resize(4, -1);
          x.inputs[3] = other;
          x.outputs[0] = y.outputs[0];
          note_fused(x, "Add");
          keep[static_cast<size_t>(c)] = false;
          changed = true;
          continue;
        }
        if (x.op == "Conv") break;
      }
      auto other_is_constant = [&] {
        const int other = y.inputs[0] == out ? y.inputs[1] : y.inputs[0];
        return other >= 0 && g.values[static_cast<size_t>(other)].constant.has_value();
      };
      if (rules.matmul_bias && x.op == "MatMul" && x.inputs.size() == 2 && y.op == "Add" && y.domain.empty() &&
          y.inputs.size() == 2 && other_is_constant()) {
        int other = y.inputs[0] == out ? y.inputs[1] : y.inputs[0];
        const ir::Value &bv = g.values[static_cast<size_t>(other)], &xv = g.values[static_cast<size_t>(out)];
        const ir::Value& yv = g.values[static_cast<size_t>(y.outputs[0])];
        if (!bv.constant || bv.dtype != type || xv.shape.empty() || yv.shape != xv.shape) break;
        int64_t n = bv.constant->numel();
        const Expr& last = xv.shape.back();
        if (!last.is_const() || last.const_value() != n || bv.constant->shape().empty() ||
            bv.constant->shape().back() != n)
          break;
        x.inputs.push_back(other);  // a [.., 1, N] bias has the same bytes as [N]
        x.outputs[0] = y.outputs[0];
        note_fused(x, "Add");
        keep[static_cast<size_t>(c)] = false;
        changed = true;
        continue;
      }
      const char* act = activation_name(g, y);
      if (!act || !rules.activation_ok(x.op, act, type)) break;
      ir::Attribute a;
      a.type = ir::Attribute::Type::kString;
      a.s = act;
      if (a.s == "Clip") {
        float lo = y.attrs.count("min") ? y.attrs.at("min").f : -3.4e38f;
        float hi = y.attrs.count("max") ? y.attrs.at("max").f : 3.4e38f;
        if (y.inputs.size() > 1 && y.inputs[1] >= 0) lo = g.values[static_cast<size_t>(y.inputs[1])].constant->data_as<float>()[0];
        if (y.inputs.size() > 2 && y.inputs[2] >= 0) hi = g.values[static_cast<size_t>(y.inputs[2])].constant->data_as<float>()[0];
        x.attrs["dynrt.clip_min"] = ir::Attribute::of_float(lo);
        x.attrs["dynrt.clip_max"] = ir::Attribute::of_float(hi);
      }
      x.attrs["dynrt.activation"] = a;
      note_fused(x, act);
      x.outputs[0] = y.outputs[0];
      keep[static_cast<size_t>(c)] = false;
      changed = true;
      break;
    }
  }
  if (changed) g.compact(keep);
  return changed;
}

}  // namespace dynrt
