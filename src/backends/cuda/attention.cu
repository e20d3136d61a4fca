// Device code of fused attention's softmax step (attention_launch.h): one
// warp per row of scores, mask added in float, fully masked rows -> 0.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>

#include "backends/cuda/attention_launch.h"
#include "backends/cuda/reduction_launch.h"

namespace dynrt::cuda {
namespace {

constexpr int kBlock = 256, kRowsPerBlock = kBlock / 32;

// One warp's all-reduce (reduction_launch.h): the max propagates NaN, like Softmax's.
__device__ __forceinline__ float warp_max(float v) { return dev::group_reduce<32>(v, dev::Max(), static_cast<float*>(nullptr)); }
__device__ __forceinline__ float warp_sum(float v) { return dev::group_reduce<32>(v, dev::Add(), static_cast<float*>(nullptr)); }

template <class T, bool BOOL_MASK>
__global__ void __launch_bounds__(kBlock) attention_softmax(T* s, int64_t rows, int64_t n, int64_t heads,
                                                            int64_t seq_q, AttentionMask mask) {
  const int lane = threadIdx.x % 32;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32; r < rows;
       r += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    T* row = s + r * n;
    const int64_t i = r % seq_q, bh = r / seq_q, h = bh % heads, b = bh / heads;
    const int64_t moff = b * mask.strides[0] + h * mask.strides[1] + i * mask.strides[2];
    const int64_t mstep = mask.strides[3];
    auto value = [&](int64_t j) {
      float x = static_cast<float>(row[j]);
      if (mask.data) {
        if constexpr (BOOL_MASK) {
          if (!static_cast<const bool*>(mask.data)[moff + j * mstep]) x = -INFINITY;
        } else {
          x += static_cast<float>(static_cast<const T*>(mask.data)[moff + j * mstep]);
        }
      }
      return x;
    };
    float m = -INFINITY;
    for (int64_t j = lane; j < n; j += 32) m = fmaxf(m, value(j));
    m = warp_max(m);
    if (m == -INFINITY) {  // fully masked
      for (int64_t j = lane; j < n; j += 32) row[j] = T(0.f);
      continue;
    }
    float sum = 0.f;
    for (int64_t j = lane; j < n; j += 32) sum += expf(value(j) - m);
    const float inv = 1.f / warp_sum(sum);
    for (int64_t j = lane; j < n; j += 32) row[j] = T(expf(value(j) - m) * inv);
  }
}

template <class T>
void go(void* scores, int64_t rows, int64_t n, int64_t heads, int64_t seq_q, const AttentionMask& mask,
        cudaStream_t s) {
  int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  unsigned grid = static_cast<unsigned>(blocks < 65535 * 8 ? blocks : 65535 * 8);
  if (mask.is_bool)
    attention_softmax<T, true><<<grid, kBlock, 0, s>>>(static_cast<T*>(scores), rows, n, heads, seq_q, mask);
  else
    attention_softmax<T, false><<<grid, kBlock, 0, s>>>(static_cast<T*>(scores), rows, n, heads, seq_q, mask);
}

}  // namespace

void launch_attention_softmax(ElemType t, void* scores, int64_t rows, int64_t n, int64_t heads, int64_t seq_q,
                              const AttentionMask& mask, cudaStream_t s) {
  if (rows <= 0 || n <= 0) return;
  switch (t) {
    case ElemType::kFloat32: return go<float>(scores, rows, n, heads, seq_q, mask, s);
    case ElemType::kFloat16: return go<__half>(scores, rows, n, heads, seq_q, mask, s);
    case ElemType::kBFloat16: return go<__nv_bfloat16>(scores, rows, n, heads, seq_q, mask, s);
    default: return;
  }
}

}  // namespace dynrt::cuda
