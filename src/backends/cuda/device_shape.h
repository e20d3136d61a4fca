// Shapes as device kernels take them: plain structs passed by value, shared
// by the host side (.cpp) and the device side (.cu).
#pragma once

#include <cstdint>

namespace dynrt::cuda {

constexpr int kMaxDims = 8;

// Dims of a tensor and the element strides to read it with; a stride of 0
// broadcasts that dimension.
struct Strided {
  int rank = 0;
  int64_t dims[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};
};

// Element types of device kernels (a subset of dynrt::DType, same values).
enum class ElemType : int32_t {
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kFloat16 = 10,
  kBFloat16 = 16,
};

}  // namespace dynrt::cuda
