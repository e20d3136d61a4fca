// One MatMul for an attention's Q, K and V projections, shared by the
// providers. Transformer encoders project the same activations three times,
// each [.., E] x [E, H*D] + bias, reshaped to [.., S, H, D] for attention. One
// product against the weights side by side, [E, 3*H*D], uses the hardware
// better at small and medium row counts (H200, float16, E = 768, cuBLAS: 128
// rows 11.0 -> 4.1 us, 1024 rows 15.1 -> 8.6 us, 4096 rows 29.1 -> 24.3 us,
// benchmarks/qkv_gemm_gpu.py; CPU bf16 on two cores, oneDNN: 128 rows 0.54 ->
// 0.39 ms, one input conversion instead of three). The attention kernels then
// read Q, K and V in place from the packed result: "dynrt.layout" letter 'p'
// for operand i means slot i of storage [B, S, 3, H, D], the value being
// [B, S, 3*H*D] (backends/cuda/attention.cpp, backends/cpu/attention_fast.cpp).
// Only Attention nodes the layout pass gave [B, S, H, D] operands ("sss?") are
// changed.
#include "backends/fuse_qkv.h"

#include <cstring>
#include <optional>

namespace dynrt {
namespace {

bool is_op(const ir::Node& n, const char* op) { return n.domain.empty() && n.op == op; }

struct Projection {
  int matmul = -1, reshape = -1;  // node indices
  int weight = -1, bias = -1;     // value ids (bias -1: none)
};

class QkvFuser {
 public:
  QkvFuser(ir::Graph& g, int self) : g_(g), self_(self), uses_(g.count_uses()), output_(g.values.size(), false) {
    for (int o : g.outputs) output_[static_cast<size_t>(o)] = true;
  }

  bool run() {
    std::vector<bool> keep(g_.nodes.size(), true);
    bool changed = false;
    for (size_t at = 0; at < g_.nodes.size(); ++at) {
      ir::Node& n = g_.nodes[at];
      if (n.provider != self_ || !is_op(n, "Attention") || n.inputs.size() < 3) continue;
      auto layout = n.attrs.find("dynrt.layout");
      if (layout == n.attrs.end() || layout->second.s.size() != 4 || layout->second.s.compare(0, 3, "sss") != 0)
        continue;
      Projection p[3];
      if (!match(n, p, keep)) continue;
      const int packed = fuse(p);
      for (int i = 0; i < 3; ++i) {
        n.inputs[static_cast<size_t>(i)] = packed;
        keep[static_cast<size_t>(p[i].reshape)] = false;
      }
      keep[static_cast<size_t>(p[1].matmul)] = keep[static_cast<size_t>(p[2].matmul)] = false;
      layout->second.s.replace(0, 3, "ppp");
      changed = true;
    }
    if (changed) g_.compact(keep);  // the three weights and biases go with dead-code elimination
    return changed;
  }

 private:
  const ir::Value& val(int v) const { return g_.values[static_cast<size_t>(v)]; }
  bool single_use(int v) const { return v >= 0 && uses_[static_cast<size_t>(v)] == 1 && !output_[static_cast<size_t>(v)]; }

  const ir::Node* made_by(int v, const char* op) const {
    const int p = val(v).producer;
    if (p < 0) return nullptr;
    const ir::Node& n = g_.nodes[static_cast<size_t>(p)];
    return n.provider == self_ && is_op(n, op) ? &n : nullptr;
  }

  // Operand `v` = Reshape(MatMul(A, W) [+ bias]) to [.., S, H, D], each read once.
  std::optional<Projection> projection(int v, const std::vector<bool>& keep) const {
    if (!single_use(v)) return std::nullopt;
    const ir::Node* r = made_by(v, "Reshape");
    if (!r || r->inputs.empty() || !single_use(r->inputs[0])) return std::nullopt;
    const int m = r->inputs[0];
    const ir::Node* mm = made_by(m, "MatMul");
    if (!mm || mm->inputs.size() < 2 || mm->inputs.size() > 3 || mm->outputs.size() != 1) return std::nullopt;
    for (const auto& [name, a] : mm->attrs)  // bias only: no activation, residual or folded transposes
      if (name != "dynrt.fused") return std::nullopt;
    Projection p;
    p.matmul = val(m).producer;
    p.reshape = val(v).producer;
    if (!keep[static_cast<size_t>(p.matmul)] || !keep[static_cast<size_t>(p.reshape)]) return std::nullopt;
    p.weight = mm->inputs[1];
    p.bias = mm->inputs.size() == 3 ? mm->inputs[2] : -1;
    const ir::Value &w = val(p.weight), &out = val(m), &heads = val(v);
    if (!w.constant || w.constant->shape().size() != 2 || w.dtype != out.dtype || val(mm->inputs[0]).dtype != out.dtype)
      return std::nullopt;
    if (p.bias >= 0 && (!val(p.bias).constant || val(p.bias).dtype != out.dtype ||
                        val(p.bias).constant->numel() != w.constant->shape()[1]))
      return std::nullopt;
    // [B, S, N] viewed as [B, S, H, D] with H * D = N > 0 (dims from the model: checked product).
    if (!out.rank_known || !heads.rank_known || out.shape.size() != 3 || heads.shape.size() != 4) return std::nullopt;
    const int64_t n = w.constant->shape()[1];
    int64_t hd = 0;
    if (n <= 0 || heads.shape[0] != out.shape[0] || heads.shape[1] != out.shape[1] || !heads.shape[2].is_const() ||
        !heads.shape[3].is_const() || out.shape[2] != Expr::constant(n) ||
        __builtin_mul_overflow(heads.shape[2].const_value(), heads.shape[3].const_value(), &hd) || hd != n)
      return std::nullopt;
    return p;
  }

