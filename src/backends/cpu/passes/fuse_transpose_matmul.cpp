// CPU lowering: fold Transposes around a float MatMul into the MatMul itself
// (CPU nodes only; the perms are attributes the CPU MatMul kernel reads). oneDNN reads
// operands and writes the result through strides, so attention's
// Q/K/V permutes (x.view(b, s, h, d).permute(0, 2, 1, 3)), K^T and the
// context permute back cost no copies.
//   Transpose(perm) -> MatMul input i   =>  MatMul reads the Transpose's input, attr dynrt.perm_a/b
//   MatMul -> Transpose(perm) (sole use) =>  MatMul writes the Transpose's output, attr dynrt.perm_y
#include "backends/cpu/passes/passes.h"

namespace dynrt::cpu {
namespace {

bool is_transpose(const ir::Node& n) { return n.domain.empty() && n.op == "Transpose" && n.attrs.count("perm"); }

size_t rank_of(const ir::Graph& g, int v) { return g.values[static_cast<size_t>(v)].shape.size(); }

ir::Attribute ints(std::vector<int64_t> v) {
  ir::Attribute a;
  a.type = ir::Attribute::Type::kInts;
  a.ints = std::move(v);
  return a;
}

}  // namespace

bool fuse_transpose_matmul(ir::Graph& g, int self) {
  bool changed = false;
  std::vector<bool> keep(g.nodes.size(), true);
  std::vector<int> uses = g.count_uses();
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    ir::Node& mm = g.nodes[k];
    if (mm.provider != self || !mm.domain.empty() || mm.op != "MatMul" || mm.inputs.size() < 2) continue;
    if (mm.inputs.size() > 3 && mm.inputs[3] >= 0) continue;  // a fused residual is read row-major
    int a = mm.inputs[0], b = mm.inputs[1];
    size_t r = rank_of(g, a);
    if (r < 3 || rank_of(g, b) != r || g.values[static_cast<size_t>(a)].dtype != DType::kFloat32) continue;
    for (int i = 0; i < 2; ++i) {
      const char* attr = i == 0 ? "dynrt.perm_a" : "dynrt.perm_b";
      int p = g.values[static_cast<size_t>(mm.inputs[static_cast<size_t>(i)])].producer;
      if (p < 0 || mm.attrs.count(attr) || !is_transpose(g.nodes[static_cast<size_t>(p)]) ||
          g.nodes[static_cast<size_t>(p)].provider != self)
        continue;
      const ir::Node& t = g.nodes[static_cast<size_t>(p)];
      if (g.values[static_cast<size_t>(t.inputs[0])].constant) continue;  // constant weights are packed instead
      mm.attrs[attr] = ints(t.attrs.at("perm").ints);
      --uses[static_cast<size_t>(mm.inputs[static_cast<size_t>(i)])];
      mm.inputs[static_cast<size_t>(i)] = t.inputs[0];
      ++uses[static_cast<size_t>(t.inputs[0])];
      changed = true;
    }
    int out = mm.outputs[0];
    if (uses[static_cast<size_t>(out)] != 1 || mm.attrs.count("dynrt.perm_y")) continue;
    for (size_t c = k + 1; c < g.nodes.size(); ++c) {
      const ir::Node& t = g.nodes[c];
      if (t.inputs.empty() || t.inputs[0] != out) continue;
      if (is_transpose(t) && keep[c] && t.provider == self) {
        mm.attrs["dynrt.perm_y"] = ints(t.attrs.at("perm").ints);
        mm.outputs[0] = t.outputs[0];
        keep[c] = false;
        changed = true;
      }
      break;
    }
  }
  if (changed) g.compact(keep);
  return changed;
}

}  // namespace dynrt::cpu
