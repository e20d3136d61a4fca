// Epilogue fusion shared by the providers: what follows a Conv / Gemm /
// MatMul is folded into it, so the provider's library applies it while the
// output is being written instead of in another pass over memory. The fused
// forms are conventions every provider's kernels read the same way:
//  - Conv + Add(residual of the same shape) -> Conv with input 3 = residual
//  - MatMul + Add(constant bias over the last dim) -> MatMul with input 2 = bias
//  - MatMul [+ bias] + Add(residual of the same shape, computed before the
//    MatMul) -> MatMul with input 3 = residual (input 2 may be absent)
//  - X + activation -> X with attribute "dynrt.activation" (and
//    "dynrt.clip_min"/"dynrt.clip_max" for Clip); the activation applies last
//  - "dynrt.fused" names what was fused ("Conv+Add+Relu") for inspect and profiles
// Each provider says which of these its kernels take (EpilogueRules); only
// its own nodes (provider index `self`) are touched.
#pragma once

#include <string>

#include "dynrt/export.h"
#include "ir/graph.h"

namespace dynrt {

struct EpilogueRules {
  bool (*dtype_ok)(DType) = nullptr;  // the producer's output type
  // `type`: the producer's output type (an approximation may be fine in 16 bits only)
  bool (*activation_ok)(const std::string& producer, const std::string& activation, DType type) = nullptr;
  bool conv_residual = true;
  bool conv_needs_bias = false;  // fuse into a Conv only when it has a bias input
  bool matmul_bias = true;
  bool matmul_residual = false;
  bool gemm = true;  // Gemm takes activations
};

DYNRT_INTERNAL bool fuse_epilogues(ir::Graph& g, int self, const EpilogueRules& rules);

}  // namespace dynrt
