// CUDA lowering: an attention's Q, K and V projections as one GEMM
// (backends/fuse_qkv.h). DYNRT_CUDA_FUSE_QKV=0 turns the pass off (for A/B
// measurements).
#include <cstdlib>
#include <string_view>

#include "backends/cuda/passes/passes.h"
#include "backends/fuse_qkv.h"

namespace dynrt::cuda {

bool fuse_qkv(ir::Graph& g, int self) {
  const char* env = std::getenv("DYNRT_CUDA_FUSE_QKV");
  if (env && std::string_view(env) == "0") return false;
  return dynrt::fuse_qkv(g, self);
}

}  // namespace dynrt::cuda
