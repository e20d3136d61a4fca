// The CPU Attention kernel's fast path (attention_fast.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>

#include "backends/kernel.h"
#include "ops/attrs.h"

namespace dynrt::cpu {

// Per Q, K, V and output, the "dynrt.layout" attribute's letter (set by
// backends/attention_layout.h and backends/fuse_qkv.h): 'h' [B, H, S, D] (the
// default), 's' stored [B, S, H, D], or for Q, K, V 'p': slot i of a packed
// [B, S, 3, H, D] (the value [B, S, 3*H*D]; heads and head size are the output's).
using AttentionLayout = std::array<char, 4>;

// A 4-D operand: its dims in [B, H, S, D] order and element strides (D is contiguous).
struct AttentionOperand {
  int64_t b = 0, h = 0, s = 0, d = 0;
  int64_t sb = 0, sh = 0, ss = 0;
  int64_t offset = 0;  // elements from the tensor's start (a packed slot)
};

// Everything one call computes, checked, shared by the threads.
struct AttentionJob {
  AttentionOperand q, k, v, y;
  const float *Q = nullptr, *K = nullptr, *V = nullptr;
  float* Y = nullptr;
  const float* maskf = nullptr;
  const uint8_t* maskb = nullptr;
  bool has_mask = false;
  int64_t mdim[4] = {}, mstr[4] = {};
  int64_t B = 0, H = 0, Sq = 0, L = 0, D = 0, Dv = 0, group = 1;
  float scale = 1.f;
};

// Checks every shape (a layout comes from an untrusted file) and fills jb;
// false when there is nothing to compute.
bool attention_job(const AttentionAttrs& a, const AttentionLayout& layout, const KernelContext& c, AttentionJob& jb);

// The mask onto query row i's scores sp[0, L) of (batch b, head h); keys
// past a shorter mask are masked.
inline void apply_attention_mask(const AttentionJob& jb, int64_t b, int64_t h, int64_t i, float* sp) {
  if (!jb.has_mask) return;
  const float ninf = -std::numeric_limits<float>::infinity();
  const int64_t mo = b * jb.mstr[0] + h * jb.mstr[1] + i * jb.mstr[2], n = jb.mdim[3];
  if (jb.maskb)
    for (int64_t j = 0; j < n; ++j) sp[j] = jb.maskb[mo + j] ? sp[j] : ninf;
  else
    for (int64_t j = 0; j < n; ++j) sp[j] += jb.maskf[mo + j];
  for (int64_t j = n; j < jb.L; ++j) sp[j] = ninf;
}

// Node-level conditions of the fast path: no past keys, causal flag,
// windows, softcap, padding lengths or outputs beyond the first.
bool attention_fast_node(const AttentionAttrs& a, size_t inputs, size_t outputs);
// Run-time conditions: float32 operands (4-D, or 3-D packed), a float32 or boolean mask.
bool attention_fast_applies(const KernelContext& c, const AttentionLayout& layout);
// Checks every shape (a layout comes from an untrusted file) and runs.
void attention_fast(const AttentionAttrs& a, const AttentionLayout& layout, KernelContext& c);

}  // namespace dynrt::cpu
