// Device code of the windowed pools and BatchNormalization: a thread per
// output element, with the CPU kernel's (ONNX Runtime's) edge rules for
// ceil_mode windows and count_include_pad divisors.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>

#include "backends/cuda/pooling_launch.h"
#include "backends/cuda/reduction_launch.h"

namespace dynrt::cuda {
namespace {

using namespace dev;

__device__ inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

// Taps of axis a that fall inside the input, [lo, hi), for the window of
// output index o starting at input position `start` (may be negative).
__device__ inline void tap_range(const PoolGeom& g, int a, int64_t o, int64_t& start, int64_t& lo, int64_t& hi) {
  start = o * g.s[a] - g.pb[a];
  lo = start >= 0 ? 0 : (-start + g.d[a] - 1) / g.d[a];
  int64_t last = g.in[a] - 1 - start;  // largest valid tap offset
  hi = last < 0 ? 0 : imin(g.k[a], last / g.d[a] + 1);
  if (hi < lo) hi = lo;
}

// Taps that count_include_pad counts: those before the end of the end pad
// (a ceil_mode window may reach past it).
__device__ inline int64_t padded_taps(const PoolGeom& g, int a, int64_t start) {
  int64_t limit = g.in[a] + g.pe[a] - start;
  if (limit <= 0) return 0;
  return imin(g.k[a], (limit - 1) / g.d[a] + 1);
}

template <PoolKind K, class T>
__global__ void __launch_bounds__(kBlock) pool(const T* x, T* y, PoolGeom g) {
  const int64_t out_plane = g.out[0] * g.out[1] * g.out[2], in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t total = g.planes * out_plane;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t r = t;
    const int64_t o2 = r % g.out[2];
    r /= g.out[2];
    const int64_t o1 = r % g.out[1];
    r /= g.out[1];
    const int64_t o0 = r % g.out[0];
    const int64_t plane = r / g.out[0];
    int64_t s0, lo0, hi0, s1, lo1, hi1, s2, lo2, hi2;
    tap_range(g, 0, o0, s0, lo0, hi0);
    tap_range(g, 1, o1, s1, lo1, hi1);
    tap_range(g, 2, o2, s2, lo2, hi2);
    const T* xp = x + plane * in_plane;
    float acc = K == PoolKind::kMax ? -INFINITY : 0.f;
    for (int64_t t0 = lo0; t0 < hi0; ++t0) {
      const T* r0 = xp + (s0 + t0 * g.d[0]) * g.in[1] * g.in[2];
      for (int64_t t1 = lo1; t1 < hi1; ++t1) {
        const T* r1 = r0 + (s1 + t1 * g.d[1]) * g.in[2] + s2;
        for (int64_t t2 = lo2; t2 < hi2; ++t2) {
          float v = static_cast<float>(r1[t2 * g.d[2]]);
          if constexpr (K == PoolKind::kMax) acc = Max()(acc, v);
          else if constexpr (K == PoolKind::kAvg) acc += v;
          else acc += powf(fabsf(v), g.p);
        }
      }
    }
    if constexpr (K == PoolKind::kAvg) {
      int64_t cnt = g.count_include_pad ? padded_taps(g, 0, s0) * padded_taps(g, 1, s1) * padded_taps(g, 2, s2)
                                        : (hi0 - lo0) * (hi1 - lo1) * (hi2 - lo2);
      acc = cnt > 0 ? acc / static_cast<float>(cnt) : 0.f;
    } else if constexpr (K == PoolKind::kLp) {
      acc = powf(acc, 1.f / g.p);
    }
    y[t] = T(acc);
  }
}

template <class T>
void pool_typed(const void* xv, void* yv, const PoolGeom& g, cudaStream_t s) {
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  unsigned grid = grid_for(g.planes * g.out[0] * g.out[1] * g.out[2], kBlock);
  switch (g.kind) {
    case PoolKind::kMax: pool<PoolKind::kMax, T><<<grid, kBlock, 0, s>>>(x, y, g); return;
    case PoolKind::kAvg: pool<PoolKind::kAvg, T><<<grid, kBlock, 0, s>>>(x, y, g); return;
    case PoolKind::kLp: pool<PoolKind::kLp, T><<<grid, kBlock, 0, s>>>(x, y, g); return;
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) batch_norm(const T* x, const T* scale, const T* bias, const T* mean,
                                                     const T* var, T* y, int64_t total, int64_t channels,
                                                     int64_t inner, float eps) {
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = (t / inner) % channels;
    float a = static_cast<float>(scale[c]) / sqrtf(static_cast<float>(var[c]) + eps);
    float b = static_cast<float>(bias[c]) - static_cast<float>(mean[c]) * a;
    y[t] = T(static_cast<float>(x[t]) * a + b);
  }
}

template <class T>
void batch_norm_typed(const void* x, const void* scale, const void* bias, const void* mean, const void* var, void* y,
                      int64_t total, int64_t channels, int64_t inner, float eps, cudaStream_t s) {
  batch_norm<T><<<grid_for(total, kBlock), kBlock, 0, s>>>(
      static_cast<const T*>(x), static_cast<const T*>(scale), static_cast<const T*>(bias), static_cast<const T*>(mean),
      static_cast<const T*>(var), static_cast<T*>(y), total, channels, inner, eps);
}

}  // namespace

void launch_pool(ElemType t, const void* x, void* y, const PoolGeom& g, cudaStream_t s) {
  if (g.planes * g.out[0] * g.out[1] * g.out[2] <= 0) return;
  switch (t) {
    case ElemType::kFloat32: return pool_typed<float>(x, y, g, s);
    case ElemType::kFloat16: return pool_typed<__half>(x, y, g, s);
    case ElemType::kBFloat16: return pool_typed<__nv_bfloat16>(x, y, g, s);
    default: return;
  }
}

void launch_batch_norm(ElemType t, const void* x, const void* scale, const void* bias, const void* mean,
                       const void* var, void* y, int64_t total, int64_t channels, int64_t inner, float epsilon,
                       cudaStream_t s) {
  if (total <= 0 || channels <= 0 || inner <= 0) return;
  switch (t) {
    case ElemType::kFloat32: return batch_norm_typed<float>(x, scale, bias, mean, var, y, total, channels, inner, epsilon, s);
    case ElemType::kFloat16: return batch_norm_typed<__half>(x, scale, bias, mean, var, y, total, channels, inner, epsilon, s);
    case ElemType::kBFloat16:
      return batch_norm_typed<__nv_bfloat16>(x, scale, bias, mean, var, y, total, channels, inner, epsilon, s);
    default: return;
  }
}

}  // namespace dynrt::cuda
