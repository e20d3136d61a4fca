// Device code of Softmax/LogSoftmax/Hardmax and the row normalizations.
// Elements are read as T (float, __half, __nv_bfloat16), math is in float.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>

#include "backends/cuda/normalization_launch.h"
#include "backends/cuda/reduction_launch.h"

namespace dynrt::cuda {
namespace {

using namespace dev;

// ---- Softmax family ---------------------------------------------------------

// inner == 1: a group of G threads per contiguous row (max, sum, write).
template <SoftmaxMode M, class T, int G>
__global__ void __launch_bounds__(kBlock) softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  __shared__ float sm[kBlock / 32];
  __shared__ long long smi[kBlock / 32];
  constexpr int kPer = kBlock / G;
  const int lane = static_cast<int>(threadIdx.x) % G;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kPer + threadIdx.x / G; r < rows;
       r += static_cast<int64_t>(gridDim.x) * kPer) {
    const T* p = x + r * n;
    T* q = y + r * n;
    float m = -INFINITY;
    for (int64_t i = lane; i < n; i += G) m = Max()(m, static_cast<float>(p[i]));
    m = group_reduce<G>(m, Max(), sm);
    if constexpr (M == SoftmaxMode::kHardmax) {
      long long idx = n;  // the first position holding the max
      for (long long i = lane; i < n; i += G)
        if (static_cast<float>(p[i]) == m) {
          idx = i;
          break;
        }
      idx = group_reduce<G>(idx, MinIndex(), smi);
      if (idx == n) idx = 0;  // no element equals the max (NaN)
      for (long long i = lane; i < n; i += G) q[i] = T(i == idx ? 1.f : 0.f);
    } else {
      float s = 0.f;
      for (int64_t i = lane; i < n; i += G) s += expf(static_cast<float>(p[i]) - m);
      s = group_reduce<G>(s, Add(), sm);
      if constexpr (M == SoftmaxMode::kSoftmax) {
        float inv = 1.f / s;
        for (int64_t i = lane; i < n; i += G) q[i] = T(expf(static_cast<float>(p[i]) - m) * inv);
      } else {
        float l = m + logf(s);
        for (int64_t i = lane; i < n; i += G) q[i] = T(static_cast<float>(p[i]) - l);
      }
    }
  }
}

// inner > 1: a thread per (outer, inner) lane walking the axis (stride inner).
template <SoftmaxMode M, class T>
__global__ void __launch_bounds__(kBlock) softmax_cols(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  const int64_t total = outer * inner;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t off = (t / inner) * n * inner + t % inner;
    const T* p = x + off;
    T* q = y + off;
    float m = -INFINITY;
    for (int64_t k = 0; k < n; ++k) m = Max()(m, static_cast<float>(p[k * inner]));
    if constexpr (M == SoftmaxMode::kHardmax) {
      bool seen = false;
      for (int64_t k = 0; k < n; ++k) {
        bool hit = !seen && static_cast<float>(p[k * inner]) == m;
        q[k * inner] = T(hit ? 1.f : 0.f);
        seen = seen || hit;
      }
      if (!seen) q[0] = T(1.f);
    } else {
      float s = 0.f;
      for (int64_t k = 0; k < n; ++k) s += expf(static_cast<float>(p[k * inner]) - m);
      if constexpr (M == SoftmaxMode::kSoftmax) {
        float inv = 1.f / s;
        for (int64_t k = 0; k < n; ++k) q[k * inner] = T(expf(static_cast<float>(p[k * inner]) - m) * inv);
      } else {
        float l = m + logf(s);
        for (int64_t k = 0; k < n; ++k) q[k * inner] = T(static_cast<float>(p[k * inner]) - l);
      }
    }
  }
}

template <SoftmaxMode M, class T>
void softmax_typed(const void* xv, void* yv, int64_t outer, int64_t n, int64_t inner, cudaStream_t s) {
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  if (inner == 1) {
    if (n > 1024)
      softmax_rows<M, T, kBlock><<<grid_for(outer, 1), kBlock, 0, s>>>(x, y, outer, n);
    else
      softmax_rows<M, T, 32><<<grid_for(outer, kBlock / 32), kBlock, 0, s>>>(x, y, outer, n);
  } else {
    softmax_cols<M, T><<<grid_for(outer * inner, kBlock), kBlock, 0, s>>>(x, y, outer, n, inner);
  }
}

