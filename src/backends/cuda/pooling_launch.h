// Launchers of pooling.cu: MaxPool/AveragePool/LpPool windows and
// BatchNormalization (inference), plain C++ signatures for the host side.
// (The global pools are reductions: reduction_launch.h.)
#pragma once

#include <cstdint>
#include <cuda_runtime.h>

#include "backends/cuda/device_shape.h"

namespace dynrt::cuda {

enum class PoolKind : int32_t { kMax, kAvg, kLp };

// One pool over `planes` NC planes, padded to 3 spatial axes (leading unit
// axes); pb/pe: the concrete begin/end pads.
struct PoolGeom {
  int64_t planes = 0;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1};
  int64_t pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
  PoolKind kind = PoolKind::kMax;
  bool count_include_pad = false;
  float p = 2.f;  // LpPool
};

void launch_pool(ElemType t, const void* x, void* y, const PoolGeom& g, cudaStream_t s);

// y = x * a[c] + b[c] with a = scale / sqrt(var + eps), b = bias - mean * a;
// x is [N, C, inner...] with `total` elements.
void launch_batch_norm(ElemType t, const void* x, const void* scale, const void* bias, const void* mean,
                       const void* var, void* y, int64_t total, int64_t channels, int64_t inner, float epsilon,
                       cudaStream_t s);

}  // namespace dynrt::cuda
