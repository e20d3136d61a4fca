#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backends/cuda/linalg_launch.h"

namespace dynrt::cuda {
namespace {

template <class T>
__global__ void scaled_broadcast(T* y, const T* c, Strided cs, float beta, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    int64_t r = i / cs.dims[1], col = i % cs.dims[1];
    y[i] = static_cast<T>(beta * static_cast<float>(c[r * cs.strides[0] + col * cs.strides[1]]));
  }
}

}  // namespace

void launch_scaled_broadcast(ElemType type, void* y, const void* c, Strided cs, float beta, cudaStream_t s) {
  int64_t n = cs.dims[0] * cs.dims[1];
  if (n == 0) return;
  int64_t blocks = (n + 255) / 256;
  unsigned grid = static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
  switch (type) {
    case ElemType::kFloat16:
      scaled_broadcast<<<grid, 256, 0, s>>>(static_cast<__half*>(y), static_cast<const __half*>(c), cs, beta, n);
      break;
    case ElemType::kBFloat16:
      scaled_broadcast<<<grid, 256, 0, s>>>(static_cast<__nv_bfloat16*>(y), static_cast<const __nv_bfloat16*>(c), cs,
                                            beta, n);
      break;
    default:
      scaled_broadcast<<<grid, 256, 0, s>>>(static_cast<float*>(y), static_cast<const float*>(c), cs, beta, n);
  }
}

}  // namespace dynrt::cuda
