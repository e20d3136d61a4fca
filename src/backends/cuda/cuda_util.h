// What the CUDA provider's kernels share on the host side: error checks that
// turn CUDA, cuBLASLt and cuDNN failures into dynrt errors naming the node,
// the context's stream with its library handles, and small shape helpers.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>
#include <vector>

#include "backends/cuda/device_shape.h"
#include "backends/kernel.h"
#include "backends/provider.h"

namespace dynrt::cuda {

[[noreturn]] void fail(const std::string& what, const std::string& why);
inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail(what, std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e));
}
inline void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) fail(what, std::string("cuBLAS status ") + std::to_string(static_cast<int>(s)));
}
inline void check(cudnnStatus_t s, const char* what) {
  if (s != CUDNN_STATUS_SUCCESS) fail(what, std::string("cuDNN: ") + cudnnGetErrorString(s));
}

// One execution context's queue on the GPU: a stream (the caller's or its
// own), a cuBLASLt and a cuDNN handle bound to it, and scratch memory.
class Stream final : public ProviderStream {
 public:
  explicit Stream(cudaStream_t user);
  ~Stream() override;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  cudaStream_t get() const { return stream_; }
  cublasLtHandle_t blas() const { return blas_; }
  cudnnHandle_t dnn();  // created on first use: loading cuDNN takes a while
  // Scratch of at least `bytes`, valid until the next call (work queued
  // earlier on this stream may still read the old block: it is freed in
  // stream order). Two blocks: the workspace that library calls (cuBLASLt,
  // cuDNN) are given, and temporaries a kernel keeps across its own library
  // calls (attention's scores), which must not share memory with them.
  void* workspace(size_t bytes) { return grow(workspace_, bytes); }
  void* temporaries(size_t bytes) { return grow(temporaries_, bytes); }
  // A flag in host-mapped memory that a kernel sets (to any non-zero value)
  // when it finds bad input data it cannot report otherwise (an index out of
  // range); synchronize() then throws kInvalidInput with `message`.
  int* error_flag(const std::string& message);

  void copy_to_host(void* host_dst, const void* src, size_t bytes) override;
  void copy_from_host(void* dst, const void* host_src, size_t bytes) override;
  void copy_within(void* dst, const void* src, size_t bytes) override;
  void synchronize() override;
  // CUDA graphs.
  bool begin_capture() override;
  std::unique_ptr<CapturedWork> end_capture() override;
  uint64_t generation() const override { return generation_; }
  int64_t scratch_bytes() const override { return static_cast<int64_t>(workspace_.bytes + temporaries_.bytes); }

 private:
  cudaStream_t stream_ = nullptr;
  bool owned_ = false;
  cublasLtHandle_t blas_ = nullptr;
  cudnnHandle_t dnn_ = nullptr;
  struct Scratch {
    void* data = nullptr;
    size_t bytes = 0;
  };
  void* grow(Scratch& block, size_t bytes);
  Scratch workspace_, temporaries_;
  uint64_t generation_ = 0;  // bumped when a scratch block moves
  static constexpr int kFlags = 64;
  int* flags_host_ = nullptr;  // kFlags ints, host-mapped
  int* flags_device_ = nullptr;
  std::vector<std::string> flag_messages_;
};

inline Stream& stream_of(const KernelContext& c) {
  if (!c.stream) fail("a CUDA kernel", "ran without a CUDA stream");
  return *static_cast<Stream*>(c.stream);
}

// Row-major strides of v's dims, broadcast (right-aligned) to `rank` dims.
Strided broadcast_strides(const TensorView& v, int rank, const int64_t* out_dims);
Strided contiguous(const TensorView& v);

// True when a node only does arithmetic on small integer tensors (shapes,
// indices computed from shapes): such nodes run on the host, next to the
// ops that read shapes, rather than costing two copies.
bool shape_math(const KernelInit& n);
bool is_float(DType t);  // float32, float16, bfloat16 (device math in float32)

}  // namespace dynrt::cuda
