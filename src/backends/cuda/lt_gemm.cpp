#include "backends/cuda/lt_gemm.h"

namespace dynrt::cuda {
namespace {

constexpr size_t kMaxWorkspace = size_t{32} << 20;

template <class T>
void set(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t a, T v, const char* what) {
  check(cublasLtMatrixLayoutSetAttribute(l, a, &v, sizeof(v)), what);
}

cublasLtMatrixLayout_t layout(cudaDataType_t type, uint64_t rows, uint64_t cols, int64_t ld, int64_t batch,
                              int64_t stride) {
  cublasLtMatrixLayout_t l = nullptr;
  check(cublasLtMatrixLayoutCreate(&l, type, rows, cols, ld), "creating a cuBLASLt matrix layout");
  if (batch > 1) {
    set(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, static_cast<int32_t>(batch), "setting the batch count");
    set(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, stride, "setting the batch stride");
  }
  return l;
}

}  // namespace

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::kFloat16: return CUDA_R_16F;
    case DType::kBFloat16: return CUDA_R_16BF;
    default: return CUDA_R_32F;
  }
}

// cuBLASLt is column-major: the row-major product Y = op(A) op(B) is computed
// as the column-major Y^T (n x m) = op(B)^T op(A)^T, whose operands are A's
// and B's buffers read as stored.
LtGemm::LtGemm(Stream& s, const GemmShape& g, const std::string& label) : label_(label), alignment_(g.alignment) {
  if (g.batch > INT32_MAX) fail(label, "more than 2^31 GEMMs in one batch");
  // float32 accumulation and scaling; for float32 data also float32 products (no TF32).
  check(cublasLtMatmulDescCreate(&op_, CUBLAS_COMPUTE_32F, CUDA_R_32F), "creating a cuBLASLt matmul");
  cudaDataType_t t = cuda_type(g.dtype);
  cublasOperation_t tw = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, tx = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  check(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSA, &tw, sizeof(tw)), "setting transA");
  check(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSB, &tx, sizeof(tx)), "setting transB");
  if (g.relu && g.gelu) fail(label, "a GEMM with two activations");
  if (g.bias || g.relu || g.gelu) {
    cublasLtEpilogue_t e = g.relu ? (g.bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU)
                           : g.gelu ? (g.bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU)
                                    : CUBLASLT_EPILOGUE_BIAS;
    check(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_EPILOGUE, &e, sizeof(e)), "setting the epilogue");
  }
  // First operand: B's buffer (n x k after its op), second: A's (k x m).
  auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
  w_ = g.trans_b ? layout(t, u(g.k), u(g.n), g.k, g.batch, g.stride_b) : layout(t, u(g.n), u(g.k), g.n, g.batch, g.stride_b);
  x_ = g.trans_a ? layout(t, u(g.m), u(g.k), g.m, g.batch, g.stride_a) : layout(t, u(g.k), u(g.m), g.k, g.batch, g.stride_a);
  d_ = layout(t, u(g.n), u(g.m), g.n, g.batch, g.stride_y);

  cublasLtMatmulPreference_t pref = nullptr;
  check(cublasLtMatmulPreferenceCreate(&pref), "creating a cuBLASLt preference");
  size_t ws = kMaxWorkspace;
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
  for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
    cublasLtMatmulPreferenceSetAttribute(pref, attr, &alignment_, sizeof(alignment_));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(s.blas(), op_, w_, x_, d_, d_, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  check(st, (label + ": choosing a cuBLASLt algorithm").c_str());
  if (found == 0) fail(label, "cuBLASLt has no algorithm for this GEMM");
  algo_ = result.algo;
  workspace_ = result.workspaceSize;
}

LtGemm::~LtGemm() {
  if (d_) cublasLtMatrixLayoutDestroy(d_);
  if (x_) cublasLtMatrixLayoutDestroy(x_);
  if (w_) cublasLtMatrixLayoutDestroy(w_);
  if (op_) cublasLtMatmulDescDestroy(op_);
}

void LtGemm::run(Stream& s, const void* a, const void* b, void* y, const void* bias, float alpha, float beta,
                 const void* c) const {
  if (bias)
    check(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)),
          "setting the bias");
  void* ws = workspace_ ? s.workspace(workspace_) : nullptr;
  check(cublasLtMatmul(s.blas(), op_, &alpha, b, w_, a, x_, &beta, c ? c : y, d_, y, d_, &algo_, ws, workspace_,
                       s.get()),
        label_.c_str());
}

}  // namespace dynrt::cuda

namespace dynrt::cuda {

AlignedGemm::AlignedGemm(Stream& s, GemmShape g, const std::string& label) {
  g.alignment = 16;
  fast = std::make_unique<LtGemm>(s, g, label);
  g.alignment = static_cast<uint32_t>(dtype_size(g.dtype));
  any = std::make_unique<LtGemm>(s, g, label);
}

void AlignedGemm::run(Stream& s, const void* a, const void* b, void* y, const void* bias, float alpha, float beta,
                      const void* c) const {
  auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  bool ok = aligned(a) && aligned(b) && aligned(y) && (!bias || aligned(bias)) && (!c || aligned(c));
  (ok ? fast : any)->run(s, a, b, y, bias, alpha, beta, c);
}

}  // namespace dynrt::cuda
