// Launchers of normalization.cu: Softmax/LogSoftmax/Hardmax and the row
// normalizations (LayerNormalization, RMSNormalization, Instance- and
// GroupNormalization), plain C++ signatures for the host side.
#pragma once

#include <cstdint>
#include <cuda_runtime.h>

#include "backends/cuda/device_shape.h"

namespace dynrt::cuda {

enum class SoftmaxMode : int32_t { kSoftmax, kLogSoftmax, kHardmax };

// Along the middle dim of x viewed as [outer, n, inner].
void launch_softmax(SoftmaxMode mode, ElemType t, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
                    cudaStream_t s);

// `rows` contiguous rows of n elements, each normalized by its own
// statistics: LayerNorm y = (x - mean) * inv * scale + bias, RMSNorm
// y = x * inv * scale. Element i of row r takes scale index
//   (r % groups) * group_mul + (i / span) % period
// and bias index the same with bias_period (LayerNorm: groups 1, mul 0,
// span 1, periods numel(scale), numel(bias): parameters that broadcast as a
// suffix of the row; Instance/GroupNorm: per channel or per group).
struct RowNorm {
  int64_t rows = 0, n = 0;
  float epsilon = 1e-5f;
  bool rms = false;
  int64_t groups = 1, group_mul = 0, span = 1, period = 1, bias_period = 1;
};

// bias, mean and inv_std may be null; mean/inv_std (float, one per row) are
// LayerNormalization's optional outputs.
void launch_row_norm(ElemType t, const void* x, const void* scale, const void* bias, void* y, float* mean,
                     float* inv_std, const RowNorm& p, cudaStream_t s);

}  // namespace dynrt::cuda
