// Fused attention that keeps the scores on chip (attention_launch.h), in the
// manner of FlashAttention-2: one block of four warps per (batch, head, 64
// or 128 query rows); each warp owns 16 or 32 rows. Q stays in registers as mma.sync
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
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <type_traits>

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

// A staged mask tile: kRows query rows of kKeys mask bytes, padded so that
// rows start 16-byte aligned and a warp's reads (8 rows x 4 key pairs) hit
// distinct banks.
template <class MaskT>
constexpr int kMaskPitch = kKeys * static_cast<int>(sizeof(MaskT)) + 16;
constexpr size_t kMaskStageBytes = 2 /*buffers*/ * kRows * (kKeys * 2 + 16);  // the larger (16-bit) mask


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
    asm(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm(
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

// One tile of 64 rows of K or V into shared memory. Thread i always moves the
// same 16-byte column c of rows r0, r0 + 16, ... A whole tile of aligned rows
// takes the branch-free path (four cp.async a thread); the last, partial tile
// or unaligned rows take the general one, which zero-fills rows past the end.
// Kept apart so the compiler does not predicate the general path's loads into
// every tile (it did: a quarter of the kernel's instructions).
template <class T, int D>
__device__ __forceinline__ void load_tile(T* dst, const T* src, int64_t row_stride, int row0, int rows, bool vec) {
  constexpr int kChunks = D / 8, kStep = kThreads / kChunks;  // 16-byte pieces per row; rows per pass
  const int r0 = static_cast<int>(threadIdx.x) / kChunks, c = (static_cast<int>(threadIdx.x) % kChunks) * 8;
  const T* s = src + static_cast<int64_t>(row0 + r0) * row_stride + c;
  T* d = dst + r0 * kPitch<D> + c;
  if (__builtin_expect(vec && row0 + kKeys <= rows, 1)) {
    #pragma unroll
    for (int r = 0; r < kKeys / kStep; ++r) cp_async16(d + r * kStep * kPitch<D>, s + r * kStep * row_stride);
    return;
  }
  #pragma unroll 1
  for (int r = r0; r < kKeys; r += kStep, s += kStep * row_stride, d += kStep * kPitch<D>) {
    if (row0 + r >= rows) {
      *reinterpret_cast<uint4*>(d) = make_uint4(0, 0, 0, 0);
    } else if (vec) {
      cp_async16(d, s);
    } else {
      for (int j = 0; j < 8; ++j) d[j] = s[j];
    }
  }
}

// 2^x in one MUFU instruction (subnormal results flush to zero), as
// FlashAttention compiles it; exp2f adds range handling around it.
__device__ __forceinline__ float exp2_fast(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Rows q0.. of the mask for keys key0..key0+63 into shared memory: whole
// 16-byte chunks by cp.async, a chunk straddling the last key by plain loads,
// nothing past the last row or key (those scores are never used).
template <class MaskT>
__device__ __forceinline__ void load_mask_tile(unsigned char* dst, const MaskT* rows0, int64_t row_stride, int q0,
                                               int seq_q, int key0, int seq_kv) {
  constexpr int kPer = 16 / static_cast<int>(sizeof(MaskT)), kChunks = kKeys / kPer;  // keys per chunk; chunks per row
  for (int i = threadIdx.x; i < kRows * kChunks; i += kThreads) {
    const int r = i / kChunks, c = i % kChunks, key = key0 + c * kPer;
    if (q0 + r >= seq_q || key >= seq_kv) continue;
    const MaskT* src = rows0 + static_cast<int64_t>(q0 + r) * row_stride + key;
    unsigned char* d = dst + r * kMaskPitch<MaskT> + c * 16;
    if (key + kPer <= seq_kv) {
      cp_async16(d, src);
    } else {
      for (int j = 0; j < seq_kv - key; ++j) reinterpret_cast<MaskT*>(d)[j] = src[j];
    }
  }
}

// Four 8x8 16-bit matrices as stored: the B operands of Q K^T for two k-steps.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* smem_row) {
  const auto addr = static_cast<uint32_t>(__cvta_generic_to_shared(smem_row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// Blocks an SM must hold: three for one m-tile of a head of up to 64 (at most
// 170 registers: left alone, ptxas took 178 and two blocks fit), else no bound.
template <int D, int MT>
constexpr int kMinBlocks = MT == 1 && D <= 64 ? 3 : 1;

// MT m-tiles of 16 query rows per warp (a block takes 64 * MT rows): with two,
// every K and V fragment read from shared memory feeds two mma instead of one.
// KEY_MASK: the mask does not vary along the query rows (stride 0 there: the
// key-padding mask of BERT-style encoders, [B, 1, 1, S]), so each thread reads
// it once per tile for its 16 keys and adds it to every row it owns.
template <class T, int D, int MT, bool BOOL_MASK, bool KEY_MASK>
__global__ void __launch_bounds__(kThreads, kMinBlocks<D, MT>) flash_attention(FlashArgs a, int64_t q_tiles, float scale_log2,
                                                            bool vec, bool mask_pairs, bool stage_mask) {
  extern __shared__ __align__(16) unsigned char smem[];
  T* sK = reinterpret_cast<T*>(smem);               // [2][kKeys][pitch]
  T* sV = sK + 2 * kKeys * kPitch<D>;               // [2][kKeys][pitch]
  unsigned char* sM = reinterpret_cast<unsigned char*>(sV + 2 * kKeys * kPitch<D>);  // [2][kRows][mask pitch] when staged

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, g = lane / 4, t = lane % 4;
  // 32-bit index math (the launcher keeps the grid, q_tiles and heads under 2^31): 64-bit division is a call.
  const int bx = static_cast<int>(blockIdx.x), qt = static_cast<int>(q_tiles), heads = static_cast<int>(a.heads);
  const int tile = bx % qt, bh = bx / qt, b = bh / heads, h = bh % heads;
  const T* q = static_cast<const T*>(a.q) + b * a.q_stride[0] + h * a.q_stride[1];
  const T* k = static_cast<const T*>(a.k) + b * a.k_stride[0] + h * a.k_stride[1];
  const T* v = static_cast<const T*>(a.v) + b * a.v_stride[0] + h * a.v_stride[1];
  T* o = static_cast<T*>(a.o) + b * a.o_stride[0] + h * a.o_stride[1];

  // This thread's query rows: per m-tile, rows g and g + 8 (index 2m and 2m + 1).
  int row[2 * MT];  // sequences fit an int (the launcher checks)
  #pragma unroll
  for (int i = 0; i < 2 * MT; ++i) row[i] = static_cast<int>(tile) * kRows * MT + (warp * MT + i / 2) * 16 + g + (i % 2) * 8;

  // Q as A operands, one per 16 columns of the head.
  uint32_t qf[MT][D / 16][4];
  #pragma unroll
  for (int m = 0; m < MT; ++m)
    #pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      const int c = kk * 16 + 2 * t;
      auto at = [&](int r, int col) -> uint32_t {
        return r < a.seq_q ? *reinterpret_cast<const uint32_t*>(q + r * a.q_stride[2] + col) : 0u;
      };
      qf[m][kk][0] = at(row[2 * m], c);
      qf[m][kk][1] = at(row[2 * m + 1], c);
      qf[m][kk][2] = at(row[2 * m], c + 8);
      qf[m][kk][3] = at(row[2 * m + 1], c + 8);
    }

  const float mask_raw = kLog2e / scale_log2;  // an additive mask value, in units of raw scores
  const bool has_mask = a.mask.data != nullptr;

  // Each row's mask, resolved once (null: no mask, or a row past the end).
  using MaskT = std::conditional_t<BOOL_MASK, bool, T>;
  const MaskT* mrow[2 * MT];
  #pragma unroll
  for (int i = 0; i < 2 * MT; ++i)
    mrow[i] = !KEY_MASK && a.mask.data && row[i] < a.seq_q
                  ? static_cast<const MaskT*>(a.mask.data) + b * a.mask.strides[0] + h * a.mask.strides[1] +
                        row[i] * a.mask.strides[2]
                  : nullptr;
  const int64_t mk = a.mask.strides[3];
  // The key mask of this (batch, head): the same for every row.
  const MaskT* kmask =
      KEY_MASK ? static_cast<const MaskT*>(a.mask.data) + b * a.mask.strides[0] + h * a.mask.strides[1] : nullptr;
  // Staged (stage_mask, one m-tile): the block's rows of the mask come through shared memory.
  const MaskT* mask_rows0 =
      stage_mask ? static_cast<const MaskT*>(a.mask.data) + b * a.mask.strides[0] + h * a.mask.strides[1] : nullptr;
  const int q0 = static_cast<int>(tile) * kRows * MT, seq_q_i = static_cast<int>(a.seq_q);
  constexpr int kMP = kMaskPitch<MaskT>;

  float acc[MT][D / 8][4] = {};  // O: per 8 columns, rows (a, a, b, b) of each m-tile
  float mx[2 * MT], l[2 * MT];   // per row: running max (log2 units), partial sum
  #pragma unroll
  for (int i = 0; i < 2 * MT; ++i) mx[i] = -INFINITY, l[i] = 0.f;

  const int64_t tiles = (a.seq_kv + kKeys - 1) / kKeys;
  const int seq_kv_i = static_cast<int>(a.seq_kv);
  // KEY_MASK: this thread's mask values for the 16 keys it scores in the tile
  // from key0, loaded a tile before they are used so their latency hides
  // behind the previous tile's work (loaded after the wait, they stalled it).
  MaskT mv[KEY_MASK ? kKeys / 8 : 1][2];
  auto load_key_mask = [&](int key0) {
    #pragma unroll
    for (int n = 0; n < kKeys / 8; ++n) {
      const int kb = key0 + n * 8 + 2 * t;
      using Pair = std::conditional_t<sizeof(MaskT) == 1, uint16_t, uint32_t>;
      if (mask_pairs && kb + 1 < seq_kv_i) {
        const Pair u = *reinterpret_cast<const Pair*>(kmask + kb);
        memcpy(mv[n], &u, sizeof u);
      } else {
        mv[n][0] = kb < seq_kv_i ? kmask[kb * mk] : MaskT{};
        mv[n][1] = kb + 1 < seq_kv_i ? kmask[(kb + 1) * mk] : MaskT{};
      }
    }
  };
  if constexpr (KEY_MASK) load_key_mask(0);
  load_tile<T, D>(sK, k, a.k_stride[2], 0, seq_kv_i, vec);
  load_tile<T, D>(sV, v, a.v_stride[2], 0, seq_kv_i, vec);
  if (stage_mask) load_mask_tile<MaskT>(sM, mask_rows0, a.mask.strides[2], q0, seq_q_i, 0, seq_kv_i);
  cp_async_commit();
  for (int64_t it = 0; it < tiles; ++it) {
    const int buf = static_cast<int>(it & 1);
    if (it + 1 < tiles) {  // the next tile loads while this one computes
      const int next = static_cast<int>(it + 1) * kKeys;
      load_tile<T, D>(sK + (buf ^ 1) * kKeys * kPitch<D>, k, a.k_stride[2], next, seq_kv_i, vec);
      load_tile<T, D>(sV + (buf ^ 1) * kKeys * kPitch<D>, v, a.v_stride[2], next, seq_kv_i, vec);
      if (stage_mask)
        load_mask_tile<MaskT>(sM + (buf ^ 1) * kRows * kMP, mask_rows0, a.mask.strides[2], q0, seq_q_i, next, seq_kv_i);
    }
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const T* tK = sK + buf * kKeys * kPitch<D>;
    const T* tV = sV + buf * kKeys * kPitch<D>;
    const int key0 = static_cast<int>(it) * kKeys, seq_kv = static_cast<int>(a.seq_kv);

    // Key mask: this thread's 16 keys (kb, kb + 1 of each n-tile), loaded one
    // tile ahead (load_key_mask); keys past the end are masked here too.
    float kbias[KEY_MASK ? kKeys / 8 : 1][2];
    if constexpr (KEY_MASK) {
      #pragma unroll
      for (int n = 0; n < kKeys / 8; ++n)
        #pragma unroll
        for (int j = 0; j < 2; ++j) {
          const int key = key0 + n * 8 + 2 * t + j;
          if constexpr (BOOL_MASK) kbias[n][j] = key < seq_kv && mv[n][j] ? 0.f : -INFINITY;
          else kbias[n][j] = key < seq_kv ? static_cast<float>(mv[n][j]) * mask_raw : -INFINITY;
        }
      if (it + 1 < tiles) load_key_mask(key0 + kKeys);  // in flight while this tile computes
    }

    // S = Q K^T: 8 n-tiles of 8 keys; one ldmatrix gives the B operands of two k-steps.
    // The fragments of n-tile n + 1 load while n-tile n multiplies.
    float s[MT][kKeys / 8][4] = {};
    uint32_t kb[2][D / 32][4];
    auto load_k = [&](int n, uint32_t (&dst)[D / 32][4]) {
      const T* krow = tK + (n * 8 + (lane & 7)) * kPitch<D> + (lane >> 3) * 8;
      #pragma unroll
      for (int j = 0; j < D / 32; ++j) ldmatrix_x4(dst[j], krow + j * 32);
    };
    load_k(0, kb[0]);
    #pragma unroll
    for (int n = 0; n < kKeys / 8; ++n) {
      if (n + 1 < kKeys / 8) load_k(n + 1, kb[(n + 1) & 1]);
      #pragma unroll
      for (int j = 0; j < D / 32; ++j)
        #pragma unroll
        for (int m = 0; m < MT; ++m) {
          mma<T>(s[m][n], qf[m][2 * j], kb[n & 1][j][0], kb[n & 1][j][1]);
          mma<T>(s[m][n], qf[m][2 * j + 1], kb[n & 1][j][2], kb[n & 1][j][3]);
        }
    }
    // Row maxima over the raw scores (the launcher takes scale > 0 only), then p = 2^(s * scale - max * scale) in one FFMA and
    // an exp2, as FlashAttention does. Only the last tile can hold keys past
    // the end, so without a mask every other tile skips the per-key work.
    float tmax[2 * MT];
    #pragma unroll
    for (int i = 0; i < 2 * MT; ++i) tmax[i] = -INFINITY;
    if constexpr (KEY_MASK) {
      #pragma unroll
      for (int m = 0; m < MT; ++m)
        #pragma unroll
        for (int n = 0; n < kKeys / 8; ++n)
          #pragma unroll
          for (int e = 0; e < 4; ++e)  // a masked key is -inf whatever its score (inf or NaN from a bad K included)
            s[m][n][e] = kbias[n][e % 2] == -INFINITY ? -INFINITY : s[m][n][e] + kbias[n][e % 2];
    } else if (key0 + kKeys > seq_kv || has_mask) {
      #pragma unroll
      for (int m = 0; m < MT; ++m)
        #pragma unroll
        for (int n = 0; n < kKeys / 8; ++n) {
          const int kb = key0 + n * 8 + 2 * t;  // this thread's two keys: kb, kb + 1
          #pragma unroll
          for (int hh = 0; hh < 2; ++hh) {
            float& x0 = s[m][n][2 * hh];
            float& x1 = s[m][n][2 * hh + 1];
            if (const MaskT* mr = mrow[2 * m + hh]) {
              MaskT v[2] = {};
              using Pair = std::conditional_t<sizeof(MaskT) == 1, uint16_t, uint32_t>;
              if (stage_mask) {  // row and keys of this block's staged tile (keys past the end are masked below)
                const int r = (row[2 * m + hh] - q0);
                const Pair u = *reinterpret_cast<const Pair*>(sM + buf * kRows * kMP + r * kMP +
                                                              (kb - key0) * static_cast<int>(sizeof(MaskT)));
                memcpy(v, &u, sizeof u);
              } else if (mask_pairs && kb + 1 < seq_kv) {  // both keys in one load
                const Pair u = *reinterpret_cast<const Pair*>(mr + kb);
                memcpy(v, &u, sizeof u);
              } else {
                if (kb < seq_kv) v[0] = mr[kb * mk];
                if (kb + 1 < seq_kv) v[1] = mr[(kb + 1) * mk];
              }
              if constexpr (BOOL_MASK) {
                if (!v[0]) x0 = -INFINITY;
                if (!v[1]) x1 = -INFINITY;
              } else {  // the additive mask in raw-score units
                x0 += static_cast<float>(v[0]) * mask_raw;
                x1 += static_cast<float>(v[1]) * mask_raw;
              }
            }
            if (kb >= seq_kv) x0 = -INFINITY;
            if (kb + 1 >= seq_kv) x1 = -INFINITY;
          }
        }
    }
    #pragma unroll
    for (int m = 0; m < MT; ++m)
      #pragma unroll
      for (int n = 0; n < kKeys / 8; ++n)
        #pragma unroll
        for (int e = 0; e < 4; ++e) tmax[2 * m + e / 2] = fmaxf(tmax[2 * m + e / 2], s[m][n][e]);
    float base[2 * MT];
    #pragma unroll
    for (int i = 0; i < 2 * MT; ++i) {
      // A row lives on the four threads of a quad.
      tmax[i] = fmaxf(tmax[i], __shfl_xor_sync(0xffffffffu, tmax[i], 1));
      tmax[i] = fmaxf(tmax[i], __shfl_xor_sync(0xffffffffu, tmax[i], 2));
      const float fresh = fmaxf(mx[i], tmax[i]);
      // A row with nothing unmasked yet keeps max -inf: its p are 0, not NaN.
      const float alpha = fresh == -INFINITY ? 1.f : exp2_fast((mx[i] - fresh) * scale_log2);
      mx[i] = fresh;
      base[i] = fresh == -INFINITY ? 0.f : fresh * scale_log2;
      l[i] *= alpha;
      #pragma unroll
      for (int n = 0; n < D / 8; ++n) {
        acc[i / 2][n][(i % 2) * 2] *= alpha;
        acc[i / 2][n][(i % 2) * 2 + 1] *= alpha;
      }
    }
    #pragma unroll
    for (int m = 0; m < MT; ++m)
      #pragma unroll
      for (int n = 0; n < kKeys / 8; ++n)
        #pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int i = 2 * m + e / 2;
          s[m][n][e] = exp2_fast(fmaf(s[m][n][e], scale_log2, -base[i]));
          l[i] += s[m][n][e];
        }
    // O += P V: P's accumulators are, two n-tiles at a time, the A operand.
    #pragma unroll
    for (int kt = 0; kt < kKeys / 16; ++kt) {
      uint32_t p[MT][4];
      #pragma unroll
      for (int m = 0; m < MT; ++m) {
        p[m][0] = pack<T>(s[m][2 * kt][0], s[m][2 * kt][1]);
        p[m][1] = pack<T>(s[m][2 * kt][2], s[m][2 * kt][3]);
        p[m][2] = pack<T>(s[m][2 * kt + 1][0], s[m][2 * kt + 1][1]);
        p[m][3] = pack<T>(s[m][2 * kt + 1][2], s[m][2 * kt + 1][3]);
      }
      const T* vrow = tV + (kt * 16 + (lane & 15)) * kPitch<D> + (lane >> 4) * 8;
      uint32_t bv[D / 16][4];  // all of this k-step's V fragments first, then the mma
      #pragma unroll
      for (int dt = 0; dt < D / 16; ++dt) ldmatrix_x4_trans(bv[dt], vrow + dt * 16);
      #pragma unroll
      for (int dt = 0; dt < D / 16; ++dt)
        #pragma unroll
        for (int m = 0; m < MT; ++m) {
          mma<T>(acc[m][2 * dt], p[m], bv[dt][0], bv[dt][1]);
          mma<T>(acc[m][2 * dt + 1], p[m], bv[dt][2], bv[dt][3]);
        }
    }
    __syncthreads();  // this buffer is refilled two tiles on
  }
  cp_async_wait<0>();

  #pragma unroll
  for (int i = 0; i < 2 * MT; ++i) {
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 1);
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 2);
    const float inv = l[i] > 0.f ? 1.f / l[i] : 0.f;  // fully masked: 0
    if (row[i] >= a.seq_q) continue;
    T* orow = o + row[i] * a.o_stride[2];
    #pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      const float* c = &acc[i / 2][n][(i % 2) * 2];
      *reinterpret_cast<uint32_t*>(orow + n * 8 + 2 * t) = pack<T>(c[0] * inv, c[1] * inv);
    }
  }
}

