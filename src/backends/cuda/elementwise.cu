// Device kernels of the elementwise family: unary math and activations, Clip,
// IsNaN/IsInf, Not, broadcasting binary ops, Where, broadcast copies (Expand)
// and Cast. Grid-stride loops over int64 indices; one kernel per (op, type)
// so each loop body is branch-free. No __restrict__: an output may be one of
// the inputs (Sum/Max/... fold into their output). The semantics mirror the
// CPU kernels (src/backends/cpu/elementwise.cpp), which follow ONNX Runtime.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

#include "backends/cuda/elementwise_launch.h"

namespace dynrt::cuda {
namespace {

constexpr int kBlock = 256;
constexpr int64_t kMaxBlocks = 65535 * 4;

int grid_for(int64_t n) {
  int64_t b = (n + kBlock - 1) / kBlock;
  return static_cast<int>(b < kMaxBlocks ? b : kMaxBlocks);
}

__device__ __forceinline__ int64_t first_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_step() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// ---- element types: 16-bit floats compute in float, the rest in their own type

template <class T> struct Calc { using type = T; };
template <> struct Calc<__half> { using type = float; };
template <> struct Calc<__nv_bfloat16> { using type = float; };

template <class T>
__device__ __forceinline__ T load(T v) { return v; }
__device__ __forceinline__ float load(__half v) { return __half2float(v); }
__device__ __forceinline__ float load(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T> struct Store {
  template <class C>
  __device__ __forceinline__ static T from(C v) { return static_cast<T>(v); }
};
template <> struct Store<__half> {
  __device__ __forceinline__ static __half from(float v) { return __float2half_rn(v); }
};
template <> struct Store<__nv_bfloat16> {
  __device__ __forceinline__ static __nv_bfloat16 from(float v) { return __float2bfloat16_rn(v); }
};

// std::min / std::max exactly (the CPU kernels' NaN behavior follows them).
template <class T>
__device__ __forceinline__ T std_min(T a, T b) { return b < a ? b : a; }
template <class T>
__device__ __forceinline__ T std_max(T a, T b) { return a < b ? b : a; }

// ---- offsets of broadcast inputs

template <int K>
struct Shapes {
  Strided s[K];  // all with the output's dims; strides per input
};

// Element offsets of output index i in each of the K inputs, in index type I
// (int64_t, or uint32_t on the vector path where everything fits 32 bits).
template <int K, class I = int64_t>
__device__ __forceinline__ void offsets(I i, const Shapes<K>& sh, I (&off)[K]) {
#pragma unroll
  for (int k = 0; k < K; ++k) off[k] = 0;
  const int rank = sh.s[0].rank;
#pragma unroll
  for (int d = kMaxDims - 1; d > 0; --d) {
    if (d >= rank) continue;
    const auto dim = static_cast<I>(sh.s[0].dims[d]);
    const I q = i / dim, c = i - q * dim;
#pragma unroll
    for (int k = 0; k < K; ++k) off[k] += c * static_cast<I>(sh.s[k].strides[d]);
    i = q;
  }
  if (rank > 0) {
#pragma unroll
    for (int k = 0; k < K; ++k) off[k] += i * static_cast<I>(sh.s[k].strides[0]);
  }
}

// Flat path when rank <= 1: index * stride (stride 0 or 1).
template <int K, bool FLAT>
__device__ __forceinline__ void input_offsets(int64_t i, const Shapes<K>& sh, int64_t (&off)[K]) {
  if constexpr (FLAT) {
#pragma unroll
    for (int k = 0; k < K; ++k) off[k] = i * sh.s[k].strides[0];
  } else {
    offsets<K>(i, sh, off);
  }
}

// Rank 0 becomes one dim of size 1 with stride 0, so rank <= 1 is flat.
template <int K>
bool normalize_flat(Shapes<K>& sh) {
  if (sh.s[0].rank == 0)
    for (int k = 0; k < K; ++k) {
      sh.s[k].rank = 1;
      sh.s[k].dims[0] = 1;
      sh.s[k].strides[0] = 0;
    }
  return sh.s[0].rank == 1;
}

// ---- the vector path: kVec neighbouring elements per thread, one (32-bit)
// index computation for all of them, and one wide load from each input that
// steps through them (innermost stride 1); an input broadcast along the
// innermost dim (stride 0) is read once. Taken when the innermost collapsed
// dim is a multiple of kVec, the count fits 32 bits and the pointers are
// aligned (vector_ok): this is what makes bias adds, masks and activations
// run at memory speed instead of at integer-division speed.

constexpr int kVec = 4;

template <class T>
struct alignas(kVec * sizeof(T)) Pack {
  T v[kVec];
};

template <class T>
__device__ __forceinline__ Pack<T> load_pack(const T* p, bool stepping) {
  if (stepping) return *reinterpret_cast<const Pack<T>*>(p);
  Pack<T> r;
  const T x = *p;
#pragma unroll
  for (int j = 0; j < kVec; ++j) r.v[j] = x;
  return r;
}

__device__ __forceinline__ uint32_t first_group() { return blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ uint32_t group_step() { return gridDim.x * blockDim.x; }

bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// Whether the vector path can run: rank >= 1 (normalize_flat first), the
// innermost dim a multiple of kVec, every input's innermost stride 0 or 1
// (and, when 1, its other strides multiples of kVec and its pointer aligned
// to a whole Pack), the output aligned, and every offset within 32 bits.
template <int K>
bool vector_ok(const Shapes<K>& sh, int64_t n, const void* const (&in)[K], const size_t (&in_size)[K],
               const void* out, size_t out_size) {
  const int r = sh.s[0].rank;
  if (r < 1 || n >= (int64_t{1} << 31) || sh.s[0].dims[r - 1] % kVec != 0 || !aligned(out, kVec * out_size))
    return false;
  for (int k = 0; k < K; ++k) {
    int64_t inner = sh.s[k].strides[r - 1];
    if (inner != 0 && inner != 1) return false;
    int64_t reach = 0;
    for (int d = 0; d < r; ++d) {
      if (inner == 1 && sh.s[k].strides[d] % kVec != 0 && d != r - 1) return false;
      reach += (sh.s[k].dims[d] - 1) * sh.s[k].strides[d];
    }
    if (reach >= (int64_t{1} << 31) || (inner == 1 && !aligned(in[k], kVec * in_size[k]))) return false;
  }
  return true;
}

unsigned groups_grid(int64_t n) { return static_cast<unsigned>(grid_for(n / kVec)); }

// ---- unary

template <UnaryOp OP, class C>
__device__ __forceinline__ C unary_calc(C v, const UnaryParams& p) {
  if constexpr (OP == UnaryOp::kAbs) {
    if constexpr (std::is_floating_point_v<C>) return fabsf(v);
    else return v < 0 ? static_cast<C>(-v) : v;
  } else if constexpr (OP == UnaryOp::kNeg) {
    return static_cast<C>(-v);
  } else if constexpr (OP == UnaryOp::kSign) {
    return static_cast<C>((v > 0) - (v < 0));
  } else if constexpr (OP == UnaryOp::kRelu) {
    return v > 0 ? v : C(0);
  } else if constexpr (OP == UnaryOp::kExp) {
    return expf(v);
  } else if constexpr (OP == UnaryOp::kLog) {
    return logf(v);
  } else if constexpr (OP == UnaryOp::kSqrt) {
    return sqrtf(v);
  } else if constexpr (OP == UnaryOp::kReciprocal) {
    return 1.0f / v;
  } else if constexpr (OP == UnaryOp::kSin) {
    return sinf(v);
  } else if constexpr (OP == UnaryOp::kCos) {
    return cosf(v);
  } else if constexpr (OP == UnaryOp::kTan) {
    return tanf(v);
  } else if constexpr (OP == UnaryOp::kAsin) {
    return asinf(v);
  } else if constexpr (OP == UnaryOp::kAcos) {
    return acosf(v);
  } else if constexpr (OP == UnaryOp::kAtan) {
    return atanf(v);
  } else if constexpr (OP == UnaryOp::kSinh) {
    return sinhf(v);
  } else if constexpr (OP == UnaryOp::kCosh) {
    return coshf(v);
  } else if constexpr (OP == UnaryOp::kAsinh) {
    return asinhf(v);
  } else if constexpr (OP == UnaryOp::kAcosh) {
    return acoshf(v);
  } else if constexpr (OP == UnaryOp::kAtanh) {
    return atanhf(v);
  } else if constexpr (OP == UnaryOp::kTanh) {
    return tanhf(v);
  } else if constexpr (OP == UnaryOp::kSigmoid) {
    return 1.0f / (1.0f + expf(-v));
  } else if constexpr (OP == UnaryOp::kErf) {
    return erff(v);
  } else if constexpr (OP == UnaryOp::kFloor) {
    return floorf(v);
  } else if constexpr (OP == UnaryOp::kCeil) {
    return ceilf(v);
  } else if constexpr (OP == UnaryOp::kRound) {
    return rintf(v);  // halves to even (default rounding mode)
  } else if constexpr (OP == UnaryOp::kSoftplus) {
    return v > 20.0f ? v : log1pf(expf(v));
  } else if constexpr (OP == UnaryOp::kSoftsign) {
    return v / (1.0f + fabsf(v));
  } else if constexpr (OP == UnaryOp::kMish) {
    return v * tanhf(log1pf(expf(v)));
  } else if constexpr (OP == UnaryOp::kHardSwish) {
    return v * std_max(0.0f, std_min(1.0f, v / 6.0f + 0.5f));
  } else if constexpr (OP == UnaryOp::kLeakyRelu) {
    return v >= 0.0f ? v : v * p.alpha;
  } else if constexpr (OP == UnaryOp::kElu) {
    return v >= 0.0f ? v : p.alpha * (expf(v) - 1.0f);
  } else if constexpr (OP == UnaryOp::kSelu) {
    return v > 0.0f ? p.gamma * v : p.gamma * (p.alpha * expf(v) - p.alpha);
  } else if constexpr (OP == UnaryOp::kCelu) {
    return std_max(0.0f, v) + std_min(0.0f, p.alpha * (expf(v / p.alpha) - 1.0f));
  } else if constexpr (OP == UnaryOp::kHardSigmoid) {
    return std_max(0.0f, std_min(1.0f, p.alpha * v + p.beta));
  } else if constexpr (OP == UnaryOp::kGelu) {
    return 0.5f * v * (1.0f + erff(v * 0.7071067811865476f));
  } else if constexpr (OP == UnaryOp::kGeluTanh) {
    return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
  } else if constexpr (OP == UnaryOp::kThresholdedRelu) {
    return v > p.alpha ? v : 0.0f;
  } else if constexpr (OP == UnaryOp::kSwish) {
    return v / (1.0f + expf(-p.alpha * v));
  } else if constexpr (OP == UnaryOp::kShrink) {
    return v < -p.lambd ? v + p.bias : v > p.lambd ? v - p.bias : 0.0f;
  } else {
    static_assert(OP == UnaryOp::kDivConst, "unhandled unary op");
    return v / p.alpha;
  }
}

template <UnaryOp OP, class T>
__global__ void unary_kernel(const T* x, T* y, int64_t n, UnaryParams p) {
  for (int64_t i = first_index(); i < n; i += grid_step()) y[i] = Store<T>::from(unary_calc<OP>(load(x[i]), p));
}

template <UnaryOp OP, class T>
__global__ void unary_vec_kernel(const T* x, T* y, uint32_t groups, UnaryParams p) {
  for (uint32_t g = first_group(); g < groups; g += group_step()) {
    Pack<T> v = load_pack(x + g * kVec, true);
#pragma unroll
    for (int j = 0; j < kVec; ++j) v.v[j] = Store<T>::from(unary_calc<OP>(load(v.v[j]), p));
    *reinterpret_cast<Pack<T>*>(y + g * kVec) = v;
  }
}

template <UnaryOp OP, class T>
void unary_go(const void* x, void* y, int64_t n, const UnaryParams& p, cudaStream_t s) {
  if (n % kVec == 0 && n < (int64_t{1} << 31) && aligned(x, sizeof(Pack<T>)) && aligned(y, sizeof(Pack<T>)))
    unary_vec_kernel<OP, T><<<groups_grid(n), kBlock, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y),
                                                              static_cast<uint32_t>(n / kVec), p);
  else
    unary_kernel<OP, T><<<grid_for(n), kBlock, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), n, p);
}

