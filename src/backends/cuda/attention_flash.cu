// Fused attention without the scores in memory (attention_launch.h): one
// block per (batch*head, 64 query rows), four warps of 16 rows each. Per key
// tile of 64: S = Q K^T on tensor cores (WMMA, float accumulation) into
// shared memory, then each warp updates its rows' running max and sum
// (online softmax, mask added on the way), writes P in 16 bits, rescales its
// rows of O and adds P V. Shared memory holds the Q, K and V tiles, S, P and
// O in float: (3 * 64 * d * 2 + 64 * 64 * 6 + 64 * d * 4) bytes.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>

#include <cmath>

#include "backends/cuda/attention_launch.h"
#include "backends/cuda/reduction_launch.h"

namespace dynrt::cuda {
namespace {

using namespace nvcuda;

constexpr int kRows = 64, kCols = 64, kWarps = 4, kThreads = kWarps * 32;

// One warp's all-reduce (reduction_launch.h): the max propagates NaN, like Softmax's.
__device__ __forceinline__ float warp_max(float v) { return dev::group_reduce<32>(v, dev::Max(), static_cast<float*>(nullptr)); }
__device__ __forceinline__ float warp_sum(float v) { return dev::group_reduce<32>(v, dev::Add(), static_cast<float*>(nullptr)); }

template <int D>
constexpr size_t smem_bytes(size_t elem) {
  return 3 * kRows * D * elem + kRows * kCols * sizeof(float) + kRows * kCols * elem + kRows * D * sizeof(float) +
         3 * kRows * sizeof(float);
}

template <class T, int D, bool BOOL_MASK>
__global__ void __launch_bounds__(kThreads) flash_attention(const T* __restrict__ q, const T* __restrict__ k,
                                                            const T* __restrict__ v, T* __restrict__ o, int64_t heads,
                                                            int64_t sq, int64_t skv, float scale, AttentionMask mask) {
  extern __shared__ __align__(128) unsigned char smem[];
  T* sQ = reinterpret_cast<T*>(smem);
  T* sK = sQ + kRows * D;
  T* sV = sK + kCols * D;
  float* sS = reinterpret_cast<float*>(sV + kCols * D);
  T* sP = reinterpret_cast<T*>(sS + kRows * kCols);
  float* sO = reinterpret_cast<float*>(sP + kRows * kCols);
  float* row_max = sO + kRows * D;
  float* row_sum = row_max + kRows;
  float* row_alpha = row_sum + kRows;

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int64_t bh = blockIdx.x, b = bh / heads, h = bh % heads, q0 = static_cast<int64_t>(blockIdx.y) * kRows;
  q += bh * sq * D;
  k += bh * skv * D;
  v += bh * skv * D;
  o += bh * sq * D;

  for (int i = tid; i < kRows * D; i += kThreads) {
    const int64_t r = q0 + i / D;
    sQ[i] = r < sq ? q[r * D + i % D] : T(0.f);
    sO[i] = 0.f;
  }
  for (int r = tid; r < kRows; r += kThreads) {
    row_max[r] = -INFINITY;
    row_sum[r] = 0.f;
  }
  const int r0 = warp * 16;  // this warp's rows
  for (int64_t kv0 = 0; kv0 < skv; kv0 += kCols) {
    __syncthreads();  // the previous tile's K and V are no longer read
    for (int i = tid; i < kCols * D; i += kThreads) {
      const int64_t r = kv0 + i / D;
      sK[i] = r < skv ? k[r * D + i % D] : T(0.f);
      sV[i] = r < skv ? v[r * D + i % D] : T(0.f);
    }
    __syncthreads();
    // S[r0.., :] = Q K^T (unscaled)
    for (int ct = 0; ct < kCols / 16; ++ct) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
      for (int kk = 0; kk < D; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> bt;  // K^T: K's rows as columns
        wmma::load_matrix_sync(a, sQ + r0 * D + kk, D);
        wmma::load_matrix_sync(bt, sK + ct * 16 * D + kk, D);
        wmma::mma_sync(acc, a, bt, acc);
      }
      wmma::store_matrix_sync(sS + r0 * kCols + ct * 16, acc, kCols, wmma::mem_row_major);
    }
    __syncwarp();
    // Online softmax over this tile, row by row (a lane per two columns).
    for (int r = r0; r < r0 + 16; ++r) {
      const int64_t qrow = q0 + r;
      float s[2];
      for (int c = 0; c < 2; ++c) {
        const int col = lane + 32 * c;
        const int64_t key = kv0 + col;
        float x = -INFINITY;
        if (qrow < sq && key < skv) {
          x = sS[r * kCols + col] * scale;
          if (mask.data) {
            const int64_t at = b * mask.strides[0] + h * mask.strides[1] + qrow * mask.strides[2] + key * mask.strides[3];
            if constexpr (BOOL_MASK) {
              if (!static_cast<const bool*>(mask.data)[at]) x = -INFINITY;
            } else {
              x += static_cast<float>(static_cast<const T*>(mask.data)[at]);
            }
          }
        }
        s[c] = x;
      }
      const float m_old = row_max[r], m_new = fmaxf(m_old, warp_max(fmaxf(s[0], s[1])));
      const float p0 = m_new == -INFINITY ? 0.f : __expf(s[0] - m_new);
      const float p1 = m_new == -INFINITY ? 0.f : __expf(s[1] - m_new);
      const float alpha = m_new == -INFINITY ? 1.f : m_old == -INFINITY ? 0.f : __expf(m_old - m_new);
      const float sum = warp_sum(p0 + p1);
      sP[r * kCols + lane] = T(p0);
      sP[r * kCols + lane + 32] = T(p1);
      if (lane == 0) {
        row_sum[r] = row_sum[r] * alpha + sum;
        row_max[r] = m_new;
        row_alpha[r] = alpha;
      }
    }
    __syncwarp();
    for (int i = lane; i < 16 * D; i += 32) sO[r0 * D + i] *= row_alpha[r0 + i / D];
    __syncwarp();
    // O[r0.., :] += P V
    for (int ct = 0; ct < D / 16; ++ct) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::load_matrix_sync(acc, sO + r0 * D + ct * 16, D, wmma::mem_row_major);
      for (int kk = 0; kk < kCols; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> bv;
        wmma::load_matrix_sync(a, sP + r0 * kCols + kk, kCols);
        wmma::load_matrix_sync(bv, sV + kk * D + ct * 16, D);
        wmma::mma_sync(acc, a, bv, acc);
      }
      wmma::store_matrix_sync(sO + r0 * D + ct * 16, acc, D, wmma::mem_row_major);
    }
  }
  __syncwarp();
  for (int i = lane; i < 16 * D; i += 32) {
    const int r = r0 + i / D;
    const int64_t qrow = q0 + r;
    if (qrow >= sq) continue;
    const float l = row_sum[r];
    o[qrow * D + i % D] = T(l > 0.f ? sO[r * D + i % D] / l : 0.f);  // a fully masked row gives 0
  }
}

