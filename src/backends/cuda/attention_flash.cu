// Fused attention that keeps the scores on chip (attention_launch.h), in the
// manner of FlashAttention-2: one block of four warps per (batch, head, 64
// query rows); each warp owns 16 rows. Q stays in registers as mma.sync
// operands; per tile of 64 keys, K and V are staged in shared memory
// (cp.async, double-buffered), S = Q K^T is computed into registers, the
// online softmax runs on those registers (exp2 with log2(e) folded into the
// scale), P is repacked in registers as the A operand of P V, and O
// accumulates in registers. The scores never leave the SM.
//
// Operands are strided (batch, head, sequence; head_dim contiguous), so the
// kernel reads Q/K/V as [B, S, H, D] straight from the projections and
// writes O the same way: the transposes around attention disappear.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>

#include "backends/cuda/attention_launch.h"

namespace dynrt::cuda {
namespace {

constexpr int kRows = 64, kKeys = 64, kWarps = 4, kThreads = kWarps * 32;
constexpr float kLog2e = 1.4426950408889634f;

template <int D>
constexpr int kPitch = D + 8;  // shared-memory row pitch in elements: conflict-free fragment reads, 16-byte rows

template <int D>
constexpr size_t smem_bytes() {
  return 2 /*K, V*/ * 2 /*buffers*/ * kKeys * kPitch<D> * sizeof(uint16_t);
}

template <class T>
__device__ __forceinline__ uint32_t pack(float lo, float hi);
template <>
__device__ __forceinline__ uint32_t pack<__half>(float lo, float hi) {
  __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&h);
}
template <>
__device__ __forceinline__ uint32_t pack<__nv_bfloat16>(float lo, float hi) {
  __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&h);
}

template <class T>
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same_v<T, __half>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