template <UnaryOp OP>
void unary_typed(ElemType t, const void* x, void* y, int64_t n, const UnaryParams& p, cudaStream_t s) {
  constexpr bool ints = OP == UnaryOp::kAbs || OP == UnaryOp::kNeg || OP == UnaryOp::kSign || OP == UnaryOp::kRelu;
  switch (t) {
    case ElemType::kFloat32: return unary_go<OP, float>(x, y, n, p, s);
    case ElemType::kFloat16: return unary_go<OP, __half>(x, y, n, p, s);
    case ElemType::kBFloat16: return unary_go<OP, __nv_bfloat16>(x, y, n, p, s);
    case ElemType::kInt32:
      if constexpr (ints) unary_go<OP, int32_t>(x, y, n, p, s);
      return;
    case ElemType::kInt64:
      if constexpr (ints) unary_go<OP, int64_t>(x, y, n, p, s);
      return;
    default: return;
  }
}

template <class T, class B>
__global__ void clip_kernel(const T* x, T* y, int64_t n, B lo, B hi) {
  for (int64_t i = first_index(); i < n; i += grid_step()) {
    B a = load(x[i]);
    B v = a < lo ? lo : a;  // min > max gives max, like numpy.clip; NaN stays
    y[i] = Store<T>::from(v > hi ? hi : v);
  }
}

