// Row-major GEMMs through cuBLASLt: Y[b] (m x n) = act(alpha * op(A[b]) op(B[b])
// + beta * C[b] + bias along n), C being Y itself or another buffer of Y's
// layout (a residual), act ReLU, GELU (tanh approximation) or none; planned once per shape (descriptors and
// the heuristic's algorithm) and run many times. float32 products run in
// float32 (no TF32); float16/bfloat16 ones on tensor cores with float32
// accumulation.
#pragma once

#include <memory>
#include <span>

#include "backends/cuda/cuda_util.h"
#include "backends/cuda/gemm_tuning.h"

namespace dynrt::cuda {

struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;   // A is stored k x m, B is stored n x k
  int64_t batch = 1;
  int64_t stride_a = 0, stride_b = 0, stride_y = 0;  // elements between batches (0: shared)
  bool bias = false;                                 // add a length-n vector to every row
  bool relu = false;                                 // then max(0, .)
  bool gelu = false;                                 // or GELU (cuBLASLt's tanh approximation)
  bool residual = false;                             // run() is given a C (beta 1); for timing only
  DType dtype = DType::kFloat32;                     // of A, B, Y and the bias
  uint32_t alignment = 16;  // bytes every pointer passed to run() is aligned to
};

// A GEMM planned twice: for 16-byte-aligned pointers (the arenas' and most
// callers'), and for any element-aligned ones (a caller's tensor slice, a
// batch at an odd offset); run() takes the plan the pointers allow. The
// aligned plan follows the node's tuning (gemm_tuning.h): `measure` set (the
// builder is tuning), it times the candidates and adds the winner to `tuning`.
struct AlignedGemm : KernelState {
  AlignedGemm(Stream& s, GemmShape g, const std::string& label, GemmTuning* tuning = nullptr,
              TimingCache* measure = nullptr);
  // c: the buffer beta scales (null: y itself).
  void run(Stream& s, const void* a, const void* b, void* y, const void* bias, float alpha, float beta,
           const void* c = nullptr) const;
  std::unique_ptr<class LtGemm> fast, any;
};

cudaDataType_t cuda_type(DType t);

class LtGemm : public KernelState {
 public:
  LtGemm(Stream& s, const GemmShape& shape, const std::string& label, GemmTuning* tuning = nullptr,
         TimingCache* measure = nullptr);
  ~LtGemm() override;
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;
  // beta != 0 adds beta * c (null c: what y holds).
  void run(Stream& s, const void* a, const void* b, void* y, const void* bias, float alpha, float beta,
           const void* c = nullptr) const;

 private:
  friend struct AlignedGemm;
  GemmChoice measure(Stream& s, const GemmShape& g, std::span<const cublasLtMatmulHeuristicResult_t> candidates);
  std::string label_;
  uint32_t alignment_ = 16;
  cublasLtMatmulDesc_t op_ = nullptr;
  cublasLtMatrixLayout_t x_ = nullptr, w_ = nullptr, d_ = nullptr;
  cublasLtMatmulAlgo_t algo_{};
  size_t workspace_ = 0;
};

}  // namespace dynrt::cuda
