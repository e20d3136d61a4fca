// CUDA lowering: epilogue fusion (backends/fuse_epilogue.h) with what the
// library calls take. cuDNN's fused convolution computes
// act(conv(x) + z + bias) with act ReLU or identity and needs the bias;
// cuBLASLt's epilogues add a bias along N and apply ReLU. Its GELU epilogue
// is the tanh approximation, so an exact Gelu stays a kernel of its own.
#include "backends/cuda/passes/passes.h"
#include "backends/fuse_epilogue.h"

namespace dynrt::cuda {

bool fuse_epilogues(ir::Graph& g, int self) {
  EpilogueRules rules;
  rules.dtype_ok = [](DType t) { return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16; };
  rules.activation_ok = [](const std::string&, const std::string& act) { return act == "Relu"; };
  rules.conv_needs_bias = true;
  rules.gemm = false;
  return dynrt::fuse_epilogues(g, self, rules);
}

}  // namespace dynrt::cuda
