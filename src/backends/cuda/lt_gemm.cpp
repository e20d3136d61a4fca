#include "backends/cuda/lt_gemm.h"

#include <algorithm>
#include <cmath>

#include "backends/timing_cache.h"

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
LtGemm::LtGemm(Stream& s, const GemmShape& g, const std::string& label, GemmTuning* tuning, TimingCache* measure)
    : label_(label), alignment_(g.alignment) {
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
  // Tuning times up to kCandidates of the heuristic's picks, best first.
  constexpr int kCandidates = 8;
  cublasLtMatmulHeuristicResult_t results[kCandidates]{};
  int found = 0;
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(s.blas(), op_, w_, x_, d_, d_, pref, measure ? kCandidates : 1,
                                                     results, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  check(st, (label + ": choosing a cuBLASLt algorithm").c_str());
  if (found == 0) fail(label, "cuBLASLt has no algorithm for this GEMM");
  algo_ = results[0].algo;
  workspace_ = results[0].workspaceSize;
  if (!tuning) return;
  std::optional<GemmChoice> choice;
  if (measure) {
    std::vector<int64_t> cached;
    const std::string key = gemm_cache_key(g);
    if (measure->find(key, &cached) && cached.size() == 1 + std::tuple_size_v<AlgoConfig> && (cached[0] == 0 || cached[0] == 1)) {
      choice = GemmChoice{cached[0] == 1, {}};
      std::copy(cached.begin() + 1, cached.end(), choice->config.begin());
    } else {
      choice = this->measure(s, g, {results, static_cast<size_t>(found)});
      cached = {choice->heuristic ? 1 : 0};
      cached.insert(cached.end(), choice->config.begin(), choice->config.end());
      measure->put(key, cached);
    }
    tuning->add(g, *choice);
  } else {
    choice = tuning->find(g);
  }
  if (!choice || choice->heuristic) return;
  size_t need = 0;
  if (auto algo = algo_from_config(s.blas(), op_, w_, x_, d_, t, choice->config, kMaxWorkspace, &need)) {
    algo_ = *algo;
    workspace_ = need;
  }
}

// Times each candidate on scratch operands (small non-zero values: zeros
// would draw less power than real data). In a network a GEMM's weights come
// from memory, not from the L2 cache, so the operands rotate over enough
// copies to overflow L2 twice. The heuristic's own pick is kept unless
// another candidate is 5% faster: a smaller gain is within what these
// isolated timings say about the GEMM inside a network.
GemmChoice LtGemm::measure(Stream& s, const GemmShape& g, std::span<const cublasLtMatmulHeuristicResult_t> candidates) {
  auto span_of = [&](int64_t rows, int64_t cols, int64_t stride) {
    return (g.batch > 1 && stride > 0 ? stride * (g.batch - 1) : 0) + rows * cols;
  };
  auto round = [](size_t v) { return (v + 255) & ~size_t{255}; };
  const size_t elem = dtype_size(g.dtype);
  const size_t a = round(static_cast<size_t>(span_of(g.m, g.k, g.stride_a)) * elem);
  const size_t b = round(static_cast<size_t>(span_of(g.k, g.n, g.stride_b)) * elem);
  const size_t y = round(static_cast<size_t>(span_of(g.m, g.n, g.stride_y)) * elem);
  const size_t set = a + b + 2 * y, bias = round(static_cast<size_t>(g.n) * elem);
  int device = 0, l2 = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device);
  const size_t sets = std::clamp<size_t>(2 * static_cast<size_t>(std::max(l2, 0)) / set + 1, 1, 64);
  const size_t total = sets * set + bias + kMaxWorkspace;
  char* mem = nullptr;
  check(cudaMalloc(&mem, total), (label_ + ": allocating memory to time GEMM algorithms").c_str());
  struct Free {
    char* p;
    ~Free() { cudaFree(p); }
  } free_mem{mem};
  check(cudaMemsetAsync(mem, 0x3C, total - kMaxWorkspace, s.get()), label_.c_str());
  char* pbias = mem + sets * set;
  void* ws = pbias + bias;
  if (g.bias)
    check(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &pbias, sizeof(pbias)), "setting the bias");
  const float alpha = 1.f, beta = g.residual ? 1.f : 0.f;
  cudaEvent_t e0 = nullptr, e1 = nullptr;
  check(cudaEventCreate(&e0), "creating an event");
  check(cudaEventCreate(&e1), "creating an event");
  size_t next = 0;
  auto launch = [&](const cublasLtMatmulAlgo_t& algo) {
    char* base = mem + (next++ % sets) * set;
    char *pa = base, *pb = pa + a, *py = pb + b, *pc = py + y;
    return cublasLtMatmul(s.blas(), op_, &alpha, pb, w_, pa, x_, &beta, g.residual ? pc : py, d_, py, d_, &algo, ws,
                          kMaxWorkspace, s.get());
  };
  auto time = [&](const cublasLtMatmulAlgo_t& algo, int reps) {
    check(cudaEventRecord(e0, s.get()), "recording an event");
    for (int i = 0; i < reps; ++i) launch(algo);
    check(cudaEventRecord(e1, s.get()), "recording an event");
    check(cudaEventSynchronize(e1), "timing a GEMM");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, e0, e1), "timing a GEMM");
    return static_cast<double>(ms) / reps;
  };
  std::vector<double> ms(candidates.size(), INFINITY);
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].state != CUBLAS_STATUS_SUCCESS || candidates[i].workspaceSize > kMaxWorkspace) continue;
    if (launch(candidates[i].algo) != CUBLAS_STATUS_SUCCESS) continue;
    double once = time(candidates[i].algo, 2);
    // Enough launches for ~0.3 ms per measurement; the best of 3.
    int reps = static_cast<int>(std::clamp(0.3 / std::max(once, 1e-4), 3.0, 200.0));
    for (int r = 0; r < 3; ++r) ms[i] = std::min(ms[i], time(candidates[i].algo, reps));
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  check(cudaGetLastError(), label_.c_str());
  size_t best = static_cast<size_t>(std::min_element(ms.begin(), ms.end()) - ms.begin());
  GemmChoice c;
  c.heuristic = best == 0 || !(ms[best] < 0.95 * ms[0]);
  c.config = config_of(candidates[c.heuristic ? 0 : best].algo);
  return c;
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

AlignedGemm::AlignedGemm(Stream& s, GemmShape g, const std::string& label, GemmTuning* tuning, TimingCache* measure) {
  g.alignment = 16;
  fast = std::make_unique<LtGemm>(s, g, label, tuning, measure);
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
