// CUDA lowering: Attention nodes the flash kernel takes (attention_flash.cu
// is strided) read and write in the model's own storage
// (backends/attention_layout.h).
#include <optional>

#include "backends/attention_layout.h"
#include "backends/cuda/attention_launch.h"
#include "backends/cuda/passes/passes.h"

namespace dynrt::cuda {
namespace {

bool is_op(const ir::Node& n, const char* op) { return n.domain.empty() && n.op == op; }

std::optional<int64_t> const_dim(const ir::Value& v, size_t i) {
  if (!v.rank_known || v.shape.size() != 4 || !v.shape[i].is_const()) return std::nullopt;
  return v.shape[i].const_value();
}

// What the flash kernel takes (attention_flash.cu), from what the build knows.
bool flash_node(const ir::Graph& g, const ir::Node& n, int self) {
  if (n.provider != self || !is_op(n, "Attention") || n.attrs.count("dynrt.layout") || n.inputs.size() < 3 ||
      n.inputs.size() > 4 || n.outputs.empty() || n.outputs[0] < 0)
    return false;
  for (size_t o = 1; o < n.outputs.size(); ++o)
    if (n.outputs[o] >= 0) return false;
  for (int i = 0; i < 3; ++i)
    if (n.inputs[static_cast<size_t>(i)] < 0) return false;
  const ir::Value &q = g.values[static_cast<size_t>(n.inputs[0])], &v = g.values[static_cast<size_t>(n.inputs[2])];
  const auto d = const_dim(q, 3), dv = const_dim(v, 3);
  return d && dv && flash_attention_takes(static_cast<ElemType>(q.dtype), *d, *dv);
}

}  // namespace

bool attention_layout(ir::Graph& g, int self) {
  if (!flash_attention_enabled()) return false;
  return dynrt::attention_layout(g, self, [self](const ir::Graph& gr, const ir::Node& n) { return flash_node(gr, n, self); });
}

}  // namespace dynrt::cuda
