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

// Fused attention that keeps the scores on chip (tensor cores through WMMA,
// online softmax over key tiles of 64): q [bh, seq_q, d], k and v
// [bh, seq_kv, d], o [bh, seq_q, d], 16-bit (t is kFloat16 or kBFloat16),
// d in {32, 64, 128}. Returns false (launching nothing) for a case it does
// not take.
bool launch_flash_attention(ElemType t, const void* q, const void* k, const void* v, void* o, int64_t bh,
                            int64_t heads, int64_t seq_q, int64_t seq_kv, int64_t d, float scale,
                            const AttentionMask& mask, cudaStream_t s);

}  // namespace dynrt::cuda
