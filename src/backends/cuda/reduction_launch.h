// Launchers of the reduction family's device code (reduction.cu): Reduce*,
// ArgMax/ArgMin, and the global pools (a Reduce over each plane). Plain C++
// signatures so the host side needs no CUDA compiler; the #ifdef __CUDACC__
// part holds the group reductions the family's .cu files share.
#pragma once

#include <cstdint>
#include <cuda_runtime.h>

#include "backends/cuda/device_shape.h"

namespace dynrt::cuda {

enum class ReduceOp : int32_t { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kSumSquare, kLogSum, kLogSumExp, kLp };

// A reduction in canonical form: output o reads the input at
// offset(o over kept dims) + offset(r over reduced dims) for r in
// [0, red_count). Output elements are in row-major order over the kept dims.
// inner_red: the innermost (stride-1) dim is reduced, so each output reads
// contiguous runs (one thread group per output); else consecutive outputs
// are consecutive in memory (one thread per output).
struct ReducePlan {
  int64_t out_count = 0;
  int64_t red_count = 0;  // 0: the input is empty, every output is the identity
  bool inner_red = true;
  int nk = 0;
  int64_t kdims[kMaxDims] = {}, kstrides[kMaxDims] = {};
  int nr = 0;
  int64_t rdims[kMaxDims] = {}, rstrides[kMaxDims] = {};
  float p = 2.f;  // kLp: (sum |x|^p)^(1/p)
};

void launch_reduce(ReduceOp op, ElemType t, const void* x, void* y, const ReducePlan& plan, cudaStream_t s);

// ArgMax/ArgMin over the middle dim of x viewed as [outer, n, inner] (n > 0).
void launch_arg_reduce(bool is_max, bool select_last, ElemType t, const void* x, int64_t* y, int64_t outer, int64_t n,
                       int64_t inner, cudaStream_t s);

}  // namespace dynrt::cuda

#ifdef __CUDACC__
namespace dynrt::cuda::dev {

constexpr int kBlock = 256;
constexpr int64_t kMaxGrid = 65535 * 4;

inline unsigned grid_for(int64_t items, int64_t per_block) {
  int64_t g = (items + per_block - 1) / per_block;
  return static_cast<unsigned>(g < 1 ? 1 : g > kMaxGrid ? kMaxGrid : g);
}

struct Add {
  template <class V>
  __device__ V operator()(V a, V b) const { return a + b; }
};
struct Mul {
  __device__ float operator()(float a, float b) const { return a * b; }
};
// Max/Min propagate NaN (whichever side it is on).
struct Max {
  __device__ float operator()(float a, float b) const { return (a > b || a != a) ? a : b; }
};
struct Min {
  __device__ float operator()(float a, float b) const { return (a < b || a != a) ? a : b; }
};
struct MinIndex {
  __device__ long long operator()(long long a, long long b) const { return a < b ? a : b; }
};

// All-reduce over a group of G threads, the result in every thread: G = 32 is
// one warp, G > 32 is the whole block (blockDim.x == G, smem >= G / 32
// entries; every thread of the block must call it).
template <int G, class V, class F>
__device__ V group_reduce(V v, F f, V* smem) {
  for (int m = 16; m > 0; m >>= 1) v = f(v, __shfl_xor_sync(0xffffffffu, v, m));
  if constexpr (G > 32) {
    __syncthreads();  // smem may still be read from the previous call
    if (threadIdx.x % 32 == 0) smem[threadIdx.x / 32] = v;
    __syncthreads();
    v = smem[0];
    for (int i = 1; i < G / 32; ++i) v = f(v, smem[i]);
  }
  return v;
}

}  // namespace dynrt::cuda::dev
#endif
