#include "backends/cuda/cuda_util.h"

namespace dynrt::cuda {

void fail(const std::string& what, const std::string& why) {
  throw Error(ErrorCode::kInternal, "CUDA: " + what + " failed: " + why);
}

Strided broadcast_strides(const TensorView& v, int rank, const int64_t* out_dims) {
  Strided s;
  s.rank = rank;
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; --d) {
    int j = d - (rank - v.rank);
    s.dims[d] = out_dims[d];
    if (j < 0 || v.dim(j) == 1) {
      s.strides[d] = 0;
    } else {
      s.strides[d] = stride;
      stride *= v.dim(j);
    }
  }
  return s;
}

Strided contiguous(const TensorView& v) {
  Strided s;
  s.rank = v.rank;
  int64_t stride = 1;
  for (int d = v.rank - 1; d >= 0; --d) {
    s.dims[d] = v.dim(d);
    s.strides[d] = stride;
    stride *= v.dim(d);
  }
  return s;
}

bool shape_math(const KernelInit& n) {
  bool computed = false;  // at least one input not known at build time
  for (size_t i = 0; i < n.num_inputs(); ++i) {
    if (!n.has_input(i)) continue;
    DType t = n.input_dtype(i);
    if ((t != DType::kInt64 && t != DType::kInt32) || n.input_rank(i) > 1) return false;
    computed |= n.constant_input(i) == nullptr;
  }
  return computed;
}

bool is_float(DType t) { return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16; }

}  // namespace dynrt::cuda