  bool match(const ir::Node& n, Projection (&p)[3], const std::vector<bool>& keep) const {
    for (int i = 0; i < 3; ++i) {
      auto got = projection(n.inputs[static_cast<size_t>(i)], keep);
      if (!got) return false;
      p[i] = *got;
    }
    const ir::Node &q = g_.nodes[static_cast<size_t>(p[0].matmul)];
    const ir::Value& qv = val(n.inputs[0]);
    for (int i = 1; i < 3; ++i) {
      const ir::Node& o = g_.nodes[static_cast<size_t>(p[i].matmul)];
      if (o.inputs[0] != q.inputs[0] || p[i].matmul == p[0].matmul || (p[i].bias < 0) != (p[0].bias < 0) ||
          val(p[i].weight).constant->shape() != val(p[0].weight).constant->shape() ||
          val(n.inputs[static_cast<size_t>(i)]).shape != qv.shape)
        return false;
    }
    return true;
  }

  std::string unique(const std::string& name) const {
    std::string s = name;
    for (int i = 2; g_.find_value(s) >= 0; ++i) s = name + "." + std::to_string(i);
    return s;
  }

  // Side by side along the last axis: [rows, n] x 3 -> [rows, 3n].
  int concat(const Projection (&p)[3], int Projection::*which, const std::string& name) {
    const Tensor& first = *val(p[0].*which).constant;
    const int64_t n = first.shape().back(), rows = first.numel() / n;
    const size_t row_bytes = static_cast<size_t>(n) * dtype_size(first.dtype());
    std::vector<int64_t> dims = first.shape();
    dims.back() = 3 * n;
    Tensor t(first.dtype(), dims);
    for (int i = 0; i < 3; ++i) {
      const auto* src = static_cast<const std::byte*>(val(p[i].*which).constant->data());
      auto* dst = static_cast<std::byte*>(t.data()) + static_cast<size_t>(i) * row_bytes;
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(dst + static_cast<size_t>(r) * 3 * row_bytes, src + static_cast<size_t>(r) * row_bytes, row_bytes);
    }
    return g_.add_constant(name, std::move(t));
  }

  // Q's MatMul becomes the packed projection; returns its output [B, S, 3N].
  int fuse(const Projection (&p)[3]) {
    const std::string base = unique(g_.nodes[static_cast<size_t>(p[0].matmul)].name + "/qkv");
    const int w = concat(p, &Projection::weight, unique(base + "/weight"));
    const int b = p[0].bias >= 0 ? concat(p, &Projection::bias, unique(base + "/bias")) : -1;
    const int q_out = g_.nodes[static_cast<size_t>(p[0].matmul)].outputs[0];
    const int packed = g_.add_value(base);
    ir::Value& pv = g_.values[static_cast<size_t>(packed)];
    const ir::Value& qo = val(q_out);
    pv.dtype = qo.dtype;
    pv.rank_known = true;
    pv.shape = {qo.shape[0], qo.shape[1], Expr::constant(val(w).constant->shape()[1])};
    pv.provider = qo.provider;
    pv.layout = qo.layout;
    ir::Node& mm = g_.nodes[static_cast<size_t>(p[0].matmul)];
    mm.name = base;
    mm.inputs = {mm.inputs[0], w};
    if (b >= 0) mm.inputs.push_back(b);
    mm.outputs = {packed};
    return packed;
  }

  ir::Graph& g_;
  int self_;
  std::vector<int> uses_;
  std::vector<bool> output_;
};

}  // namespace

bool fuse_qkv(ir::Graph& g, int self) { return QkvFuser(g, self).run(); }

}  // namespace dynrt
