// MatMul and Gemm on cuBLASLt: float32 products and accumulation (no TF32),
// float16/bfloat16 products on tensor cores with float32 accumulation. A
// fused MatMul (passes/fuse_epilogues.cpp) takes a bias along N as input 2,
// a residual of the output's shape as input 3 (cuBLASLt's C, beta 1) and
// ReLU or GELU ("dynrt.activation"), all applied while the output is written.
#include <algorithm>
#include <vector>

#include "backends/cuda/elementwise_launch.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/linalg_launch.h"
#include "backends/cuda/lt_gemm.h"
#include "ops/attrs.h"

namespace dynrt::cuda {
namespace {

// ---- MatMul: numpy semantics (1-D operands promoted, batch dims broadcast) ----

struct MatMulState : KernelState {
  std::unique_ptr<AlignedGemm> gemm;
  // General broadcasting: one GEMM per output batch at these element offsets.
  std::vector<std::pair<int64_t, int64_t>> offsets;
  int64_t m = 0, n = 0;
  size_t elem = 4;
  bool zero_fill = false;  // k == 0: the product of empty matrices is zeros
};

class MatMulKernel : public Kernel {
 public:
  explicit MatMulKernel(const KernelInit& init)
      : label_(init.label()),
        relu_(init.attr_string("dynrt.activation", "") == "Relu"),
        gelu_(init.attr_string("dynrt.activation", "") == "Gelu"),
        tuning_(init.attr_ints("dynrt.tuned")) {}
  std::vector<int64_t> tuning() const override { return tuning_.serialize(); }

  std::unique_ptr<KernelState> prepare(const KernelContext& c) const override {
    const TensorView &A = c.in(0), &B = c.in(1), &Y = c.out(0);
    if (Y.numel() == 0) return nullptr;  // nothing to compute: the runtime skips the node
    if (c.has_in(3) && (c.in(3).rank != Y.rank || !std::equal(Y.dims.begin(), Y.dims.begin() + Y.rank, c.in(3).dims.begin())))
      throw Error(ErrorCode::kInvalidInput, label_ + ": the fused residual's shape is not the output's");
    auto st = std::make_unique<MatMulState>();
    int64_t m = A.rank >= 2 ? A.dim(A.rank - 2) : 1, k = A.dim(A.rank - 1);
    int64_t n = B.rank >= 2 ? B.dim(B.rank - 1) : 1;
    st->m = m;
    st->n = n;
    if (k == 0) {
      st->zero_fill = true;
      return st;
    }
    // Batch dims, right-aligned to the output's.
    int ra = std::max(A.rank - 2, 0), rb = std::max(B.rank - 2, 0);
    int rbatch = std::max(ra, rb);
    std::vector<int64_t> ad(static_cast<size_t>(rbatch), 1), bd(static_cast<size_t>(rbatch), 1), od(static_cast<size_t>(rbatch));
    for (int i = 0; i < ra; ++i) ad[static_cast<size_t>(rbatch - ra + i)] = A.dim(i);
    for (int i = 0; i < rb; ++i) bd[static_cast<size_t>(rbatch - rb + i)] = B.dim(i);
    int64_t a_batch = 1, b_batch = 1, batch = 1;
    for (int i = 0; i < rbatch; ++i) {
      od[static_cast<size_t>(i)] = std::max(ad[static_cast<size_t>(i)], bd[static_cast<size_t>(i)]);
      a_batch *= ad[static_cast<size_t>(i)];
      b_batch *= bd[static_cast<size_t>(i)];
      batch *= od[static_cast<size_t>(i)];
    }
    Stream& s = stream_of(c);
    GemmShape g;
    g.k = k;
    g.n = n;
    g.dtype = A.dtype;
    g.bias = c.has_in(2);
    g.relu = relu_;
    g.gelu = gelu_;
    g.residual = c.has_in(3);
    st->elem = dtype_size(A.dtype);
    if (b_batch == 1 && a_batch == batch) {  // one tall GEMM over all of A's rows
      g.m = batch * m;
    } else if ((a_batch == batch || a_batch == 1) && (b_batch == batch || b_batch == 1)) {
      g.m = m;
      g.batch = batch;
      g.stride_a = a_batch == 1 ? 0 : m * k;
      g.stride_b = b_batch == 1 ? 0 : k * n;
      g.stride_y = m * n;
    } else {
      g.m = m;
      for (int64_t t = 0; t < batch; ++t) {
        int64_t rem = t, ao = 0, bo = 0, as = 1, bs = 1;
        for (int i = rbatch - 1; i >= 0; --i) {
          int64_t idx = rem % od[static_cast<size_t>(i)];
          rem /= od[static_cast<size_t>(i)];
          if (ad[static_cast<size_t>(i)] != 1) ao += idx * as;
          if (bd[static_cast<size_t>(i)] != 1) bo += idx * bs;
          as *= ad[static_cast<size_t>(i)];
          bs *= bd[static_cast<size_t>(i)];
        }
        st->offsets.emplace_back(ao * m * k, bo * k * n);
      }
    }
    (void)Y;
    st->gemm = std::make_unique<AlignedGemm>(s, g, label_, &tuning_, c.tuning);
    return st;
  }