// The GPU's multiprocessors: how many blocks fill it.
int64_t sm_count() {
  static const int64_t n = [] {
    int dev = 0, v = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess) {
      cudaGetLastError();
      return int64_t{1} << 20;  // unknown: never choose the wide tiles
    }
    return static_cast<int64_t>(v);
  }();
  return n;
}

// More than 48 KB of shared memory needs the opt-in, once per kernel.
template <class T, int D, int MT, bool BOOL_MASK, bool KEY_MASK>
bool opted_in() {
  static const bool ok = [] {
    constexpr size_t most = smem_bytes<D>() + (MT == 1 && !KEY_MASK ? kMaskStageBytes : 0);
    const bool set = cudaFuncSetAttribute(flash_attention<T, D, MT, BOOL_MASK, KEY_MASK>,
                                          cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(most)) == cudaSuccess;
    if (!set) cudaGetLastError();
    return set;
  }();
  return ok;
}

template <class T, int D, int MT, bool BOOL_MASK, bool KEY_MASK>
bool launch(const FlashArgs& a, cudaStream_t s, bool vec, bool mask_pairs, bool stage_mask) {
  if (!opted_in<T, D, MT, BOOL_MASK, KEY_MASK>()) return false;
  const int64_t q_tiles = (a.seq_q + kRows * MT - 1) / (kRows * MT), blocks = a.batch * a.heads * q_tiles;
  if (blocks <= 0 || blocks > 0x7fffffff) return false;
  const size_t bytes = smem_bytes<D>() + (stage_mask ? kMaskStageBytes : 0);
  flash_attention<T, D, MT, BOOL_MASK, KEY_MASK><<<static_cast<unsigned>(blocks), kThreads, bytes, s>>>(
      a, q_tiles, a.scale * kLog2e, vec, mask_pairs, stage_mask);
  return true;
}