template <class T>
__global__ void isnan_isinf_kernel(const T* x, bool* y, int64_t n, bool nan, bool pos,
                                   bool neg) {
  for (int64_t i = first_index(); i < n; i += grid_step()) {
    float v = load(x[i]);
    y[i] = nan ? isnan(v) : (isinf(v) && ((v > 0.0f && pos) || (v < 0.0f && neg)));
  }
}

__global__ void not_kernel(const bool* x, bool* y, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_step()) y[i] = !x[i];
}

// ---- binary

template <class T>
__device__ __forceinline__ T int_neg(T a) {  // wraps for the most negative value
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(U(0) - static_cast<U>(a));
}

template <BinaryOp OP, class X, class Y>
__device__ __forceinline__ auto binary_calc(X a, Y b) {
  constexpr bool fp = std::is_floating_point_v<X>;
  if constexpr (OP == BinaryOp::kAdd) {
    return static_cast<X>(a + b);
  } else if constexpr (OP == BinaryOp::kSub) {
    return static_cast<X>(a - b);
  } else if constexpr (OP == BinaryOp::kMul) {
    return static_cast<X>(a * b);
  } else if constexpr (OP == BinaryOp::kDiv) {
    if constexpr (fp) return a / b;
    else return b == 0 ? X(0) : b == -1 ? int_neg(a) : static_cast<X>(a / b);  // truncates toward zero
  } else if constexpr (OP == BinaryOp::kMax) {
    return a > b || a != a ? a : b;  // NaN propagates
  } else if constexpr (OP == BinaryOp::kMin) {
    return a < b || a != a ? a : b;
  } else if constexpr (OP == BinaryOp::kMod || OP == BinaryOp::kFMod) {
    // fmod: the remainder has the dividend's sign (C); else the divisor's (Python).
    X r;
    if constexpr (fp) {
      r = fmodf(a, b);
    } else {
      if (b == 0 || b == -1) return X(0);
      r = static_cast<X>(a % b);
    }
    if constexpr (OP == BinaryOp::kMod)
      if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<X>(r + b);
    return r;
  } else if constexpr (OP == BinaryOp::kPRelu) {
    return a < 0 ? static_cast<X>(a * b) : a;
  } else if constexpr (OP == BinaryOp::kPow) {
    return powf(a, static_cast<float>(b));
  } else if constexpr (OP == BinaryOp::kEqual) {
    return a == b;
  } else if constexpr (OP == BinaryOp::kLess) {
    return a < b;
  } else if constexpr (OP == BinaryOp::kLessOrEqual) {
    return a <= b;
  } else if constexpr (OP == BinaryOp::kGreater) {
    return a > b;
  } else if constexpr (OP == BinaryOp::kGreaterOrEqual) {
    return a >= b;
  } else if constexpr (OP == BinaryOp::kAnd) {
    return a && b;
  } else if constexpr (OP == BinaryOp::kOr) {
    return a || b;
  } else {
    static_assert(OP == BinaryOp::kXor, "unhandled binary op");
    return a != b;
  }
}