template <class T, int D>
bool go(const void* q, const void* k, const void* v, void* o, int64_t bh, int64_t heads, int64_t sq, int64_t skv,
        float scale, const AttentionMask& mask, cudaStream_t s) {
  const size_t bytes = smem_bytes<D>(sizeof(T));
  auto kernel = mask.is_bool ? flash_attention<T, D, true> : flash_attention<T, D, false>;
  // More than 48 KB of shared memory needs the opt-in, once per kernel.
  auto opt_in = [&](auto fn) {
    bool ok = cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)) == cudaSuccess;
    if (!ok) cudaGetLastError();
    return ok;
  };
  static const bool ready_bool = opt_in(flash_attention<T, D, true>);
  static const bool ready_add = opt_in(flash_attention<T, D, false>);
  if (!(mask.is_bool ? ready_bool : ready_add)) return false;
  const dim3 grid(static_cast<unsigned>(bh), static_cast<unsigned>((sq + kRows - 1) / kRows));
  kernel<<<grid, kThreads, bytes, s>>>(static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v),
                                       static_cast<T*>(o), heads, sq, skv, scale, mask);
  return true;
}

template <class T>
bool by_dim(int64_t d, const void* q, const void* k, const void* v, void* o, int64_t bh, int64_t heads, int64_t sq,
            int64_t skv, float scale, const AttentionMask& mask, cudaStream_t s) {
  switch (d) {
    case 32: return go<T, 32>(q, k, v, o, bh, heads, sq, skv, scale, mask, s);
    case 64: return go<T, 64>(q, k, v, o, bh, heads, sq, skv, scale, mask, s);
    case 128: return go<T, 128>(q, k, v, o, bh, heads, sq, skv, scale, mask, s);
    default: return false;
  }
}

}  // namespace

bool launch_flash_attention(ElemType t, const void* q, const void* k, const void* v, void* o, int64_t bh,
                            int64_t heads, int64_t seq_q, int64_t seq_kv, int64_t d, float scale,
                            const AttentionMask& mask, cudaStream_t s) {
  if (bh <= 0 || bh > 0x7fffffff || seq_q <= 0 || (seq_q + kRows - 1) / kRows > 65535 || seq_kv <= 0) return false;
  if (t == ElemType::kFloat16) return by_dim<__half>(d, q, k, v, o, bh, heads, seq_q, seq_kv, scale, mask, s);
  if (t == ElemType::kBFloat16) return by_dim<__nv_bfloat16>(d, q, k, v, o, bh, heads, seq_q, seq_kv, scale, mask, s);
  return false;
}

}  // namespace dynrt::cuda
