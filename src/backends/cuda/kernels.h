// The CUDA provider's kernel families; each registers its ops with the
// capability checks that keep unsupported nodes on the CPU.
#pragma once

#include "backends/kernel.h"

namespace dynrt::cuda {

void register_elementwise_kernels(KernelRegistry& r);  // elementwise.cpp: unary, binary, Where, Cast, Expand
void register_movement_kernels(KernelRegistry& r);     // movement.cpp: views, Transpose, Concat, Slice, Gather, ...
void register_reduction_kernels(KernelRegistry& r);    // reduction.cpp: Reduce*, ArgMax, ArgMin
void register_normalization_kernels(KernelRegistry& r);  // normalization.cpp: Softmax, LayerNorm, RMSNorm, Group/InstanceNorm
void register_pooling_kernels(KernelRegistry& r);       // pooling.cpp: pools, global pools, BatchNormalization
void register_linalg_kernels(KernelRegistry& r);       // linalg.cpp: MatMul, Gemm (cuBLASLt)
void register_conv_kernels(KernelRegistry& r);         // conv.cpp: Conv (cuDNN)
void register_attention_kernels(KernelRegistry& r);    // attention.cpp: Attention (cuBLASLt + a softmax pass)

}  // namespace dynrt::cuda