template <class T>
void softmax_mode(SoftmaxMode mode, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t s) {
  switch (mode) {
    case SoftmaxMode::kSoftmax: return softmax_typed<SoftmaxMode::kSoftmax, T>(x, y, outer, n, inner, s);
    case SoftmaxMode::kLogSoftmax: return softmax_typed<SoftmaxMode::kLogSoftmax, T>(x, y, outer, n, inner, s);
    case SoftmaxMode::kHardmax: return softmax_typed<SoftmaxMode::kHardmax, T>(x, y, outer, n, inner, s);
  }
}

// ---- Row normalizations -------------------------------------------------------

// A group of G threads per row: statistics in two passes over the row
// (mean, then the centered sum of squares), then the affine write.
template <class T, int G>
__global__ void __launch_bounds__(kBlock) row_norm(const T* x, const T* scale, const T* bias, T* y, float* mean_out,
                                                   float* inv_out, RowNorm p) {
  __shared__ float sm[kBlock / 32];
  constexpr int kPer = kBlock / G;
  const int lane = static_cast<int>(threadIdx.x) % G;
  const float n = static_cast<float>(p.n);
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kPer + threadIdx.x / G; r < p.rows;
       r += static_cast<int64_t>(gridDim.x) * kPer) {
    const T* a = x + r * p.n;
    T* q = y + r * p.n;
    float mean = 0.f, inv;
    if (p.rms) {
      float s = 0.f;
      for (int64_t i = lane; i < p.n; i += G) {
        float v = static_cast<float>(a[i]);
        s += v * v;
      }
      s = group_reduce<G>(s, Add(), sm);
      inv = 1.f / sqrtf(s / n + p.epsilon);
    } else {
      float s = 0.f;
      for (int64_t i = lane; i < p.n; i += G) s += static_cast<float>(a[i]);
      mean = group_reduce<G>(s, Add(), sm) / n;
      float v = 0.f;
      for (int64_t i = lane; i < p.n; i += G) {
        float d = static_cast<float>(a[i]) - mean;
        v += d * d;
      }
      v = group_reduce<G>(v, Add(), sm);
      inv = 1.f / sqrtf(v / n + p.epsilon);
    }
    if (lane == 0) {
      if (mean_out) mean_out[r] = mean;
      if (inv_out) inv_out[r] = inv;
    }
    const int64_t pbase = (r % p.groups) * p.group_mul;
    for (int64_t i = lane; i < p.n; i += G) {
      const int64_t j = p.span == 1 ? i : i / p.span;
      float v = (static_cast<float>(a[i]) - mean) * inv * static_cast<float>(scale[pbase + j % p.period]);
      if (bias) v += static_cast<float>(bias[pbase + j % p.bias_period]);
      q[i] = T(v);
    }
  }
}

// The common LayerNorm/RMSNorm (one scale and bias per row element, rows of
// at most 32 * PER * 16 bytes, 16-byte aligned): a warp per row holds the row
// in registers, read once with 16-byte loads. The general kernel above reads
// the row three times with scalar loads and 64-bit index math per element,
// which made a BERT-base LayerNorm six times slower than its memory traffic.
template <class T, int PER>
__global__ void __launch_bounds__(kBlock) row_norm_warp(const T* x, const T* scale, const T* bias, T* y,
                                                        float* mean_out, float* inv_out, RowNorm p) {
  constexpr int V = 16 / sizeof(T);  // elements per 16-byte vector
  union Vec {
    uint4 u;
    T e[V];
  };
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int nv = static_cast<int>(p.n / V);
  const float n = static_cast<float>(p.n);
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * (kBlock / 32) + threadIdx.x / 32; r < p.rows;
       r += static_cast<int64_t>(gridDim.x) * (kBlock / 32)) {
    const uint4* a = reinterpret_cast<const uint4*>(x + r * p.n);
    float v[PER][V];
    float s = 0.f;
    #pragma unroll
    for (int k = 0; k < PER; ++k) {
      const int i = lane + k * 32;
      Vec in;
      in.u = i < nv ? a[i] : make_uint4(0, 0, 0, 0);
      #pragma unroll
      for (int e = 0; e < V; ++e) {
        v[k][e] = static_cast<float>(in.e[e]);
        s += p.rms ? v[k][e] * v[k][e] : v[k][e];
      }
    }
    s = group_reduce<32>(s, Add(), static_cast<float*>(nullptr));
    float mean = 0.f, inv;
    if (p.rms) {
      inv = 1.f / sqrtf(s / n + p.epsilon);
    } else {
      mean = s / n;
      float d2 = 0.f;
      #pragma unroll
      for (int k = 0; k < PER; ++k)
        if (lane + k * 32 < nv)
          #pragma unroll
          for (int e = 0; e < V; ++e) d2 += (v[k][e] - mean) * (v[k][e] - mean);
      d2 = group_reduce<32>(d2, Add(), static_cast<float*>(nullptr));
      inv = 1.f / sqrtf(d2 / n + p.epsilon);
    }
    if (lane == 0) {
      if (mean_out) mean_out[r] = mean;
      if (inv_out) inv_out[r] = inv;
    }
    uint4* q = reinterpret_cast<uint4*>(y + r * p.n);
    #pragma unroll
    for (int k = 0; k < PER; ++k) {
      const int i = lane + k * 32;
      if (i >= nv) break;
      Vec g, b, out;
      g.u = reinterpret_cast<const uint4*>(scale)[i];
      if (bias) b.u = reinterpret_cast<const uint4*>(bias)[i];
      #pragma unroll
      for (int e = 0; e < V; ++e) {
        float o = (v[k][e] - mean) * inv * static_cast<float>(g.e[e]);
        if (bias) o += static_cast<float>(b.e[e]);
        out.e[e] = T(o);
      }
      q[i] = out.u;
    }
  }
}

