// Launchers of the elementwise device kernels (elementwise.cu), with plain
// C++ signatures for elementwise.cpp. Element counts may be 0 (nothing is
// launched). Float types compute in float32; integer types in their own type.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/device_shape.h"

namespace dynrt::cuda {

enum class UnaryOp : int32_t {
  kAbs, kNeg, kSign, kRelu,  // also on int32 / int64
  kExp, kLog, kSqrt, kReciprocal, kSin, kCos, kTan, kAsin, kAcos, kAtan, kSinh, kCosh, kAsinh, kAcosh, kAtanh,
  kTanh, kSigmoid, kErf, kFloor, kCeil, kRound, kSoftplus, kSoftsign, kMish, kHardSwish,
  kLeakyRelu, kElu, kSelu, kCelu, kHardSigmoid, kGelu, kGeluTanh, kThresholdedRelu, kSwish, kShrink,
  kDivConst,  // v / alpha (Mean's last step)
};

// Attribute values of the activations (ActivationAttrs); lambd and bias are
// Shrink's.
struct UnaryParams {
  float alpha = 0, beta = 0, gamma = 0, lambd = 0, bias = 0;
};

// Float ops: t is kFloat32, kFloat16 or kBFloat16. kAbs, kNeg, kSign, kRelu
// also take kInt32 and kInt64.
void launch_unary(UnaryOp op, ElemType t, const void* x, void* y, int64_t n, const UnaryParams& p, cudaStream_t s);

// Clip's bounds: the float ones for float types, the integer ones otherwise.
struct ClipBounds {
  float flo = 0, fhi = 0;
  int64_t ilo = 0, ihi = 0;
};
void launch_clip(ElemType t, const void* x, void* y, int64_t n, const ClipBounds& b, cudaStream_t s);

// IsNaN (nan) or IsInf (detecting +inf and/or -inf); bool output.
void launch_isnan_isinf(ElemType t, const void* x, bool* y, int64_t n, bool nan, bool pos, bool neg, cudaStream_t s);
void launch_not(const bool* x, bool* y, int64_t n, cudaStream_t s);

enum class BinaryOp : int32_t {
  kAdd, kSub, kMul, kDiv, kMax, kMin, kMod, kFMod, kPRelu,  // output type = input type
  kPow,                                                     // float base; exponent of the base's type, int32 or int64
  kEqual, kLess, kLessOrEqual, kGreater, kGreaterOrEqual,   // bool output
  kAnd, kOr, kXor,                                          // bool inputs and output
};

// out[i] = op(a[...], b[...]) over the n elements of the output. sa and sb
// hold the output's dims (collapsed) with each input's element strides
// (0 broadcasts); rank <= 1 takes the flat path (index * stride).
void launch_binary(BinaryOp op, ElemType ta, ElemType tb, const void* a, const void* b, void* out, int64_t n,
                   const Strided& sa, const Strided& sb, cudaStream_t s);

// Where: out = cond ? x : y, elements of elem_size bytes (1, 2, 4 or 8).
void launch_where(int elem_size, const bool* cond, const void* x, const void* y, void* out, int64_t n,
                  const Strided& sc, const Strided& sx, const Strided& sy, cudaStream_t s);

// out[i] = x[...]: a broadcast copy (Expand), elements of elem_size bytes.
void launch_broadcast_copy(int elem_size, const void* x, void* out, int64_t n, const Strided& sx, cudaStream_t s);

// Cast between float32, float16, bfloat16, int8, uint8, int32, int64, bool.
void launch_cast(ElemType from, ElemType to, const void* x, void* y, int64_t n, cudaStream_t s);

}  // namespace dynrt::cuda