template <BinaryOp OP, class A, class B, class O, bool FLAT>
__global__ void binary_kernel(const A* a, const B* b, O* out, int64_t n,
                              Shapes<2> sh) {
  for (int64_t i = first_index(); i < n; i += grid_step()) {
    int64_t off[2];
    input_offsets<2, FLAT>(i, sh, off);
    out[i] = Store<O>::from(binary_calc<OP>(load(a[off[0]]), load(b[off[1]])));
  }
}

template <BinaryOp OP, class A, class B, class O>
__global__ void binary_vec_kernel(const A* a, const B* b, O* out, uint32_t groups, Shapes<2> sh) {
  const int r = sh.s[0].rank - 1;
  const bool step_a = sh.s[0].strides[r] != 0, step_b = sh.s[1].strides[r] != 0;
  for (uint32_t g = first_group(); g < groups; g += group_step()) {
    uint32_t off[2];
    offsets<2, uint32_t>(g * kVec, sh, off);
    const Pack<A> va = load_pack(a + off[0], step_a);
    const Pack<B> vb = load_pack(b + off[1], step_b);
    Pack<O> vo;
#pragma unroll
    for (int j = 0; j < kVec; ++j) vo.v[j] = Store<O>::from(binary_calc<OP>(load(va.v[j]), load(vb.v[j])));
    *reinterpret_cast<Pack<O>*>(out + g * kVec) = vo;
  }
}

template <BinaryOp OP, class A, class B, class O>
void binary_go(const void* a, const void* b, void* out, int64_t n, Shapes<2> sh, cudaStream_t s) {
  const auto* pa = static_cast<const A*>(a);
  const auto* pb = static_cast<const B*>(b);
  auto* po = static_cast<O*>(out);
  bool flat = normalize_flat(sh);
  if (vector_ok<2>(sh, n, {a, b}, {sizeof(A), sizeof(B)}, out, sizeof(O)))
    binary_vec_kernel<OP, A, B, O><<<groups_grid(n), kBlock, 0, s>>>(pa, pb, po, static_cast<uint32_t>(n / kVec), sh);
  else if (flat)
    binary_kernel<OP, A, B, O, true><<<grid_for(n), kBlock, 0, s>>>(pa, pb, po, n, sh);
  else
    binary_kernel<OP, A, B, O, false><<<grid_for(n), kBlock, 0, s>>>(pa, pb, po, n, sh);
}

