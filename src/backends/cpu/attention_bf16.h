// The fused Attention's bf16 products (attention_bf16.cpp).
#pragma once

#include <memory>

#include "backends/cpu/attention_fast.h"

namespace dynrt::cpu {

// For an Attention node marked "dynrt.compute" = "bf16" that takes the fast
// path: runs `fallback` (the float32 kernel) for shapes it has no bf16
// primitives for.
std::unique_ptr<Kernel> make_bf16_attention(const AttentionAttrs& a, const AttentionLayout& layout,
                                            std::unique_ptr<Kernel> fallback);

}  // namespace dynrt::cpu
