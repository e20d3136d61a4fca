// CUDA lowering: epilogue fusion (backends/fuse_epilogue.h) with what the
// library calls take. cuDNN's fused convolution computes
// act(conv(x) + z + bias) with act ReLU or identity and needs the bias;
// cuBLASLt's epilogues add a bias along N, a residual (as C, beta 1) and
// apply ReLU or GELU. Its GELU is the tanh approximation, within 5e-4 of the
// exact one (4.7e-4 at x = 2.7, under half a float16/bfloat16 step there):
// 16-bit MatMuls take it, float32 keeps Gelu a kernel of its own.
#include "backends/cuda/passes/passes.h"
#include "backends/fuse_epilogue.h"

namespace dynrt::cuda {

bool fuse_epilogues(ir::Graph& g, int self) {
  EpilogueRules rules;
  rules.dtype_ok = [](DType t) { return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16; };
  rules.activation_ok = [](const std::string& producer, const std::string& act, DType t) {
    return act == "Relu" || (act == "Gelu" && producer == "MatMul" && t != DType::kFloat32);
  };
  rules.matmul_residual = true;
  rules.conv_needs_bias = true;
  rules.gemm = false;
  return dynrt::fuse_epilogues(g, self, rules);
}

}  // namespace dynrt::cuda