// Ops whose output has the input type (Add ... PRelu).
template <BinaryOp OP>
void binary_same(ElemType t, const void* a, const void* b, void* out, int64_t n, const Shapes<2>& sh, cudaStream_t s) {
  switch (t) {
    case ElemType::kFloat32: return binary_go<OP, float, float, float>(a, b, out, n, sh, s);
    case ElemType::kFloat16: return binary_go<OP, __half, __half, __half>(a, b, out, n, sh, s);
    case ElemType::kBFloat16: return binary_go<OP, __nv_bfloat16, __nv_bfloat16, __nv_bfloat16>(a, b, out, n, sh, s);
    case ElemType::kInt32: return binary_go<OP, int32_t, int32_t, int32_t>(a, b, out, n, sh, s);
    case ElemType::kInt64: return binary_go<OP, int64_t, int64_t, int64_t>(a, b, out, n, sh, s);
    default: return;
  }
}

template <BinaryOp OP>
void binary_compare(ElemType t, const void* a, const void* b, void* out, int64_t n, const Shapes<2>& sh,
                    cudaStream_t s) {
  switch (t) {
    case ElemType::kFloat32: return binary_go<OP, float, float, bool>(a, b, out, n, sh, s);
    case ElemType::kFloat16: return binary_go<OP, __half, __half, bool>(a, b, out, n, sh, s);
    case ElemType::kBFloat16: return binary_go<OP, __nv_bfloat16, __nv_bfloat16, bool>(a, b, out, n, sh, s);
    case ElemType::kInt32: return binary_go<OP, int32_t, int32_t, bool>(a, b, out, n, sh, s);
    case ElemType::kInt64: return binary_go<OP, int64_t, int64_t, bool>(a, b, out, n, sh, s);
    case ElemType::kBool: return binary_go<OP, bool, bool, bool>(a, b, out, n, sh, s);
    default: return;
  }
}

template <class A>
void binary_pow(ElemType tb, const void* a, const void* b, void* out, int64_t n, const Shapes<2>& sh, cudaStream_t s) {
  switch (tb) {
    case ElemType::kInt32: return binary_go<BinaryOp::kPow, A, int32_t, A>(a, b, out, n, sh, s);
    case ElemType::kInt64: return binary_go<BinaryOp::kPow, A, int64_t, A>(a, b, out, n, sh, s);
    case ElemType::kFloat32: return binary_go<BinaryOp::kPow, A, float, A>(a, b, out, n, sh, s);
    case ElemType::kFloat16:
      if constexpr (std::is_same_v<A, __half>) binary_go<BinaryOp::kPow, A, A, A>(a, b, out, n, sh, s);
      return;
    case ElemType::kBFloat16:
      if constexpr (std::is_same_v<A, __nv_bfloat16>) binary_go<BinaryOp::kPow, A, A, A>(a, b, out, n, sh, s);
      return;
    default: return;
  }
}

// ---- Where, broadcast copy: elements moved as unsigned words of their size

template <class E, bool FLAT>
__global__ void where_kernel(const bool* c, const E* x, const E* y,
                             E* out, int64_t n, Shapes<3> sh) {
  for (int64_t i = first_index(); i < n; i += grid_step()) {
    int64_t off[3];
    input_offsets<3, FLAT>(i, sh, off);
    out[i] = c[off[0]] ? x[off[1]] : y[off[2]];
  }
}

template <class E>
__global__ void where_vec_kernel(const bool* c, const E* x, const E* y, E* out, uint32_t groups, Shapes<3> sh) {
  const int r = sh.s[0].rank - 1;
  const bool step_c = sh.s[0].strides[r] != 0, step_x = sh.s[1].strides[r] != 0, step_y = sh.s[2].strides[r] != 0;
  for (uint32_t g = first_group(); g < groups; g += group_step()) {
    uint32_t off[3];
    offsets<3, uint32_t>(g * kVec, sh, off);
    const Pack<bool> vc = load_pack(c + off[0], step_c);
    const Pack<E> vx = load_pack(x + off[1], step_x), vy = load_pack(y + off[2], step_y);
    Pack<E> vo;
#pragma unroll
    for (int j = 0; j < kVec; ++j) vo.v[j] = vc.v[j] ? vx.v[j] : vy.v[j];
    *reinterpret_cast<Pack<E>*>(out + g * kVec) = vo;
  }
}

template <class E>
void where_go(const bool* c, const void* x, const void* y, void* out, int64_t n, Shapes<3> sh, cudaStream_t s) {
  const auto* px = static_cast<const E*>(x);
  const auto* py = static_cast<const E*>(y);
  auto* po = static_cast<E*>(out);
  bool flat = normalize_flat(sh);
  if (vector_ok<3>(sh, n, {c, x, y}, {sizeof(bool), sizeof(E), sizeof(E)}, out, sizeof(E)))
    where_vec_kernel<E><<<groups_grid(n), kBlock, 0, s>>>(c, px, py, po, static_cast<uint32_t>(n / kVec), sh);
  else if (flat)
    where_kernel<E, true><<<grid_for(n), kBlock, 0, s>>>(c, px, py, po, n, sh);
  else
    where_kernel<E, false><<<grid_for(n), kBlock, 0, s>>>(c, px, py, po, n, sh);
}

