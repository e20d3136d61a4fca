// A reduction's dims in canonical form, shared by the providers' Reduce
// kernels: size-1 dims dropped and neighbours that are both reduced or both
// kept merged, each with its row-major stride in the input.
#pragma once

#include <vector>

#include "core/tensor_view.h"

namespace dynrt {

struct MergedDim {
  int64_t size;
  bool reduced;
  int64_t stride;
};

// `reduced[i]`: dim i of x is reduced. Never empty (a scalar is one kept dim of 1).
inline std::vector<MergedDim> merge_reduce_dims(const TensorView& x, const std::vector<bool>& reduced) {
  std::vector<MergedDim> m;
  for (int i = 0; i < x.rank; ++i) {
    int64_t d = x.dim(i);
    bool r = reduced[static_cast<size_t>(i)];
    if (d == 1) continue;
    if (!m.empty() && m.back().reduced == r) m.back().size *= d;
    else m.push_back({d, r, 0});
  }
  if (m.empty()) m.push_back({1, false, 0});
  int64_t s = 1;
  for (size_t i = m.size(); i-- > 0;) {
    m[i].stride = s;
    s *= m[i].size;
  }
  return m;
}

}  // namespace dynrt
