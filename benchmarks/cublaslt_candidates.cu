// cuBLASLt's heuristic pick against the best of its top candidates, each timed
// alone (same operands, back to back), for BERT-base's fp16 GEMMs at several
// row counts: what build-time tuning (src/backends/cuda/gemm_tuning.h) can
// hope for. "ffn1 +bias" is FFN1 without its GELU: what the GELU epilogue
// costs. On the GPU machine:
//   nvcc -O2 -std=c++17 -arch=sm_90 benchmarks/cublaslt_candidates.cu -lcublasLt -o /tmp/cc && /tmp/cc
#include <cublasLt.h>
#include <cuda_fp16.h>
#include <cstdio>
#include <vector>
#include <algorithm>
#define CK(x) do { auto ck_ = (x); if ((int)ck_) { printf("err %d at %s:%d\n", (int)ck_, __FILE__, __LINE__); exit(1);} } while (0)
int main() {
  cublasLtHandle_t h; CK(cublasLtCreate(&h));
  cudaStream_t st; cudaStreamCreate(&st);
  size_t wsz = 32 << 20; void* ws; cudaMalloc(&ws, wsz);
  struct P { int n, k; int epi; bool res; const char* name; };
  std::vector<P> ps = {{768, 768, 1, false, "qkv 768x768 +bias"}, {768, 768, 1, true, "out 768x768 +bias+res"},
                       {3072, 768, 2, false, "ffn1 3072x768 +bias+gelu"}, {3072, 768, 1, false, "ffn1 3072x768 +bias"},
                       {768, 3072, 1, true, "ffn2 768x3072 +bias+res"}};
  std::vector<int> ms = {16, 128, 1024, 3072, 4096, 12288, 16384};
  void *A, *B, *Y, *C, *bias;
  cudaMalloc(&A, 16384L * 3072 * 2); cudaMalloc(&B, 3072L * 3072 * 2); cudaMalloc(&Y, 16384L * 3072 * 2);
  cudaMalloc(&C, 16384L * 3072 * 2); cudaMalloc(&bias, 3072 * 2);
  cudaMemset(A, 0, 16384L*3072*2); cudaMemset(B, 0, 3072L*3072*2); cudaMemset(C, 0, 16384L*3072*2); cudaMemset(bias, 0, 6144);
  cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
  double tot_h = 0, tot_b = 0;
  for (auto& p : ps) for (int m : ms) {
    cublasLtMatmulDesc_t op; CK(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasOperation_t tn = CUBLAS_OP_N;
    CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &tn, sizeof(tn)));
    CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tn, sizeof(tn)));
    cublasLtEpilogue_t e = p.epi == 2 ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
    CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &e, sizeof(e)));
    CK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
    cublasLtMatrixLayout_t w, x, d;
    CK(cublasLtMatrixLayoutCreate(&w, CUDA_R_16F, p.n, p.k, p.n));
    CK(cublasLtMatrixLayoutCreate(&x, CUDA_R_16F, p.k, m, p.k));
    CK(cublasLtMatrixLayoutCreate(&d, CUDA_R_16F, p.n, m, p.n));
    cublasLtMatmulPreference_t pref; CK(cublasLtMatmulPreferenceCreate(&pref));
    CK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsz, sizeof(wsz)));
    cublasLtMatmulHeuristicResult_t r[32]; int found = 0;
    CK(cublasLtMatmulAlgoGetHeuristic(h, op, w, x, d, d, pref, 32, r, &found));
    float alpha = 1, beta = p.res ? 1 : 0;
    std::vector<float> t(found, 1e9);
    for (int i = 0; i < found; ++i) {
      if (r[i].state != CUBLAS_STATUS_SUCCESS) continue;
      auto go = [&] { return cublasLtMatmul(h, op, &alpha, B, w, A, x, &beta, p.res ? C : Y, d, Y, d, &r[i].algo, ws, wsz, st); };
      if (go() != CUBLAS_STATUS_SUCCESS) continue;
      for (int j = 0; j < 5; ++j) go();
      int it = m >= 4096 ? 50 : 200;
      float best = 1e9;
      for (int rep = 0; rep < 3; ++rep) {
        cudaEventRecord(e0, st); for (int j = 0; j < it; ++j) go(); cudaEventRecord(e1, st); cudaEventSynchronize(e1);
        float ms_; cudaEventElapsedTime(&ms_, e0, e1); best = std::min(best, ms_ / it);
      }
      t[i] = best;
    }
    int bi = std::min_element(t.begin(), t.end()) - t.begin();
    double fl = 2.0 * m * p.n * p.k;
    printf("%-26s m=%6d found=%2d heur %.4f ms (%.0f TF)  best#%d %.4f ms (%.0f TF)  gain %.2fx\n", p.name, m, found, t[0],
           fl / t[0] / 1e9, bi, t[bi], fl / t[bi] / 1e9, t[0] / t[bi]);
    const bool comparison = p.epi == 1 && p.n == 3072;  // ffn1 without GELU: not a layer GEMM
    if (m == 4096 && !comparison) { tot_h += t[0]; tot_b += t[bi]; }
    cublasLtMatmulPreferenceDestroy(pref); cublasLtMatrixLayoutDestroy(w); cublasLtMatrixLayoutDestroy(x); cublasLtMatrixLayoutDestroy(d); cublasLtMatmulDescDestroy(op);
  }
  printf("m=4096 per layer: heuristic %.4f ms, tuned %.4f ms (x12 layers, qkv counted once)\n", tot_h, tot_b);
  return 0;
}
