// Device code of Reduce*, ArgMax/ArgMin and the global pools. Elements are
// read as T (float, __half, __nv_bfloat16) and accumulated in float.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>

#include "backends/cuda/reduction_launch.h"

namespace dynrt::cuda {
namespace {

using namespace dev;

// Element offset of linear index i over (dims, strides), row-major.
__device__ inline int64_t offset_of(int64_t i, int n, const int64_t* dims, const int64_t* strides) {
  if (n == 1) return i * strides[0];
  int64_t off = 0;
  for (int d = n - 1; d >= 0; --d) {
    off += (i % dims[d]) * strides[d];
    i /= dims[d];
  }
  return off;
}

// How each op combines, maps elements (s: LogSumExp's shift) and finishes.
template <ReduceOp Op>
struct Comb {
  using type = Add;
};
template <>
struct Comb<ReduceOp::kMax> {
  using type = Max;
};
template <>
struct Comb<ReduceOp::kMin> {
  using type = Min;
};
template <>
struct Comb<ReduceOp::kProd> {
  using type = Mul;
};

template <ReduceOp Op>
__device__ inline float identity() {
  if constexpr (Op == ReduceOp::kMax) return -INFINITY;
  else if constexpr (Op == ReduceOp::kMin) return INFINITY;
  else if constexpr (Op == ReduceOp::kProd) return 1.f;
  else return 0.f;
}

template <ReduceOp Op>
__device__ inline float map(float x, float s, float p) {
  if constexpr (Op == ReduceOp::kL1) return fabsf(x);
  else if constexpr (Op == ReduceOp::kL2 || Op == ReduceOp::kSumSquare) return x * x;
  else if constexpr (Op == ReduceOp::kLogSumExp) return expf(x - s);
  else if constexpr (Op == ReduceOp::kLp) return powf(fabsf(x), p);
  else return x;
}

template <ReduceOp Op>
__device__ inline float finish(float a, int64_t n, float s, float p) {
  if constexpr (Op == ReduceOp::kMean) return n ? a / static_cast<float>(n) : a;
  else if constexpr (Op == ReduceOp::kL2) return sqrtf(a);
  else if constexpr (Op == ReduceOp::kLogSum) return logf(a);
  else if constexpr (Op == ReduceOp::kLogSumExp) return logf(a) + s;
  else if constexpr (Op == ReduceOp::kLp) return powf(a, 1.f / p);
  else return a;
}

// The innermost dim is reduced: a group of G threads per output, its lanes
// striding over the reduced index space (contiguous runs: coalesced).
template <ReduceOp Op, class T, int G>
__global__ void __launch_bounds__(kBlock) reduce_rows(const T* x, T* y, ReducePlan p) {
  __shared__ float sm[kBlock / 32];
  using C = typename Comb<Op>::type;
  constexpr int kPer = kBlock / G;
  const int lane = static_cast<int>(threadIdx.x) % G;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * kPer + threadIdx.x / G; o < p.out_count;
       o += static_cast<int64_t>(gridDim.x) * kPer) {
    const T* base = x + offset_of(o, p.nk, p.kdims, p.kstrides);
    float s = 0.f;
    if constexpr (Op == ReduceOp::kLogSumExp) {
      float m = -INFINITY;
      for (int64_t r = lane; r < p.red_count; r += G)
        m = Max()(m, static_cast<float>(base[offset_of(r, p.nr, p.rdims, p.rstrides)]));
      m = group_reduce<G>(m, Max(), sm);
      s = isfinite(m) ? m : 0.f;  // all -inf, or +inf present: no shift
    }
    float acc = identity<Op>();
    for (int64_t r = lane; r < p.red_count; r += G)
      acc = C()(acc, map<Op>(static_cast<float>(base[offset_of(r, p.nr, p.rdims, p.rstrides)]), s, p.p));
    acc = group_reduce<G>(acc, C(), sm);
    if (lane == 0) y[o] = T(finish<Op>(acc, p.red_count, s, p.p));
  }
}

// Across the threadIdx.y rows of a (32, ny) block, per column; all threads call it.
template <class F>
__device__ inline float column_reduce(float v, F f, float (*sm)[33]) {
  if (blockDim.y == 1) return v;
  __syncthreads();
  sm[threadIdx.y][threadIdx.x] = v;
  __syncthreads();
  v = sm[0][threadIdx.x];
  for (unsigned i = 1; i < blockDim.y; ++i) v = f(v, sm[i][threadIdx.x]);
  return v;
}

// The innermost dim is kept: consecutive outputs read consecutive elements.
// threadIdx.x picks the output, threadIdx.y splits the reduced index space.
template <ReduceOp Op, class T>
__global__ void __launch_bounds__(kBlock) reduce_cols(const T* x, T* y, ReducePlan p) {
  __shared__ float sm[kBlock / 32][33];
  using C = typename Comb<Op>::type;
  const int64_t ny = blockDim.y;
  for (int64_t o0 = static_cast<int64_t>(blockIdx.x) * 32; o0 < p.out_count; o0 += static_cast<int64_t>(gridDim.x) * 32) {
    const int64_t o = o0 + threadIdx.x;
    const bool valid = o < p.out_count;
    const T* base = x + (valid ? offset_of(o, p.nk, p.kdims, p.kstrides) : 0);
    const int64_t r0 = valid ? threadIdx.y : p.red_count;  // invalid columns read nothing
    float s = 0.f;
    if constexpr (Op == ReduceOp::kLogSumExp) {
      float m = -INFINITY;
      for (int64_t r = r0; r < p.red_count; r += ny)
        m = Max()(m, static_cast<float>(base[offset_of(r, p.nr, p.rdims, p.rstrides)]));
      m = column_reduce(m, Max(), sm);
      s = isfinite(m) ? m : 0.f;
    }
    float acc = identity<Op>();
    for (int64_t r = r0; r < p.red_count; r += ny)
      acc = C()(acc, map<Op>(static_cast<float>(base[offset_of(r, p.nr, p.rdims, p.rstrides)]), s, p.p));
    acc = column_reduce(acc, C(), sm);
    if (valid && threadIdx.y == 0) y[o] = T(finish<Op>(acc, p.red_count, s, p.p));
  }
}

template <ReduceOp Op, class T>
void reduce_typed(const void* xv, void* yv, const ReducePlan& p, cudaStream_t s) {
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  if (p.inner_red) {
    if (p.red_count >= 1024)
      reduce_rows<Op, T, kBlock><<<grid_for(p.out_count, 1), kBlock, 0, s>>>(x, y, p);
    else
      reduce_rows<Op, T, 32><<<grid_for(p.out_count, kBlock / 32), kBlock, 0, s>>>(x, y, p);
  } else {
    unsigned ny = p.red_count >= 32 ? kBlock / 32 : 1;
    reduce_cols<Op, T><<<grid_for(p.out_count, 32), dim3(32, ny), 0, s>>>(x, y, p);
  }
}

template <class T>
void reduce_op(ReduceOp op, const void* x, void* y, const ReducePlan& p, cudaStream_t s) {
  switch (op) {
    case ReduceOp::kSum: return reduce_typed<ReduceOp::kSum, T>(x, y, p, s);
    case ReduceOp::kMean: return reduce_typed<ReduceOp::kMean, T>(x, y, p, s);
    case ReduceOp::kMax: return reduce_typed<ReduceOp::kMax, T>(x, y, p, s);
    case ReduceOp::kMin: return reduce_typed<ReduceOp::kMin, T>(x, y, p, s);
    case ReduceOp::kProd: return reduce_typed<ReduceOp::kProd, T>(x, y, p, s);
    case ReduceOp::kL1: return reduce_typed<ReduceOp::kL1, T>(x, y, p, s);
    case ReduceOp::kL2: return reduce_typed<ReduceOp::kL2, T>(x, y, p, s);
    case ReduceOp::kSumSquare: return reduce_typed<ReduceOp::kSumSquare, T>(x, y, p, s);
    case ReduceOp::kLogSum: return reduce_typed<ReduceOp::kLogSum, T>(x, y, p, s);
    case ReduceOp::kLogSumExp: return reduce_typed<ReduceOp::kLogSumExp, T>(x, y, p, s);
    case ReduceOp::kLp: return reduce_typed<ReduceOp::kLp, T>(x, y, p, s);
  }
}

// ---- ArgMax / ArgMin ----------------------------------------------------------

// Is (v, i) a better pick than (bv, bi)? bi < 0: nothing picked yet. Ties go
// to the first or (select_last_index) the last position.
template <bool kMax, bool kLast>
__device__ inline bool better(float v, long long i, float bv, long long bi) {
  if (bi < 0) return true;
  if (v == bv) return kLast ? i > bi : i < bi;
  return kMax ? v > bv : v < bv;
}

// inner == 1: a warp per row.
template <bool kMax, bool kLast, class T>
__global__ void __launch_bounds__(kBlock) arg_rows(const T* x, int64_t* y, int64_t outer, int64_t n) {
  constexpr int kPer = kBlock / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kPer + threadIdx.x / 32; row < outer;
       row += static_cast<int64_t>(gridDim.x) * kPer) {
    const T* p = x + row * n;
    float bv = 0.f;
    long long bi = -1;
    for (long long i = lane; i < n; i += 32) {
      float v = static_cast<float>(p[i]);
      if (better<kMax, kLast>(v, i, bv, bi)) {
        bv = v;
        bi = i;
      }
    }
    for (int m = 16; m > 0; m >>= 1) {
      float ov = __shfl_xor_sync(0xffffffffu, bv, m);
      long long oi = __shfl_xor_sync(0xffffffffu, bi, m);
      if (oi >= 0 && better<kMax, kLast>(ov, oi, bv, bi)) {
        bv = ov;
        bi = oi;
      }
    }
    if (lane == 0) y[row] = bi < 0 ? 0 : bi;
  }
}

