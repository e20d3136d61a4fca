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
