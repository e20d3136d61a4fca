// Byte-moving helpers for the movement and indexing kernels: they copy
// elements by size (1/2/4/8 bytes), so every dtype the data path carries
// works without a per-type instantiation.
#pragma once

#include <string>
#include <vector>

#include "backends/cpu/kernel_util.h"

namespace dynrt::cpu {

// Dispatch on an element size: body uses the unsigned type alias E.
#define DYNRT_DISPATCH_BYTES(SIZE, OPNAME, ...)                                                    \
  switch (SIZE) {                                                                                  \
    case 1: { using E = uint8_t; __VA_ARGS__; break; }                                             \
    case 2: { using E = uint16_t; __VA_ARGS__; break; }                                            \
    case 4: { using E = uint32_t; __VA_ARGS__; break; }                                            \
    case 8: { using E = uint64_t; __VA_ARGS__; break; }                                            \
    default:                                                                                       \
      throw Error(ErrorCode::kInternal, std::string(OPNAME) + ": element size " + std::to_string(SIZE)); \
  }

// Element i of an int32/int64 tensor.
inline int64_t index_at(const TensorView& v, int64_t i) {
  if (v.dtype == DType::kInt64) return v.as<const int64_t>()[i];
  if (v.dtype == DType::kInt32) return v.as<const int32_t>()[i];
  unsupported_dtype("index input", v.dtype);
}

inline std::vector<int64_t> read_ints(const TensorView& v) {
  std::vector<int64_t> out(static_cast<size_t>(v.numel()));
  for (size_t i = 0; i < out.size(); ++i) out[i] = index_at(v, static_cast<int64_t>(i));
  return out;
}

[[noreturn]] inline void index_error(const char* op, int64_t idx, int64_t dim) {
  throw Error(ErrorCode::kInvalidInput, std::string(op) + ": index " + std::to_string(idx) +
                                            " is out of range for a dimension of " + std::to_string(dim));
}

// Normalize a possibly negative index against dim, throwing when out of range.
inline int64_t wrap_index(const char* op, int64_t idx, int64_t dim) {
  if (idx < -dim || idx >= dim) index_error(op, idx, dim);
  return idx < 0 ? idx + dim : idx;
}

inline int64_t prod(const int64_t* d, int b, int e) {
  int64_t n = 1;
  for (int i = b; i < e; ++i) n *= d[i];
  return n;
}

// dst (contiguous, `dims`) <- src, where output index (i0..ik) reads element
// sum(i_j * src_strides[j]) of src (strides in elements, may be negative).
// Covers Transpose, Slice, DepthToSpace and friends.
void strided_copy(void* dst, const void* src, size_t elem_size, int rank, const int64_t* dims,
                  const int64_t* src_strides);

}  // namespace dynrt::cpu