// Four 8x8 16-bit matrices, transposed: the B operands of two n-tiles of P V.
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* smem_row) {
  const auto addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem_row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

__device__ __forceinline__ void cp_async16(void* smem, const void* global) {
  const auto addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(addr), "l"(global));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// One tile of 64 rows of K or V (rows past the end are zero) into shared memory.
template <class T, int D>
__device__ __forceinline__ void load_tile(T* dst, const T* src, int64_t row_stride, int64_t row0, int64_t rows,
                                          bool vec) {
  constexpr int kChunks = D / 8;  // 16-byte pieces per row
  for (int i = threadIdx.x; i < kKeys * kChunks; i += kThreads) {
    const int r = i / kChunks, c = (i % kChunks) * 8;
    T* d = dst + r * kPitch<D> + c;
    if (row0 + r >= rows) {
      *reinterpret_cast<uint4*>(d) = make_uint4(0, 0, 0, 0);
    } else if (vec) {
      cp_async16(d, src + (row0 + r) * row_stride + c);
    } else {
      for (int j = 0; j < 8; ++j) d[j] = src[(row0 + r) * row_stride + c + j];
    }
  }
}

template <class T, int D, bool BOOL_MASK>
__global__ void __launch_bounds__(kThreads) flash_attention(FlashArgs a, int64_t q_tiles, float scale_log2,
                                                            bool vec) {
  extern __shared__ __align__(16) unsigned char smem[];
  T* sK = reinterpret_cast<T*>(smem);               // [2][kKeys][pitch]
  T* sV = sK + 2 * kKeys * kPitch<D>;               // [2][kKeys][pitch]

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, g = lane / 4, t = lane % 4;
  const int64_t tile = blockIdx.x % q_tiles, bh = blockIdx.x / q_tiles, b = bh / a.heads, h = bh % a.heads;
  const T* q = static_cast<const T*>(a.q) + b * a.q_stride[0] + h * a.q_stride[1];
  const T* k = static_cast<const T*>(a.k) + b * a.k_stride[0] + h * a.k_stride[1];
  const T* v = static_cast<const T*>(a.v) + b * a.v_stride[0] + h * a.v_stride[1];
  T* o = static_cast<T*>(a.o) + b * a.o_stride[0] + h * a.o_stride[1];
  const int64_t row_a = tile * kRows + warp * 16 + g, row_b = row_a + 8;  // this thread's two query rows

  // Q as A operands, one per 16 columns of the head.
  uint32_t qf[D / 16][4];
  #pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    const int c = kk * 16 + 2 * t;
    auto at = [&](int64_t r, int col) -> uint32_t {
      return r < a.seq_q ? *reinterpret_cast<const uint32_t*>(q + r * a.q_stride[2] + col) : 0u;
    };
    qf[kk][0] = at(row_a, c);
    qf[kk][1] = at(row_b, c);
    qf[kk][2] = at(row_a, c + 8);
    qf[kk][3] = at(row_b, c + 8);
  }

  float acc[D / 8][4] = {};                                  // O: per 8 columns, rows (a, a, b, b)
  float m_a = -INFINITY, m_b = -INFINITY, l_a = 0.f, l_b = 0.f;  // running max (log2 units), partial sums

  const int64_t tiles = (a.seq_kv + kKeys - 1) / kKeys;
  load_tile<T, D>(sK, k, a.k_stride[2], 0, a.seq_kv, vec);
  load_tile<T, D>(sV, v, a.v_stride[2], 0, a.seq_kv, vec);
  cp_async_commit();
  for (int64_t it = 0; it < tiles; ++it) {
    const int buf = static_cast<int>(it & 1);
    if (it + 1 < tiles) {  // the next tile loads while this one computes
      load_tile<T, D>(sK + (buf ^ 1) * kKeys * kPitch<D>, k, a.k_stride[2], (it + 1) * kKeys, a.seq_kv, vec);
      load_tile<T, D>(sV + (buf ^ 1) * kKeys * kPitch<D>, v, a.v_stride[2], (it + 1) * kKeys, a.seq_kv, vec);
    }
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const T* tK = sK + buf * kKeys * kPitch<D>;
    const T* tV = sV + buf * kKeys * kPitch<D>;

    // S = Q K^T: 8 n-tiles of 8 keys.
    float s[kKeys / 8][4];
    #pragma unroll
    for (int n = 0; n < kKeys / 8; ++n) {
      s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
      const T* krow = tK + (n * 8 + g) * kPitch<D> + 2 * t;
      #pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        const uint32_t b0 = *reinterpret_cast<const uint32_t*>(krow + kk * 16);
        const uint32_t b1 = *reinterpret_cast<const uint32_t*>(krow + kk * 16 + 8);
        mma<T>(s[n], qf[kk], b0, b1);
      }
    }
    // Scale, mask, and the tile's row maxima.
    const int64_t key0 = it * kKeys;
    float tmax_a = -INFINITY, tmax_b = -INFINITY;
    #pragma unroll
    for (int n = 0; n < kKeys / 8; ++n)
      #pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t key = key0 + n * 8 + 2 * t + (e & 1), row = e < 2 ? row_a : row_b;
        float x = s[n][e] * scale_log2;
        if (key >= a.seq_kv) {
          x = -INFINITY;
        } else if (a.mask.data && row < a.seq_q) {
          const int64_t at = b * a.mask.strides[0] + h * a.mask.strides[1] + row * a.mask.strides[2] +
                             key * a.mask.strides[3];
          if constexpr (BOOL_MASK) {
            if (!static_cast<const bool*>(a.mask.data)[at]) x = -INFINITY;
          } else {
            x += static_cast<float>(static_cast<const T*>(a.mask.data)[at]) * kLog2e;
          }
        }
        s[n][e] = x;
        if (e < 2) tmax_a = fmaxf(tmax_a, x);
        else tmax_b = fmaxf(tmax_b, x);
      }
    // A row lives on the four threads of a quad.
    tmax_a = fmaxf(tmax_a, __shfl_xor_sync(0xffffffffu, tmax_a, 1));
    tmax_a = fmaxf(tmax_a, __shfl_xor_sync(0xffffffffu, tmax_a, 2));
    tmax_b = fmaxf(tmax_b, __shfl_xor_sync(0xffffffffu, tmax_b, 1));
    tmax_b = fmaxf(tmax_b, __shfl_xor_sync(0xffffffffu, tmax_b, 2));
    const float new_a = fmaxf(m_a, tmax_a), new_b = fmaxf(m_b, tmax_b);
    // A row with nothing unmasked yet keeps max -inf: its p are 0, not NaN.
    const float alpha_a = new_a == -INFINITY ? 1.f : exp2f(m_a - new_a);
    const float alpha_b = new_b == -INFINITY ? 1.f : exp2f(m_b - new_b);
    const float base_a = new_a == -INFINITY ? 0.f : new_a, base_b = new_b == -INFINITY ? 0.f : new_b;
    m_a = new_a;
    m_b = new_b;
    l_a *= alpha_a;
    l_b *= alpha_b;
    #pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      acc[n][0] *= alpha_a;
      acc[n][1] *= alpha_a;
      acc[n][2] *= alpha_b;
      acc[n][3] *= alpha_b;
    }
    #pragma unroll
    for (int n = 0; n < kKeys / 8; ++n) {
      s[n][0] = exp2f(s[n][0] - base_a);
      s[n][1] = exp2f(s[n][1] - base_a);
      s[n][2] = exp2f(s[n][2] - base_b);
      s[n][3] = exp2f(s[n][3] - base_b);
      l_a += s[n][0] + s[n][1];
      l_b += s[n][2] + s[n][3];
    }
    // O += P V: P's accumulators are, two n-tiles at a time, the A operand.
    #pragma unroll
    for (int kt = 0; kt < kKeys / 16; ++kt) {
      const uint32_t p[4] = {pack<T>(s[2 * kt][0], s[2 * kt][1]), pack<T>(s[2 * kt][2], s[2 * kt][3]),
                             pack<T>(s[2 * kt + 1][0], s[2 * kt + 1][1]), pack<T>(s[2 * kt + 1][2], s[2 * kt + 1][3])};
      const T* vrow = tV + (kt * 16 + (lane & 15)) * kPitch<D> + (lane >> 4) * 8;
      #pragma unroll
      for (int dt = 0; dt < D / 16; ++dt) {
        uint32_t bv[4];
        ldmatrix_x4_trans(bv, vrow + dt * 16);
        mma<T>(acc[2 * dt], p, bv[0], bv[1]);
        mma<T>(acc[2 * dt + 1], p, bv[2], bv[3]);
      }
    }
    __syncthreads();  // this buffer is refilled two tiles on
  }
  cp_async_wait<0>();

  l_a += __shfl_xor_sync(0xffffffffu, l_a, 1);
  l_a += __shfl_xor_sync(0xffffffffu, l_a, 2);
  l_b += __shfl_xor_sync(0xffffffffu, l_b, 1);
  l_b += __shfl_xor_sync(0xffffffffu, l_b, 2);
  const float inv_a = l_a > 0.f ? 1.f / l_a : 0.f, inv_b = l_b > 0.f ? 1.f / l_b : 0.f;  // fully masked: 0
  #pragma unroll
  for (int n = 0; n < D / 8; ++n) {
    const int c = n * 8 + 2 * t;
    if (row_a < a.seq_q)
      *reinterpret_cast<uint32_t*>(o + row_a * a.o_stride[2] + c) = pack<T>(acc[n][0] * inv_a, acc[n][1] * inv_a);
    if (row_b < a.seq_q)
      *reinterpret_cast<uint32_t*>(o + row_b * a.o_stride[2] + c) = pack<T>(acc[n][2] * inv_b, acc[n][3] * inv_b);
  }
}

