// A dense row-major tensor as kernels and shape functions see it: element
// type, resolved dims, and a pointer into some provider's memory.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "dynrt/types.h"

namespace dynrt {

constexpr int kMaxRank = 8;

struct TensorView {
  DType dtype = DType::kUndefined;
  int rank = 0;
  std::array<int64_t, kMaxRank> dims{};
  void* data = nullptr;  // in the memory of the provider that runs the node

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[static_cast<size_t>(i)];
    return n;
  }
  std::span<const int64_t> shape() const { return {dims.data(), static_cast<size_t>(rank)}; }
  int64_t dim(int i) const { return dims[static_cast<size_t>(i)]; }
  template <class T> T* as() const { return static_cast<T*>(data); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
};

}  // namespace dynrt