  void run(KernelContext& c) const override {
    const auto* st = static_cast<const MatMulState*>(c.state);
    Stream& s = stream_of(c);
    auto* y = c.out(0).as<char>();
    if (st->zero_fill) {  // the product is zeros: what remains is the epilogue
      const TensorView& Y = c.out(0);
      check(cudaMemsetAsync(y, 0, Y.nbytes(), s.get()), label_.c_str());
      ElemType t = static_cast<ElemType>(Y.dtype);
      if (c.has_in(2))
        launch_binary(BinaryOp::kAdd, t, t, y, c.in(2).data, y, Y.numel(), contiguous(Y),
                      broadcast_strides(c.in(2), Y.rank, Y.dims.data()), s.get());
      if (c.has_in(3))
        launch_binary(BinaryOp::kAdd, t, t, y, c.in(3).data, y, Y.numel(), contiguous(Y), contiguous(Y), s.get());
      if (relu_) launch_unary(UnaryOp::kRelu, t, y, y, Y.numel(), UnaryParams{}, s.get());
      if (gelu_) launch_unary(UnaryOp::kGeluTanh, t, y, y, Y.numel(), UnaryParams{}, s.get());
      check(cudaGetLastError(), label_.c_str());
      return;
    }
    const auto *a = c.in(0).as<const char>(), *b = c.in(1).as<const char>();
    const void* bias = c.has_in(2) ? c.in(2).data : nullptr;
    const char* residual = c.has_in(3) ? c.in(3).as<const char>() : nullptr;
    const float beta = residual ? 1.f : 0.f;
    if (st->offsets.empty()) {
      st->gemm->run(s, a, b, y, bias, 1.f, beta, residual);
      return;
    }
    auto e = static_cast<int64_t>(st->elem);
    for (size_t t = 0; t < st->offsets.size(); ++t) {
      const int64_t at = static_cast<int64_t>(t) * st->m * st->n * e;
      st->gemm->run(s, a + st->offsets[t].first * e, b + st->offsets[t].second * e, y + at, bias, 1.f, beta,
                    residual ? residual + at : nullptr);
    }
  }

 private:
  std::string label_;
  bool relu_, gelu_;
  mutable GemmTuning tuning_;  // grows while the builder tunes
};

bool gemm_type(DType t) { return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16; }

bool matmul_supported(const KernelInit& n) {
  DType t = n.input_dtype(0);
  bool ok = gemm_type(t) && n.input_dtype(1) == t && n.input_rank(0) >= 1 && n.input_rank(1) >= 1 &&
            n.input_rank(0) <= 8 && n.input_rank(1) <= 8 && n.num_inputs() >= 2 && n.num_inputs() <= 4;
  if (n.num_inputs() == 3 && !n.has_input(2)) return false;
  if (n.has_input(2) && n.input_dtype(2) != t) return false;  // the fused bias
  if (n.num_inputs() == 4 && (!n.has_input(3) || n.input_dtype(3) != t)) return false;  // the fused residual
  std::string act = n.attr_string("dynrt.activation", "");
  return ok && (act.empty() || act == "Relu" || (act == "Gelu" && t != DType::kFloat32));
}

// ---- Gemm: Y = alpha * op(A) op(B) + beta * C --------------------------------

class GemmKernel : public Kernel {
 public:
  explicit GemmKernel(const KernelInit& init)
      : label_(init.label()), a_(GemmAttrs::parse(init)), tuning_(init.attr_ints("dynrt.tuned")) {
    has_c_ = init.has_input(2) && a_.beta != 0.f;
  }
  std::vector<int64_t> tuning() const override { return tuning_.serialize(); }

