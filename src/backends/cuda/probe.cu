// A trivial kernel whose image tells whether this build has machine code (or
// PTX) the GPU can run.
#include <cuda_runtime.h>

namespace dynrt::cuda {

__global__ void probe_kernel(int* p) {
  if (p) *p = 1;
}

cudaError_t probe_kernel_image() {
  cudaFuncAttributes attrs;
  return cudaFuncGetAttributes(&attrs, probe_kernel);
}

}  // namespace dynrt::cuda
