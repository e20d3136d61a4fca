// CPU lowering: epilogue fusion (backends/fuse_epilogue.h) with what the
// oneDNN-backed kernels take: float32, every fused form (a MatMul's residual
// too), every activation oneDNN has as a post-op.
#include "backends/cpu/passes/passes.h"
#include "backends/fuse_epilogue.h"

namespace dynrt::cpu {

bool fuse_activation(ir::Graph& g, int self) {
  EpilogueRules rules;
  rules.dtype_ok = [](DType t) { return t == DType::kFloat32; };
  rules.activation_ok = [](const std::string&, const std::string&, DType) { return true; };
  rules.matmul_residual = true;  // a oneDNN binary-add post-op (backends/cpu/linalg.cpp)
  return fuse_epilogues(g, self, rules);
}

}  // namespace dynrt::cpu
