// CPU lowering: fused float32 Attention nodes read and write in the model's
// own storage (backends/attention_layout.h); the fast kernel is strided, so
// the transposes around attention go.
#include "backends/attention_layout.h"
#include "backends/cpu/attention_fast.h"
#include "backends/cpu/passes/passes.h"
#include "ops/attrs.h"

namespace dynrt::cpu {

bool attention_layout(ir::Graph& g, int self) {
  return dynrt::attention_layout(g, self, [](const ir::Graph& gr, const ir::Node& n) {
    if (n.outputs.empty() || n.outputs[0] < 0 || n.inputs.size() < 3) return false;
    for (size_t o = 1; o < n.outputs.size(); ++o)
      if (n.outputs[o] >= 0) return false;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const int v = n.inputs[i];
      if (i < 3 && v < 0) return false;
      if (v < 0) continue;
      const ir::Value& val = gr.values[static_cast<size_t>(v)];
      const bool ok = i < 3 ? val.dtype == DType::kFloat32 && val.rank_known && val.shape.size() == 4
                            : val.dtype == DType::kFloat32 || val.dtype == DType::kBool;
      if (!ok) return false;
    }
    AttrReader r(n, gr.opset);
    return attention_fast_node(AttentionAttrs::parse(r), n.inputs.size(), 1);
  });
}

}  // namespace dynrt::cpu