// DYNRT_CUDA_FLASH_ROWS=64 or 128 forces the query rows per block (for
// measurements); otherwise the launcher picks.
int forced_rows() {
  static const int rows = [] {
    const char* v = std::getenv("DYNRT_CUDA_FLASH_ROWS");
    return v && std::strcmp(v, "64") == 0 ? 64 : v && std::strcmp(v, "128") == 0 ? 128 : 0;
  }();
  return rows;
}

template <class T, int D>
bool go(const FlashArgs& a, cudaStream_t s) {
  // cp.async moves 16 bytes: K and V rows must start 16-byte aligned.
  auto aligned = [](const void* p, int64_t stride) {
    return reinterpret_cast<uintptr_t>(p) % 16 == 0 && stride % 8 == 0;
  };
  const bool vec = aligned(a.k, a.k_stride[0]) && aligned(a.k, a.k_stride[1]) && aligned(a.k, a.k_stride[2]) &&
                   aligned(a.v, a.v_stride[0]) && aligned(a.v, a.v_stride[1]) && aligned(a.v, a.v_stride[2]);
  const bool masked = a.mask.data != nullptr, is_bool = masked && a.mask.is_bool;
  // A mask constant along the query rows is read per key, once per tile (KEY_MASK).
  const bool key_mask = masked && a.mask.strides[2] == 0;
  // Each thread reads the mask at two adjacent keys: one load when keys are
  // contiguous and every row starts at an even element.
  const size_t msize = is_bool ? 1 : sizeof(T);
  const bool mask_pairs = masked && a.mask.strides[3] == 1 && a.mask.strides[0] % 2 == 0 &&
                          a.mask.strides[1] % 2 == 0 && a.mask.strides[2] % 2 == 0 &&
                          reinterpret_cast<uintptr_t>(a.mask.data) % (2 * msize) == 0;
  // Two m-tiles per warp halve the shared-memory reads per mma, but also the
  // number of blocks, and at 255 registers only two fit an SM. Measured on
  // the H200 (benchmarks/attention_gpu.py, BERT-base heads): 128-row tiles
  // gain 3-5% when the grid holds about 9 SMs' worth of them (32x384) and lose
  // 10-17% at 3 (32x128, 8x384, 8x512); with a per-row mask they lose (the
  // per-key mask work spills), so those stay at 64 rows.
  bool wide = false;
  if constexpr (D <= 64) {
    const int64_t wide_blocks = a.batch * a.heads * ((a.seq_q + 2 * kRows - 1) / (2 * kRows));
    wide = (!masked || key_mask) && wide_blocks >= 6 * sm_count();
    if (forced_rows()) wide = forced_rows() == 128 && (!masked || key_mask);
  }
  if constexpr (D <= 64) {  // no wide kernels for larger heads (they would spill)
    if (wide && key_mask)
      return is_bool ? launch<T, D, 2, true, true>(a, s, vec, mask_pairs, false)
                     : launch<T, D, 2, false, true>(a, s, vec, mask_pairs, false);
    if (wide && !masked) return launch<T, D, 2, false, false>(a, s, vec, false, false);
  }
  if (key_mask)
    return is_bool ? launch<T, D, 1, true, true>(a, s, vec, mask_pairs, false)
                   : launch<T, D, 1, false, true>(a, s, vec, mask_pairs, false);
  // One m-tile (every per-row mask): the mask's tile goes through shared
  // memory with K and V when its rows are 16-byte aligned and its keys
  // contiguous: coalesced loads instead of a byte load per key and row.
  auto aligned16 = [&](int64_t elems) { return (elems * static_cast<int64_t>(msize)) % 16 == 0; };
  const bool stage_mask = masked && a.mask.strides[3] == 1 && aligned16(a.mask.strides[0]) &&
                          aligned16(a.mask.strides[1]) && aligned16(a.mask.strides[2]) &&
                          reinterpret_cast<uintptr_t>(a.mask.data) % 16 == 0;
  return is_bool ? launch<T, D, 1, true, false>(a, s, vec, mask_pairs, stage_mask)
                 : launch<T, D, 1, false, false>(a, s, vec, mask_pairs, stage_mask);
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
  if (a.seq_q > 0x7fff0000 || a.seq_kv > 0x7fff0000) return false;  // row and key indices are ints
  // The softmax takes row maxima of the raw scores, so the scale must be positive (as ONNX asks).
  if (!(a.scale > 0.f) || !std::isfinite(a.scale)) return false;
  // Q and O are read and written two elements at a time.
  if (reinterpret_cast<uintptr_t>(a.q) % 4 || reinterpret_cast<uintptr_t>(a.o) % 4) return false;
  for (int i = 0; i < 3; ++i)
    if (a.q_stride[i] % 2 || a.o_stride[i] % 2) return false;
  if (t == ElemType::kFloat16) return by_dim<__half>(a, s);
  if (t == ElemType::kBFloat16) return by_dim<__nv_bfloat16>(a, s);
  return false;
}

}  // namespace dynrt::cuda