template <class E, bool FLAT>
__global__ void copy_kernel(const E* x, E* out, int64_t n, Shapes<1> sh) {
  for (int64_t i = first_index(); i < n; i += grid_step()) {
    int64_t off[1];
    input_offsets<1, FLAT>(i, sh, off);
    out[i] = x[off[0]];
  }
}

template <class E>
__global__ void copy_vec_kernel(const E* x, E* out, uint32_t groups, Shapes<1> sh) {
  const bool step = sh.s[0].strides[sh.s[0].rank - 1] != 0;
  for (uint32_t g = first_group(); g < groups; g += group_step()) {
    uint32_t off[1];
    offsets<1, uint32_t>(g * kVec, sh, off);
    *reinterpret_cast<Pack<E>*>(out + g * kVec) = load_pack(x + off[0], step);
  }
}

template <class E>
void copy_go(const void* x, void* out, int64_t n, Shapes<1> sh, cudaStream_t s) {
  const auto* px = static_cast<const E*>(x);
  auto* po = static_cast<E*>(out);
  bool flat = normalize_flat(sh);
  if (vector_ok<1>(sh, n, {x}, {sizeof(E)}, out, sizeof(E)))
    copy_vec_kernel<E><<<groups_grid(n), kBlock, 0, s>>>(px, po, static_cast<uint32_t>(n / kVec), sh);
  else if (flat)
    copy_kernel<E, true><<<grid_for(n), kBlock, 0, s>>>(px, po, n, sh);
  else
    copy_kernel<E, false><<<grid_for(n), kBlock, 0, s>>>(px, po, n, sh);
}

// ---- Cast

template <class D, class S>
__device__ __forceinline__ D convert(S v) {
  auto c = load(v);
  using C = decltype(c);
  if constexpr (std::is_same_v<D, bool>) {
    return c != C(0);
  } else if constexpr (std::is_floating_point_v<C> && sizeof(D) == 1) {
    return static_cast<D>(static_cast<int32_t>(c));  // to 8 bits through int32, like the host's conversion
  } else {
    return Store<D>::from(static_cast<typename Calc<D>::type>(c));
  }
}

template <class S, class D>
__global__ void cast_kernel(const S* x, D* y, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_step()) y[i] = convert<D>(x[i]);
}

template <class S, class D>
__global__ void cast_vec_kernel(const S* x, D* y, uint32_t groups) {
  for (uint32_t g = first_group(); g < groups; g += group_step()) {
    const Pack<S> v = load_pack(x + g * kVec, true);
    Pack<D> o;
#pragma unroll
    for (int j = 0; j < kVec; ++j) o.v[j] = convert<D>(v.v[j]);
    *reinterpret_cast<Pack<D>*>(y + g * kVec) = o;
  }
}

template <class S, class D>
void cast_go(const S* x, D* y, int64_t n, cudaStream_t s) {
  if (n % kVec == 0 && n < (int64_t{1} << 31) && aligned(x, sizeof(Pack<S>)) && aligned(y, sizeof(Pack<D>)))
    cast_vec_kernel<<<groups_grid(n), kBlock, 0, s>>>(x, y, static_cast<uint32_t>(n / kVec));
  else
    cast_kernel<<<grid_for(n), kBlock, 0, s>>>(x, y, n);
}

template <class S>
void cast_from(ElemType to, const void* x, void* y, int64_t n, cudaStream_t s) {
  const auto* px = static_cast<const S*>(x);
  switch (to) {
    case ElemType::kFloat32: return cast_go(px, static_cast<float*>(y), n, s);
    case ElemType::kFloat16: return cast_go(px, static_cast<__half*>(y), n, s);
    case ElemType::kBFloat16: return cast_go(px, static_cast<__nv_bfloat16*>(y), n, s);
    case ElemType::kInt8: return cast_go(px, static_cast<int8_t*>(y), n, s);
    case ElemType::kUInt8: return cast_go(px, static_cast<uint8_t*>(y), n, s);
    case ElemType::kInt32: return cast_go(px, static_cast<int32_t*>(y), n, s);
    case ElemType::kInt64: return cast_go(px, static_cast<int64_t*>(y), n, s);
    case ElemType::kBool: return cast_go(px, static_cast<bool*>(y), n, s);
  }
}

}  // namespace

