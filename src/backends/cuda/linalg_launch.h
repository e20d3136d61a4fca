// Launchers of linalg.cu.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/device_shape.h"

namespace dynrt::cuda {

// y[i] = beta * c[broadcast index of i] for the rows x cols output y (c read
// through `c_strides`, rank 2): Gemm's C before the product accumulates onto
// it. `type`: float32, float16 or bfloat16 (of y and c).
void launch_scaled_broadcast(ElemType type, void* y, const void* c, Strided c_strides, float beta, cudaStream_t s);

}  // namespace dynrt::cuda
