// CPU lowering: keep convolution activations channels-last (NHWC bytes) between the nodes
// that can read and write that layout, so a CNN pays for NCHW<->NHWC
// reorders only at its edges instead of around every Conv.
//
// Shapes in the IR stay logical (N, C, spatial...); only the bytes of a
// marked value are permuted. A value is marked when it is produced by a Conv
// (or a pool whose input is marked) and every consumer can take it:
//   Conv input 0; Conv input 3 (fused residual, which must match that conv's
//   dst layout); MaxPool/AveragePool/LpPool input 0 (src layout == dst
//   layout); GlobalAveragePool/GlobalMaxPool/GlobalLpPool input 0 (their
//   (N, C, 1...) output has the same bytes either way).
// Graph outputs and values read or written by another provider are never
// marked. The layout is recorded on the value (ir::Value::layout); kernels
// read it through KernelInit::input_layout / output_layout.
//
// Run after fuse_activation: unfused Relu/Add between convs block marking.
#include "backends/cpu/passes/passes.h"

namespace dynrt::cpu {
namespace {

bool is_op(const ir::Node& n, const char* op) { return n.domain.empty() && n.op == op; }
bool is_pool(const ir::Node& n) { return is_op(n, "MaxPool") || is_op(n, "AveragePool") || is_op(n, "LpPool"); }
bool is_global_pool(const ir::Node& n) {
  return is_op(n, "GlobalAveragePool") || is_op(n, "GlobalMaxPool") || is_op(n, "GlobalLpPool");
}

}  // namespace

bool assign_channels_last(ir::Graph& g, int self) {
  size_t nv = g.values.size();
  std::vector<char> mark(nv, 0);
  auto spatial_f32 = [&](int v) {
    const ir::Value& val = g.values[static_cast<size_t>(v)];
    return val.dtype == DType::kFloat32 && val.rank_known && val.shape.size() >= 3 && val.shape.size() <= 5;
  };
  for (const ir::Value& v : g.values)
    if (v.layout != ir::Layout::kRowMajor) return false;  // already assigned
  for (const ir::Node& n : g.nodes) {
    if (n.provider != self) continue;
    bool producer = is_op(n, "Conv") || (is_pool(n) && n.outputs.size() == 1);
    if (producer && !n.outputs.empty() && n.outputs[0] >= 0 && spatial_f32(n.outputs[0]))
      mark[static_cast<size_t>(n.outputs[0])] = 1;
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
      int out = n.outputs.empty() ? -1 : n.outputs[0];
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        int v = n.inputs[i];
        if (!marked(v)) continue;
        bool ok = n.provider == self && ((is_op(n, "Conv") && i == 0) || (is_op(n, "Conv") && i == 3 && marked(out)) ||
                  (is_pool(n) && i == 0 && marked(out)) || (is_global_pool(n) && i == 0));
        if (!ok) unmark(v);
      }
      // A residual and the conv's output share a layout; a pool keeps its input's.
      if (is_op(n, "Conv") && n.inputs.size() > 3 && n.inputs[3] >= 0 && !marked(n.inputs[3])) unmark(out);
      if (is_pool(n) && !marked(n.inputs[0])) unmark(out);
    }
  }

  bool any = false;
  for (size_t v = 0; v < nv; ++v)
    if (mark[v]) {
      g.values[v].layout = ir::Layout::kChannelsLast;
      any = true;
    }
  return any;
}

}  // namespace dynrt::cpu