void launch_unary(UnaryOp op, ElemType t, const void* x, void* y, int64_t n, const UnaryParams& p, cudaStream_t s) {
  if (n <= 0) return;
  switch (op) {
#define DYNRT_UNARY_CASE(OP) \
  case UnaryOp::OP: return unary_typed<UnaryOp::OP>(t, x, y, n, p, s);
    DYNRT_UNARY_CASE(kAbs) DYNRT_UNARY_CASE(kNeg) DYNRT_UNARY_CASE(kSign) DYNRT_UNARY_CASE(kRelu)
    DYNRT_UNARY_CASE(kExp) DYNRT_UNARY_CASE(kLog) DYNRT_UNARY_CASE(kSqrt) DYNRT_UNARY_CASE(kReciprocal)
    DYNRT_UNARY_CASE(kSin) DYNRT_UNARY_CASE(kCos) DYNRT_UNARY_CASE(kTan) DYNRT_UNARY_CASE(kAsin)
    DYNRT_UNARY_CASE(kAcos) DYNRT_UNARY_CASE(kAtan) DYNRT_UNARY_CASE(kSinh) DYNRT_UNARY_CASE(kCosh)
    DYNRT_UNARY_CASE(kAsinh) DYNRT_UNARY_CASE(kAcosh) DYNRT_UNARY_CASE(kAtanh) DYNRT_UNARY_CASE(kTanh)
    DYNRT_UNARY_CASE(kSigmoid) DYNRT_UNARY_CASE(kErf) DYNRT_UNARY_CASE(kFloor) DYNRT_UNARY_CASE(kCeil)
    DYNRT_UNARY_CASE(kRound) DYNRT_UNARY_CASE(kSoftplus) DYNRT_UNARY_CASE(kSoftsign) DYNRT_UNARY_CASE(kMish)
    DYNRT_UNARY_CASE(kHardSwish) DYNRT_UNARY_CASE(kLeakyRelu) DYNRT_UNARY_CASE(kElu) DYNRT_UNARY_CASE(kSelu)
    DYNRT_UNARY_CASE(kCelu) DYNRT_UNARY_CASE(kHardSigmoid) DYNRT_UNARY_CASE(kGelu) DYNRT_UNARY_CASE(kGeluTanh)
    DYNRT_UNARY_CASE(kThresholdedRelu) DYNRT_UNARY_CASE(kSwish) DYNRT_UNARY_CASE(kShrink)
    DYNRT_UNARY_CASE(kDivConst)
#undef DYNRT_UNARY_CASE
  }
}

void launch_clip(ElemType t, const void* x, void* y, int64_t n, const ClipBounds& b, cudaStream_t s) {
  if (n <= 0) return;
  const int g = grid_for(n);
  switch (t) {
    case ElemType::kFloat32:
      return clip_kernel<<<g, kBlock, 0, s>>>(static_cast<const float*>(x), static_cast<float*>(y), n, b.flo, b.fhi);
    case ElemType::kFloat16:
      return clip_kernel<<<g, kBlock, 0, s>>>(static_cast<const __half*>(x), static_cast<__half*>(y), n, b.flo, b.fhi);
    case ElemType::kBFloat16:
      return clip_kernel<<<g, kBlock, 0, s>>>(static_cast<const __nv_bfloat16*>(x), static_cast<__nv_bfloat16*>(y),
                                              n, b.flo, b.fhi);
    case ElemType::kInt32:
      return clip_kernel<<<g, kBlock, 0, s>>>(static_cast<const int32_t*>(x), static_cast<int32_t*>(y), n,
                                              static_cast<int32_t>(b.ilo), static_cast<int32_t>(b.ihi));
    case ElemType::kInt64:
      return clip_kernel<<<g, kBlock, 0, s>>>(static_cast<const int64_t*>(x), static_cast<int64_t*>(y), n, b.ilo,
                                              b.ihi);
    default: return;
  }
}

void launch_isnan_isinf(ElemType t, const void* x, bool* y, int64_t n, bool nan, bool pos, bool neg, cudaStream_t s) {
  if (n <= 0) return;
  const int g = grid_for(n);
  switch (t) {
    case ElemType::kFloat32:
      return isnan_isinf_kernel<<<g, kBlock, 0, s>>>(static_cast<const float*>(x), y, n, nan, pos, neg);
    case ElemType::kFloat16:
      return isnan_isinf_kernel<<<g, kBlock, 0, s>>>(static_cast<const __half*>(x), y, n, nan, pos, neg);
    case ElemType::kBFloat16:
      return isnan_isinf_kernel<<<g, kBlock, 0, s>>>(static_cast<const __nv_bfloat16*>(x), y, n, nan, pos, neg);
    default: return;
  }
}

void launch_not(const bool* x, bool* y, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  not_kernel<<<grid_for(n), kBlock, 0, s>>>(x, y, n);
}

