// CUDA lowering: scaled-dot-product attention chains become one Attention
// node (backends/fuse_attention.h) in every float type the kernel takes.
#include "backends/cuda/passes/passes.h"
#include "backends/fuse_attention.h"

namespace dynrt::cuda {

bool fuse_attention(ir::Graph& g, int self) {
  return dynrt::fuse_attention(
      g, self, [](DType t) { return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16; });
}

}  // namespace dynrt::cuda
