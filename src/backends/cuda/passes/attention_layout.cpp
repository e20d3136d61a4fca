// CUDA lowering: Attention nodes the flash kernel takes read Q, K, V and
// write their output in the storage the model already has. Exported
// transformers project to [B, S, H*D], reshape to [B, S, H, D] and
// Transpose(0, 2, 1, 3) to [B, H, S, D] for attention, then transpose the
// result back: four full passes over the activations per layer that only
// reorder bytes. The flash kernel is strided (attention_flash.cu), so here a
// Transpose(0, 2, 1, 3) read only by the Attention is dropped from its input,
// and one that is the output's only reader (directly, or after a Reshape
// that keeps the shape) takes the Attention's place as writer; "dynrt.layout" records, per Q, K, V and output, 's' ([B, S, H, D])
// or 'h' ([B, H, S, D]).
#include <optional>
#include <string>
#include <vector>

#include "backends/cuda/attention_launch.h"
#include "backends/cuda/passes/passes.h"

namespace dynrt::cuda {
namespace {

bool is_op(const ir::Node& n, const char* op) { return n.domain.empty() && n.op == op; }

bool swaps_seq_and_heads(const ir::Node& n, int self) {
  if (n.provider != self || !is_op(n, "Transpose") || n.inputs.size() != 1 || n.outputs.size() != 1) return false;
  auto perm = n.attrs.find("perm");
  return perm != n.attrs.end() && perm->second.ints == std::vector<int64_t>{0, 2, 1, 3};
}

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
  std::vector<int> uses = g.count_uses();
  std::vector<bool> keep(g.nodes.size(), true), graph_output(g.values.size(), false);
  for (int o : g.outputs) graph_output[static_cast<size_t>(o)] = true;
  const std::vector<std::vector<int>> readers = g.readers();
  bool changed = false;
  for (ir::Node& n : g.nodes) {
    if (!flash_node(g, n, self)) continue;
    std::string layout = "hhhh";
    for (size_t i = 0; i < 3; ++i) {
      const int v = n.inputs[i];
      const int p = g.values[static_cast<size_t>(v)].producer;
      if (p < 0 || uses[static_cast<size_t>(v)] != 1 || graph_output[static_cast<size_t>(v)]) continue;
      const ir::Node& t = g.nodes[static_cast<size_t>(p)];
      if (!swaps_seq_and_heads(t, self) || t.inputs[0] < 0) continue;
      n.inputs[i] = t.inputs[0];
      layout[i] = 's';
    }
    // The output's one reader, looking through a Reshape that keeps the shape
    // (the TorchScript export views the result as itself before transposing).
    auto sole_reader = [&](int v) {
      return uses[static_cast<size_t>(v)] == 1 && !graph_output[static_cast<size_t>(v)] ? readers[static_cast<size_t>(v)][0] : -1;
    };
    const int y = n.outputs[0];
    int r = sole_reader(y), same_shape_reshape = -1;
    if (r >= 0 && is_op(g.nodes[static_cast<size_t>(r)], "Reshape") && g.nodes[static_cast<size_t>(r)].provider == self &&
        !g.nodes[static_cast<size_t>(r)].outputs.empty() && g.nodes[static_cast<size_t>(r)].inputs[0] == y) {
      const int z = g.nodes[static_cast<size_t>(r)].outputs[0];
      if (z >= 0 && g.values[static_cast<size_t>(z)].shape == g.values[static_cast<size_t>(y)].shape) {
        same_shape_reshape = r;
        r = sole_reader(z);
      } else {
        r = -1;
      }
    }
    if (r >= 0 && swaps_seq_and_heads(g.nodes[static_cast<size_t>(r)], self)) {
      n.outputs[0] = g.nodes[static_cast<size_t>(r)].outputs[0];
      keep[static_cast<size_t>(r)] = false;
      if (same_shape_reshape >= 0) keep[static_cast<size_t>(same_shape_reshape)] = false;
      layout[3] = 's';
    }
    if (layout == "hhhh") continue;
    ir::Attribute a;
    a.type = ir::Attribute::Type::kString;
    a.s = layout;
    n.attrs["dynrt.layout"] = a;
    changed = true;
  }
  if (changed) g.compact(keep);  // the input-side transposes go with dead-code elimination
  return changed;
}

}  // namespace dynrt::cuda