void launch_binary(BinaryOp op, ElemType ta, ElemType tb, const void* a, const void* b, void* out, int64_t n,
                   const Strided& sa, const Strided& sb, cudaStream_t s) {
  if (n <= 0) return;
  Shapes<2> sh{{sa, sb}};
  switch (op) {
    case BinaryOp::kAdd: return binary_same<BinaryOp::kAdd>(ta, a, b, out, n, sh, s);
    case BinaryOp::kSub: return binary_same<BinaryOp::kSub>(ta, a, b, out, n, sh, s);
    case BinaryOp::kMul: return binary_same<BinaryOp::kMul>(ta, a, b, out, n, sh, s);
    case BinaryOp::kDiv: return binary_same<BinaryOp::kDiv>(ta, a, b, out, n, sh, s);
    case BinaryOp::kMax: return binary_same<BinaryOp::kMax>(ta, a, b, out, n, sh, s);
    case BinaryOp::kMin: return binary_same<BinaryOp::kMin>(ta, a, b, out, n, sh, s);
    case BinaryOp::kMod: return binary_same<BinaryOp::kMod>(ta, a, b, out, n, sh, s);
    case BinaryOp::kFMod: return binary_same<BinaryOp::kFMod>(ta, a, b, out, n, sh, s);
    case BinaryOp::kPRelu: return binary_same<BinaryOp::kPRelu>(ta, a, b, out, n, sh, s);
    case BinaryOp::kPow:
      if (ta == ElemType::kFloat32) return binary_pow<float>(tb, a, b, out, n, sh, s);
      if (ta == ElemType::kFloat16) return binary_pow<__half>(tb, a, b, out, n, sh, s);
      if (ta == ElemType::kBFloat16) return binary_pow<__nv_bfloat16>(tb, a, b, out, n, sh, s);
      return;
    case BinaryOp::kEqual: return binary_compare<BinaryOp::kEqual>(ta, a, b, out, n, sh, s);
    case BinaryOp::kLess: return binary_compare<BinaryOp::kLess>(ta, a, b, out, n, sh, s);
    case BinaryOp::kLessOrEqual: return binary_compare<BinaryOp::kLessOrEqual>(ta, a, b, out, n, sh, s);
    case BinaryOp::kGreater: return binary_compare<BinaryOp::kGreater>(ta, a, b, out, n, sh, s);
    case BinaryOp::kGreaterOrEqual: return binary_compare<BinaryOp::kGreaterOrEqual>(ta, a, b, out, n, sh, s);
    case BinaryOp::kAnd: return binary_go<BinaryOp::kAnd, bool, bool, bool>(a, b, out, n, sh, s);
    case BinaryOp::kOr: return binary_go<BinaryOp::kOr, bool, bool, bool>(a, b, out, n, sh, s);
    case BinaryOp::kXor: return binary_go<BinaryOp::kXor, bool, bool, bool>(a, b, out, n, sh, s);
  }
}

void launch_where(int elem_size, const bool* cond, const void* x, const void* y, void* out, int64_t n,
                  const Strided& sc, const Strided& sx, const Strided& sy, cudaStream_t s) {
  if (n <= 0) return;
  Shapes<3> sh{{sc, sx, sy}};
  switch (elem_size) {
    case 1: return where_go<uint8_t>(cond, x, y, out, n, sh, s);
    case 2: return where_go<uint16_t>(cond, x, y, out, n, sh, s);
    case 4: return where_go<uint32_t>(cond, x, y, out, n, sh, s);
    case 8: return where_go<uint64_t>(cond, x, y, out, n, sh, s);
    default: return;
  }
}

void launch_broadcast_copy(int elem_size, const void* x, void* out, int64_t n, const Strided& sx, cudaStream_t s) {
  if (n <= 0) return;
  Shapes<1> sh{{sx}};
  switch (elem_size) {
    case 1: return copy_go<uint8_t>(x, out, n, sh, s);
    case 2: return copy_go<uint16_t>(x, out, n, sh, s);
    case 4: return copy_go<uint32_t>(x, out, n, sh, s);
    case 8: return copy_go<uint64_t>(x, out, n, sh, s);
    default: return;
  }
}

void launch_cast(ElemType from, ElemType to, const void* x, void* y, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  switch (from) {
    case ElemType::kFloat32: return cast_from<float>(to, x, y, n, s);
    case ElemType::kFloat16: return cast_from<__half>(to, x, y, n, s);
    case ElemType::kBFloat16: return cast_from<__nv_bfloat16>(to, x, y, n, s);
    case ElemType::kInt8: return cast_from<int8_t>(to, x, y, n, s);
    case ElemType::kUInt8: return cast_from<uint8_t>(to, x, y, n, s);
    case ElemType::kInt32: return cast_from<int32_t>(to, x, y, n, s);
    case ElemType::kInt64: return cast_from<int64_t>(to, x, y, n, s);
    case ElemType::kBool: return cast_from<bool>(to, x, y, n, s);
  }
}

}  // namespace dynrt::cuda
