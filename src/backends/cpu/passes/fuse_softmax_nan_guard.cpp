// CPU lowering: the guard both PyTorch exporters put after an attention
// softmax, Where(IsNaN(p), 0, p) with p = Softmax(x) (a fully masked row
// gives NaN; the guard turns it into zeros), becomes one Softmax with
// "dynrt.nan_to_zero": the kernel zeroes NaNs in each row while it is still
// in cache, instead of two more passes over [batch, heads, seq, seq]. The
// result is the same for every input, NaN inputs included.
#include "backends/cpu/passes/passes.h"

namespace dynrt::cpu {
namespace {

bool is_op(const ir::Node& n, const char* op, int self) {
  return n.provider == self && n.domain.empty() && n.op == op;
}

bool is_zero_scalar(const ir::Value& v) {
  if (!v.constant || v.constant->numel() != 1) return false;
  const Tensor& t = *v.constant;
  if (t.dtype() == DType::kFloat32) return t.data_as<float>()[0] == 0.f;
  if (t.dtype() == DType::kFloat64) return t.data_as<double>()[0] == 0.0;
  return false;
}

}  // namespace

bool fuse_softmax_nan_guard(ir::Graph& g, int self) {
  std::vector<int> uses = g.count_uses();
  const std::vector<std::vector<int>> readers = g.readers();
  std::vector<bool> keep(g.nodes.size(), true);
  bool changed = false;
  for (ir::Node& s : g.nodes) {
    if (!is_op(s, "Softmax", self) || s.outputs.size() != 1 || s.outputs[0] < 0 || s.attrs.count("dynrt.nan_to_zero"))
      continue;
    const int p = s.outputs[0];
    const ir::Value& pv = g.values[static_cast<size_t>(p)];
    if (pv.dtype != DType::kFloat32 && pv.dtype != DType::kFloat64) continue;
    if (uses[static_cast<size_t>(p)] != 2 || readers[static_cast<size_t>(p)].size() != 2) continue;  // IsNaN and Where only
    int isnan = -1, where = -1;
    for (int r : readers[static_cast<size_t>(p)]) {
      const ir::Node& n = g.nodes[static_cast<size_t>(r)];
      if (is_op(n, "IsNaN", self)) isnan = r;
      else if (is_op(n, "Where", self)) where = r;
    }
    if (isnan < 0 || where < 0 || !keep[static_cast<size_t>(isnan)] || !keep[static_cast<size_t>(where)]) continue;
    const ir::Node &in = g.nodes[static_cast<size_t>(isnan)], &wn = g.nodes[static_cast<size_t>(where)];
    const int mask = in.outputs[0];
    if (mask < 0 || uses[static_cast<size_t>(mask)] != 1 || wn.inputs.size() != 3 || wn.inputs[0] != mask ||
        wn.inputs[2] != p || wn.inputs[1] < 0 || !is_zero_scalar(g.values[static_cast<size_t>(wn.inputs[1])]))
      continue;
    // The Where's output must keep p's shape and type (a scalar 0 broadcasts to it).
    const ir::Value& yv = g.values[static_cast<size_t>(wn.outputs[0])];
    if (yv.dtype != pv.dtype || yv.shape != pv.shape) continue;
    s.outputs[0] = wn.outputs[0];
    ir::Attribute a;
    a.type = ir::Attribute::Type::kInt;
    a.i = 1;
    s.attrs["dynrt.nan_to_zero"] = a;
    keep[static_cast<size_t>(isnan)] = keep[static_cast<size_t>(where)] = false;
    changed = true;
  }
  if (changed) g.compact(keep);
  return changed;
}

}  // namespace dynrt::cpu
