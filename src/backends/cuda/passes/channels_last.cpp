// CUDA lowering: 2-D convolutions in float16/bfloat16 run channels-last
// (NHWC), where cuDNN's tensor-core kernels read and write directly; in NCHW
// it transposes around every convolution. Their weights are stored KRSC (the
// constant's bytes permuted here, its layout marked), and activations stay
// NHWC between the nodes that take that layout, so a CNN pays for
// NCHW<->NHWC transposes only at its edges. The Conv kernel transposes
// whatever operand is not marked (conv.cpp), so marking is an optimisation
// that never changes what a node computes.
//
// A value is marked when a channels-last Conv (or a Relu/Add over such
// values) produces it and every consumer takes the layout: a channels-last
// Conv's input 0 or residual (input 3), or a Relu/Add whose operands all
// have its shape and are all marked (elementwise kernels over equal shapes
// do not care about the order of the bytes). Graph outputs and values
// another provider reads are never marked. Shapes in the IR stay logical.
#include <cstring>

#include "backends/cuda/passes/passes.h"

namespace dynrt::cuda {
namespace {

bool is_op(const ir::Node& n, const char* op) { return n.domain.empty() && n.op == op; }

bool half_type(DType t) { return t == DType::kFloat16 || t == DType::kBFloat16; }

// A 2-D convolution this provider runs channels-last: 16-bit, rank 4, its
// weights a constant read by this node alone, and channel counts that
// cuDNN's NHWC tensor-core kernels take (multiples of 8; an RGB stem stays NCHW).
bool nhwc_conv(const ir::Graph& g, const ir::Node& n, int self, const std::vector<int>& uses) {
  if (n.provider != self || !is_op(n, "Conv") || n.inputs.size() < 2 || n.outputs.empty()) return false;
  const ir::Value& w = g.values[static_cast<size_t>(n.inputs[1])];
  if (!half_type(w.dtype) || !w.constant || w.constant->shape().size() != 4 || uses[static_cast<size_t>(n.inputs[1])] != 1)
    return false;
  return w.constant->shape()[0] % 8 == 0 && w.constant->shape()[1] % 8 == 0;
}

bool transparent(const ir::Graph& g, const ir::Node& n, int self) {
  if (n.provider != self || n.outputs.size() != 1 || !(is_op(n, "Relu") || is_op(n, "Add"))) return false;
  const ir::Value& out = g.values[static_cast<size_t>(n.outputs[0])];
  for (int v : n.inputs)
    if (v < 0 || g.values[static_cast<size_t>(v)].shape != out.shape) return false;
  return true;
}

// [K, C, R, S] -> the same values stored [K, R, S, C].
Tensor to_krsc(const Tensor& w) {
  const std::vector<int64_t>& d = w.shape();
  const int64_t k = d[0], c = d[1], rs = d[2] * d[3];
  const size_t e = dtype_size(w.dtype());
  Tensor out(w.dtype(), d);
  const auto* src = static_cast<const std::byte*>(w.data());
  auto* dst = static_cast<std::byte*>(out.data());
  for (int64_t a = 0; a < k; ++a)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < rs; ++p)
        std::memcpy(dst + static_cast<size_t>((a * rs + p) * c + ch) * e, src + static_cast<size_t>((a * c + ch) * rs + p) * e, e);
  return out;
}

}  // namespace

bool channels_last(ir::Graph& g, int self) {
  for (const ir::Value& v : g.values)
    if (v.layout != ir::Layout::kRowMajor) return false;  // already assigned
  std::vector<int> uses = g.count_uses();
  std::vector<char> mark(g.values.size(), 0);
  bool any_conv = false;
  for (ir::Node& n : g.nodes) {
    if (!nhwc_conv(g, n, self, uses)) continue;
    any_conv = true;
    ir::Value& w = g.values[static_cast<size_t>(n.inputs[1])];
    w.constant = to_krsc(*w.constant);
    w.layout = ir::Layout::kChannelsLast;
    if (n.outputs[0] >= 0) mark[static_cast<size_t>(n.outputs[0])] = 1;
  }
  if (!any_conv) return false;
  for (const ir::Node& n : g.nodes) {  // in order: Relu/Add over marked values
    if (!transparent(g, n, self)) continue;
    bool all = true;
    for (int v : n.inputs) all = all && mark[static_cast<size_t>(v)];
    if (all) mark[static_cast<size_t>(n.outputs[0])] = 1;
  }
  for (int v : g.outputs) mark[static_cast<size_t>(v)] = 0;

  auto marked = [&](int v) { return v >= 0 && mark[static_cast<size_t>(v)]; };
  for (bool changed = true; changed;) {
    changed = false;
    auto unmark = [&](int v) {
      if (marked(v)) {
        mark[static_cast<size_t>(v)] = 0;
        changed = true;
      }
    };
    for (const ir::Node& n : g.nodes) {
      bool conv = nhwc_conv(g, n, self, uses), elementwise = transparent(g, n, self);
      bool all_marked = elementwise && marked(n.outputs[0]);
      for (int v : n.inputs) all_marked = all_marked && marked(v);
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        if (!marked(n.inputs[i])) continue;
        bool ok = (conv && (i == 0 || i == 3)) || all_marked;
        if (!ok) unmark(n.inputs[i]);
      }
      if (elementwise && !all_marked) unmark(n.outputs[0]);
    }
  }
  for (size_t v = 0; v < mark.size(); ++v)
    if (mark[v]) g.values[v].layout = ir::Layout::kChannelsLast;
  return true;
}

}  // namespace dynrt::cuda
