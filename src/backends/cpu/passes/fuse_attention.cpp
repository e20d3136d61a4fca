// CPU lowering: scaled-dot-product attention chains become one Attention
// node (backends/fuse_attention.h) in float32, which the kernel's fast path
// (attention_fast.cpp) runs without the [B, H, Sq, L] scores tensor.
#include "backends/cpu/passes/passes.h"
#include "backends/fuse_attention.h"

namespace dynrt::cpu {

bool fuse_attention(ir::Graph& g, int self) {
  return dynrt::fuse_attention(g, self, [](DType t) { return t == DType::kFloat32; });
}

}  // namespace dynrt::cpu
