// The fused Attention's products on oneDNN (attention_onednn.cpp).
#pragma once

#include <memory>

#include "backends/cpu/attention_fast.h"

namespace dynrt::cpu {

// For an Attention node that takes the fast path: its products as oneDNN
// matmuls, in bf16 when the node is marked "dynrt.compute" = "bf16". Runs
// `fallback` (the float32 kernels) for shapes it has no primitives for.
std::unique_ptr<Kernel> make_onednn_attention(const AttentionAttrs& a, const AttentionLayout& layout, bool bf16,
                                              std::unique_ptr<Kernel> fallback);

}  // namespace dynrt::cpu
