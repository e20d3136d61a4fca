// Checked size arithmetic: element counts and byte sizes computed from
// untrusted dims (model files, engine files, run-time shape values) either
// fit, or raise an error naming what was being sized. One place, so every
// loader answers an absurd size the same way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dynrt/error.h"
#include "dynrt/types.h"

namespace dynrt {

// The largest tensor dynrt will size (64 TiB): far above any real tensor,
// far below where int64 byte arithmetic could wrap.
inline constexpr int64_t kMaxTensorBytes = int64_t{1} << 46;

// Elements of a tensor with these dims; negative dims and overflow are `code` errors naming `what`.
inline int64_t checked_numel(const std::vector<int64_t>& dims, const std::string& what,
                             ErrorCode code = ErrorCode::kInvalidModel) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) throw Error(code, what + " has a negative dimension " + std::to_string(d));
    if (__builtin_mul_overflow(n, d, &n) || n > kMaxTensorBytes)
      throw Error(code, what + " has dims " + dims_str(dims) + ": too many elements");
  }
  return n;
}

// Bytes of a tensor of this type and dims, at most kMaxTensorBytes.
inline int64_t checked_bytes(DType t, const std::vector<int64_t>& dims, const std::string& what,
                             ErrorCode code = ErrorCode::kInvalidModel) {
  int64_t bytes = 0;
  if (__builtin_mul_overflow(checked_numel(dims, what, code), static_cast<int64_t>(dtype_size(t)), &bytes) ||
      bytes > kMaxTensorBytes)
    throw Error(code, what + " has dims " + dims_str(dims) + ": too large (" + dtype_name(t) + ")");
  return bytes;
}

}  // namespace dynrt
