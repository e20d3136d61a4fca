// Launcher of attention.cu: the softmax step of fused attention, over the
// scores [batch, heads, seq_q, seq_kv] (already scaled by the first GEMM),
// adding the broadcast mask on the way and writing the probabilities in place.
#pragma once

#include <cstdint>
#include <cuda_runtime.h>

#include "backends/cuda/device_shape.h"

namespace dynrt::cuda {

struct AttentionMask {
  const void* data = nullptr;  // null: no mask
  bool is_bool = false;        // bool: false masks out; else additive, of the scores' type
  int64_t strides[4] = {};     // elements per (batch, head, query, key) step; 0 broadcasts
};

// rows = batch * heads * seq_q rows of n = seq_kv scores each. A row whose
// every score is -inf (fully masked) gives zeros.
void launch_attention_softmax(ElemType t, void* scores, int64_t rows, int64_t n, int64_t heads, int64_t seq_q,
                              const AttentionMask& mask, cudaStream_t s);

}  // namespace dynrt::cuda

namespace dynrt::cuda {

// Fused attention that keeps the scores on chip (attention_flash.cu). Each
// operand is strided by (batch, head, sequence) in elements, its head_dim
// contiguous: [B, H, S, D] and [B, S, H, D] storage both fit.
struct FlashArgs {
  const void *q = nullptr, *k = nullptr, *v = nullptr;
  void* o = nullptr;
  int64_t q_stride[3] = {}, k_stride[3] = {}, v_stride[3] = {}, o_stride[3] = {};
  int64_t batch = 0, heads = 0, seq_q = 0, seq_kv = 0, head_dim = 0;
  float scale = 1.f;
  AttentionMask mask;
};

// DYNRT_CUDA_FLASH_ATTENTION (attention_policy.cpp): "0" runs attention as
// GEMMs around a softmax and stores no node for the flash kernel; "require"
// makes a node the flash kernel cannot take an error (for tests); else on.
enum class FlashMode { kOff, kOn, kRequire };
FlashMode flash_attention_mode();
bool flash_attention_enabled();  // mode != kOff

// Whether the kernel exists for this type and head size: 16-bit, head_dim ==
// value_dim, 32, 64 or 128.
bool flash_attention_takes(ElemType t, int64_t head_dim, int64_t value_dim);

// Returns false (launching nothing) for a case it does not take (a type or
// size flash_attention_takes refuses, odd strides, empty sequences, more than
// 2^31 blocks).
bool launch_flash_attention(ElemType t, const FlashArgs& a, cudaStream_t s);

}  // namespace dynrt::cuda