// inner > 1: a thread per (outer, inner) pair walking the axis.
template <bool kMax, bool kLast, class T>
__global__ void __launch_bounds__(kBlock) arg_cols(const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner) {
  const int64_t total = outer * inner;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t o = t / inner, j = t % inner;
    const T* p = x + o * n * inner + j;
    float bv = static_cast<float>(p[0]);
    int64_t bi = 0;
    for (int64_t k = 1; k < n; ++k) {
      float v = static_cast<float>(p[k * inner]);
      if (better<kMax, kLast>(v, k, bv, bi)) {
        bv = v;
        bi = k;
      }
    }
    y[t] = bi;
  }
}

template <bool kMax, bool kLast, class T>
void arg_typed(const void* xv, int64_t* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t s) {
  const T* x = static_cast<const T*>(xv);
  if (inner == 1)
    arg_rows<kMax, kLast, T><<<grid_for(outer, kBlock / 32), kBlock, 0, s>>>(x, y, outer, n);
  else
    arg_cols<kMax, kLast, T><<<grid_for(outer * inner, kBlock), kBlock, 0, s>>>(x, y, outer, n, inner);
}

template <class T>
void arg_op(bool is_max, bool last, const void* x, int64_t* y, int64_t outer, int64_t n, int64_t inner, cudaStream_t s) {
  if (is_max) last ? arg_typed<true, true, T>(x, y, outer, n, inner, s) : arg_typed<true, false, T>(x, y, outer, n, inner, s);
  else last ? arg_typed<false, true, T>(x, y, outer, n, inner, s) : arg_typed<false, false, T>(x, y, outer, n, inner, s);
}

}  // namespace

void launch_reduce(ReduceOp op, ElemType t, const void* x, void* y, const ReducePlan& plan, cudaStream_t s) {
  if (plan.out_count <= 0) return;
  switch (t) {
    case ElemType::kFloat32: return reduce_op<float>(op, x, y, plan, s);
    case ElemType::kFloat16: return reduce_op<__half>(op, x, y, plan, s);
    case ElemType::kBFloat16: return reduce_op<__nv_bfloat16>(op, x, y, plan, s);
    default: return;
  }
}

void launch_arg_reduce(bool is_max, bool select_last, ElemType t, const void* x, int64_t* y, int64_t outer, int64_t n,
                       int64_t inner, cudaStream_t s) {
  if (outer * inner <= 0 || n <= 0) return;
  switch (t) {
    case ElemType::kFloat32: return arg_op<float>(is_max, select_last, x, y, outer, n, inner, s);
    case ElemType::kFloat16: return arg_op<__half>(is_max, select_last, x, y, outer, n, inner, s);
    case ElemType::kBFloat16: return arg_op<__nv_bfloat16>(is_max, select_last, x, y, outer, n, inner, s);
    default: return;
  }
}

}  // namespace dynrt::cuda