template <class T>
bool row_norm_fast(const void* x, const void* scale, const void* bias, void* y, float* mean, float* inv,
                   const RowNorm& p, cudaStream_t s) {
  constexpr int64_t V = 16 / sizeof(T);
  auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
  if (p.groups != 1 || p.span != 1 || p.period != p.n || (bias && p.bias_period != p.n) || p.n % V != 0 ||
      !aligned(x) || !aligned(y) || !aligned(scale) || (bias && !aligned(bias)))
    return false;
  const int64_t per = (p.n / V + 31) / 32;  // vectors per lane
  auto go = [&](auto kernel) {
    kernel<<<grid_for(p.rows, kBlock / 32), kBlock, 0, s>>>(static_cast<const T*>(x), static_cast<const T*>(scale),
                                                           static_cast<const T*>(bias), static_cast<T*>(y), mean, inv,
                                                           p);
    return true;
  };
  if (per <= 1) return go(row_norm_warp<T, 1>);
  if (per <= 2) return go(row_norm_warp<T, 2>);
  if (per <= 4) return go(row_norm_warp<T, 4>);
  if (per <= 8) return go(row_norm_warp<T, 8>);
  return false;
}

template <class T>
void row_norm_typed(const void* x, const void* scale, const void* bias, void* y, float* mean, float* inv,
                    const RowNorm& p, cudaStream_t s) {
  auto args = [&](auto kernel, unsigned grid) {
    kernel<<<grid, kBlock, 0, s>>>(static_cast<const T*>(x), static_cast<const T*>(scale), static_cast<const T*>(bias),
                                   static_cast<T*>(y), mean, inv, p);
  };
  if (row_norm_fast<T>(x, scale, bias, y, mean, inv, p, s)) return;
  if (p.n > 1024) args(row_norm<T, kBlock>, grid_for(p.rows, 1));
  else args(row_norm<T, 32>, grid_for(p.rows, kBlock / 32));
}

}  // namespace

void launch_softmax(SoftmaxMode mode, ElemType t, const void* x, void* y, int64_t outer, int64_t n, int64_t inner,
                    cudaStream_t s) {
  if (outer * n * inner <= 0) return;
  switch (t) {
    case ElemType::kFloat32: return softmax_mode<float>(mode, x, y, outer, n, inner, s);
    case ElemType::kFloat16: return softmax_mode<__half>(mode, x, y, outer, n, inner, s);
    case ElemType::kBFloat16: return softmax_mode<__nv_bfloat16>(mode, x, y, outer, n, inner, s);
    default: return;
  }
}

void launch_row_norm(ElemType t, const void* x, const void* scale, const void* bias, void* y, float* mean,
                     float* inv_std, const RowNorm& p, cudaStream_t s) {
  if (p.rows <= 0 || p.n <= 0) return;
  switch (t) {
    case ElemType::kFloat32: return row_norm_typed<float>(x, scale, bias, y, mean, inv_std, p, s);
    case ElemType::kFloat16: return row_norm_typed<__half>(x, scale, bias, y, mean, inv_std, p, s);
    case ElemType::kBFloat16: return row_norm_typed<__nv_bfloat16>(x, scale, bias, y, mean, inv_std, p, s);
    default: return;
  }
}

}  // namespace dynrt::cuda
