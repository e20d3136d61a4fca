// The CPU Attention kernel's fast path (attention_fast.cpp).
#pragma once

#include <array>
#include <optional>

#include "backends/kernel.h"
#include "ops/attrs.h"

namespace dynrt::cpu {

// Per Q, K, V and output: true when stored [B, S, H, D] (the "dynrt.layout"
// attribute's 's', set by backends/attention_layout.h), else [B, H, S, D].
using AttentionLayout = std::array<bool, 4>;

// Node-level conditions of the fast path: no past keys, causal flag,
// windows, softcap, padding lengths or outputs beyond the first.
bool attention_fast_node(const AttentionAttrs& a, size_t inputs, size_t outputs);
// Run-time conditions: float32 4-D operands, a float32 or boolean mask.
bool attention_fast_applies(const KernelContext& c);
// Checks every shape (a layout comes from an untrusted file) and runs.
void attention_fast(const AttentionAttrs& a, const AttentionLayout& layout, KernelContext& c);

}  // namespace dynrt::cpu