  std::unique_ptr<KernelState> prepare(const KernelContext& c) const override {
    const TensorView &A = c.in(0), &B = c.in(1);
    GemmShape g;
    g.trans_a = a_.trans_a;
    g.trans_b = a_.trans_b;
    g.m = a_.trans_a ? A.dim(1) : A.dim(0);
    g.k = a_.trans_a ? A.dim(0) : A.dim(1);
    g.n = a_.trans_b ? B.dim(0) : B.dim(1);
    g.dtype = A.dtype;
    if (g.k == 0 || g.m == 0 || g.n == 0) return nullptr;  // no product (k == 0: run() writes C or zeros)
    // A C of n elements broadcast along rows with beta 1 is the epilogue's bias.
    g.bias = has_c_ && a_.beta == 1.f && c.in(2).numel() == g.n && g.n > 1 &&
             (c.in(2).rank == 1 || (c.in(2).rank == 2 && c.in(2).dim(0) == 1));
    g.residual = has_c_ && !g.bias;
    return std::make_unique<AlignedGemm>(stream_of(c), g, label_, &tuning_, c.tuning);
  }

  void run(KernelContext& c) const override {
    Stream& s = stream_of(c);
    const TensorView& Y = c.out(0);
    void* y = Y.data;
    auto type = static_cast<ElemType>(Y.dtype);
    const auto* gemm = static_cast<const AlignedGemm*>(c.state);
    bool bias = false;
    float beta = 0.f;
    if (has_c_) {
      const TensorView& C = c.in(2);
      bias = a_.beta == 1.f && C.numel() == Y.dim(1) && Y.dim(1) > 1 && (C.rank == 1 || (C.rank == 2 && C.dim(0) == 1));
      if (!bias) {  // Y = beta * C first, then the product accumulates onto it
        launch_scaled_broadcast(type, y, C.data, broadcast_strides(C, 2, Y.dims.data()), a_.beta, s.get());
        check(cudaGetLastError(), label_.c_str());
        beta = 1.f;
      }
    }
    if (!gemm) {  // k == 0: the product is zero
      if (beta == 0.f && !bias) check(cudaMemsetAsync(y, 0, Y.nbytes(), s.get()), label_.c_str());
      if (bias) {
        launch_scaled_broadcast(type, y, c.in(2).data, broadcast_strides(c.in(2), 2, Y.dims.data()), 1.f, s.get());
        check(cudaGetLastError(), label_.c_str());
      }
      return;
    }
    gemm->run(s, c.in(0).data, c.in(1).data, y, bias ? c.in(2).data : nullptr, a_.alpha, beta);
  }

 private:
  std::string label_;
  GemmAttrs a_;
  bool has_c_ = false;
  mutable GemmTuning tuning_;
};

bool gemm_supported(const KernelInit& n) {
  if (!gemm_type(n.input_dtype(0))) return false;
  for (size_t i = 0; i < n.num_inputs(); ++i)
    if (n.has_input(i) && n.input_dtype(i) != n.input_dtype(0)) return false;
  return n.input_rank(0) == 2 && n.input_rank(1) == 2 && (!n.has_input(2) || n.input_rank(2) <= 2);
}

}  // namespace

void register_linalg_kernels(KernelRegistry& r) {
  r.add_kernel("MatMul", [](const KernelInit& n) { return std::make_unique<MatMulKernel>(n); }, matmul_supported, "");
  r.add_kernel("Gemm", [](const KernelInit& n) { return std::make_unique<GemmKernel>(n); }, gemm_supported, "");
}

}  // namespace dynrt::cuda