template <class T, int D>
bool go(const FlashArgs& a, cudaStream_t s) {
  constexpr size_t bytes = smem_bytes<D>();
  // More than 48 KB of shared memory needs the opt-in, once per kernel.
  auto opt_in = [](auto fn) {
    bool ok = cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)) == cudaSuccess;
    if (!ok) cudaGetLastError();
    return ok;
  };
  static const bool ready = opt_in(flash_attention<T, D, true>) && opt_in(flash_attention<T, D, false>);
  if (!ready) return false;
  const int64_t q_tiles = (a.seq_q + kRows - 1) / kRows, blocks = a.batch * a.heads * q_tiles;
  if (blocks <= 0 || blocks > 0x7fffffff) return false;
  // cp.async moves 16 bytes: K and V rows must start 16-byte aligned.
  auto aligned = [](const void* p, int64_t stride) {
    return reinterpret_cast<uintptr_t>(p) % 16 == 0 && stride % 8 == 0;
  };
  const bool vec = aligned(a.k, a.k_stride[0]) && aligned(a.k, a.k_stride[1]) && aligned(a.k, a.k_stride[2]) &&
                   aligned(a.v, a.v_stride[0]) && aligned(a.v, a.v_stride[1]) && aligned(a.v, a.v_stride[2]);
  auto kernel = a.mask.is_bool ? flash_attention<T, D, true> : flash_attention<T, D, false>;
  kernel<<<static_cast<unsigned>(blocks), kThreads, bytes, s>>>(a, q_tiles, a.scale * kLog2e, vec);
  return true;
}

template <class T>
bool by_dim(const FlashArgs& a, cudaStream_t s) {
  switch (a.head_dim) {
    case 32: return go<T, 32>(a, s);
    case 64: return go<T, 64>(a, s);
    case 128: return go<T, 128>(a, s);
    default: return false;
  }
}

}  // namespace

bool launch_flash_attention(ElemType t, const FlashArgs& a, cudaStream_t s) {
  if (a.seq_q <= 0 || a.seq_kv <= 0 || a.batch <= 0 || a.heads <= 0) return false;
  // Q and O are read and written two elements at a time.
  if (reinterpret_cast<uintptr_t>(a.q) % 4 || reinterpret_cast<uintptr_t>(a.o) % 4) return false;
  for (int i = 0; i < 3; ++i)
    if (a.q_stride[i] % 2 || a.o_stride[i] % 2) return false;
  if (t == ElemType::kFloat16) return by_dim<__half>(a, s);
  if (t == ElemType::kBFloat16) return by_dim<__nv_bfloat16>(a, s);
  return false;
}

}  // namespace dynrt::cuda
