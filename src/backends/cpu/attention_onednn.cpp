// The fused Attention's two products, Q K^T and P V, as oneDNN matmuls
// (brgemm: AMX or AVX512-BF16 in bf16, AVX-512 in float32) with the scale,
// mask and softmax in float32 between them. Per batch, head and block of up to
// kBlock query rows one thread packs its Q rows (scaled), and K and V once per
// head, into dense buffers (converted to bf16 in an engine built with
// --precision bf16), and runs both products itself: oneDNN runs a primitive on
// the calling thread inside a parallel region. Q, K, V and the output stay
// float32 in memory. The primitives are made per shape in prepare(); for shapes
// where they do not pay (float32 with few keys) or do not exist, the register-
// blocked kernel (attention_fast.cpp) runs instead.
#include "backends/cpu/attention_onednn.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <string_view>

#include "backends/cpu/attention_fast.h"
#include "backends/cpu/onednn_util.h"
#include "backends/cpu/vec_math.h"

namespace dynrt::cpu {
namespace {

using dnnl::memory;

constexpr int64_t kBlock = 128;  // query rows per task
// float32 with fewer keys runs on the register-blocked kernel, faster there
// (BERT-base at 8x128: 5% overall; at 8x384 this path is 17% faster).
constexpr int64_t kMinKeysFloat32 = 256;

// A [m, k] x [k, n] -> float32 [m, n] matmul, operands bf16 or float32: A
// dense, B dense or the transpose of a dense [n, k], C dense.
struct Product {
  dnnl::matmul prim;
  memory::desc a, b, c, scratch;
};

struct State : KernelState {
  int64_t Sq = 0, L = 0, D = 0, Dv = 0;
  int64_t rows[2] = {0, 0};      // rows of a whole block, of the last shorter one (0: none)
  Product qk[2], pv[2];          // per block kind
};

// False when oneDNN offers only its reference or its older gemm implementation.
bool make_product(int64_t m, int64_t k, int64_t n, bool b_transposed, bool bf16, Product& p) {
  using dt = memory::data_type;
  using tag = memory::format_tag;
  const dt in = bf16 ? dt::bf16 : dt::f32;
  p.a = memory::desc({m, k}, in, tag::ab);
  p.b = memory::desc({k, n}, in, b_transposed ? tag::ba : tag::ab);
  p.c = memory::desc({m, n}, dt::f32, tag::ab);
  dnnl::matmul::primitive_desc pd(dnnl_engine(), p.a, p.b, p.c, base_attr());
  if (!std::string_view(pd.impl_info_str()).starts_with("brg")) return false;
  p.prim = dnnl::matmul(pd);
  p.scratch = pd.scratchpad_desc();
  return true;
}

void run_product(const Product& p, const void* a, const void* b, float* c) {
  const dnnl::engine& eng = dnnl_engine();
  execute_primitive(p.prim, p.scratch,
                    {{DNNL_ARG_SRC, memory(p.a, eng, const_cast<void*>(a))},
                     {DNNL_ARG_WEIGHTS, memory(p.b, eng, const_cast<void*>(b))},
                     {DNNL_ARG_DST, memory(p.c, eng, c)}});
}

// Scores s[0, n) softmaxed into p (bf16, or float32 in place when p is
// null); a fully masked row gives zeros (as the float32 kernels do).
DYNRT_AVX512_CLONE
void softmax_row(float* s, int64_t n, uint16_t* p) {
  const float ninf = -std::numeric_limits<float>::infinity();
  // The max lane by lane over whole vectors: GCC leaves a max reduction scalar.
  constexpr int64_t kLanes = 16;
  float lanes[kLanes];
  std::fill_n(lanes, kLanes, ninf);
  int64_t j0 = 0;
  for (; j0 + kLanes <= n; j0 += kLanes)
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] = lanes[l] < s[j0 + l] ? s[j0 + l] : lanes[l];
  for (; j0 < n; ++j0) lanes[0] = std::max(lanes[0], s[j0]);
  float mx = ninf;
  for (int64_t l = 0; l < kLanes; ++l) mx = std::max(mx, lanes[l]);
  if (mx == ninf) {
    if (p) std::fill_n(p, n, uint16_t{0});
    else std::fill_n(s, n, 0.f);
    return;
  }
  float sum = 0;
  if (p) {  // rounded to bf16 afterwards: the cheaper exponential
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; ++j) {
      s[j] = vexp_nonpositive_bf16(s[j] - mx);
      sum += s[j];
    }
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; ++j) {
      s[j] = vexp(s[j] - mx);
      sum += s[j];
    }
  }
  const float inv = 1.f / sum;
  if (p) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) p[j] = to_bf16(s[j] * inv);
  } else {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) s[j] *= inv;
  }
}

// rows x cols of x (rows `stride` apart), times scale, into dense bf16 or float32.
DYNRT_AVX512_CLONE
void pack_rows(const float* x, int64_t rows, int64_t cols, int64_t stride, float scale, bool bf16, void* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * stride;
    if (bf16) {
      uint16_t* o = static_cast<uint16_t*>(out) + r * cols;
#pragma omp simd
      for (int64_t d = 0; d < cols; ++d) o[d] = to_bf16(xr[d] * scale);
    } else {
      float* o = static_cast<float*>(out) + r * cols;
#pragma omp simd
      for (int64_t d = 0; d < cols; ++d) o[d] = xr[d] * scale;
    }
  }
}

void run_tasks(const AttentionJob& jb, const State& st, bool bf16, int64_t blocks, int64_t t0, int64_t t1) {
  const AttentionOperand &q = jb.q, &k = jb.k, &v = jb.v, &y = jb.y;
  const int64_t H = jb.H, Sq = jb.Sq, L = jb.L, D = jb.D, Dv = jb.Dv;
  const size_t es = bf16 ? 2 : 4;
  // This thread's buffers: K and V of one (batch, kv head), Q and (bf16) P
  // of one block, packed; its scores and output rows in float32 (oneDNN 2.x's
  // brgemm matmul takes no strided output).
  auto* kb = static_cast<char*>(thread_scratch(kScratchWeights, static_cast<size_t>((D + Dv) * L) * es));
  char* vb = kb + static_cast<size_t>(D * L) * es;
  auto* qb = static_cast<char*>(thread_scratch(kScratchSrc, static_cast<size_t>(kBlock * (D + L)) * es));
  auto* pb = bf16 ? reinterpret_cast<uint16_t*>(qb + static_cast<size_t>(kBlock * D) * es) : nullptr;
  auto* sc = static_cast<float*>(thread_scratch(kScratchDst, static_cast<size_t>(kBlock * (L + Dv)) * 4));
  float* yo = sc + kBlock * L;
  int64_t tile = -1;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t b = t / (H * blocks), h = t / blocks % H, kh = h / jb.group;
    if (tile != b * k.h + kh) {
      tile = b * k.h + kh;
      pack_rows(jb.K + b * k.sb + kh * k.sh, L, D, k.ss, 1.f, bf16, kb);
      pack_rows(jb.V + b * v.sb + kh * v.sh, L, Dv, v.ss, 1.f, bf16, vb);
    }
    const int64_t i0 = t % blocks * kBlock, m = std::min(kBlock, Sq - i0);
    const int which = m == st.rows[0] ? 0 : 1;
    pack_rows(jb.Q + b * q.sb + h * q.sh + i0 * q.ss, m, D, q.ss, jb.scale, bf16, qb);
    run_product(st.qk[which], qb, kb, sc);
    for (int64_t r = 0; r < m; ++r) {
      apply_attention_mask(jb, b, h, i0 + r, sc + r * L);
      softmax_row(sc + r * L, L, pb ? pb + r * L : nullptr);
    }
    run_product(st.pv[which], pb ? static_cast<const void*>(pb) : sc, vb, yo);
    for (int64_t r = 0; r < m; ++r) std::copy_n(yo + r * Dv, Dv, jb.Y + b * y.sb + h * y.sh + (i0 + r) * y.ss);
  }
}

// DYNRT_CPU_ATTENTION=fast (for A/B measurements only): float32 attention
// always on the register-blocked kernel.
bool fast_kernel_ab() {
  static const bool on = [] {
    const char* v = std::getenv("DYNRT_CPU_ATTENTION");
    return v && std::string_view(v) == "fast";
  }();
  return on;
}

class OnednnAttentionKernel : public Kernel {
 public:
  OnednnAttentionKernel(const AttentionAttrs& a, const AttentionLayout& layout, bool bf16,
                        std::unique_ptr<Kernel> fallback)
      : a_(a), layout_(layout), bf16_(bf16), fallback_(std::move(fallback)) {}

  std::unique_ptr<KernelState> prepare(const KernelContext& c) const override {
    if (!attention_fast_applies(c, layout_)) return nullptr;
    AttentionJob jb;
    if (!attention_job(a_, layout_, c, jb)) return nullptr;
    if (!bf16_ && (jb.L < kMinKeysFloat32 || fast_kernel_ab())) return nullptr;
    auto st = std::make_unique<State>();
    st->Sq = jb.Sq, st->L = jb.L, st->D = jb.D, st->Dv = jb.Dv;
    if (jb.L == 0 || jb.D == 0 || jb.Dv == 0) return nullptr;
    st->rows[0] = std::min(kBlock, jb.Sq);
    st->rows[1] = jb.Sq > kBlock ? jb.Sq % kBlock : 0;
    return with_dnnl_errors("Attention", [&]() -> std::unique_ptr<KernelState> {
      for (int i = 0; i < 2; ++i) {
        if (st->rows[i] == 0) continue;
        if (!make_product(st->rows[i], jb.D, jb.L, true, bf16_, st->qk[i]) ||
            !make_product(st->rows[i], jb.L, jb.Dv, false, bf16_, st->pv[i]))
          return nullptr;
      }
      return std::unique_ptr<KernelState>(std::move(st));
    });
  }

  void run(KernelContext& c) const override {
    const auto* st = static_cast<const State*>(c.state);
    if (!st) return fallback_->run(c);
    AttentionJob jb;
    if (!attention_job(a_, layout_, c, jb)) return;
    if (jb.Sq != st->Sq || jb.L != st->L || jb.D != st->D || jb.Dv != st->Dv)
      throw Error(ErrorCode::kInternal, "Attention: run with a shape it was not prepared for");
    const int64_t blocks = (jb.Sq + kBlock - 1) / kBlock;
    // The first exception of any chunk (a scratch buffer out of memory, a
    // oneDNN error) is kept and rethrown after the loop, as a dynrt error.
    std::exception_ptr failed;
    std::mutex mu;
    parallel_for(jb.B * jb.H * blocks, 1, [&](int64_t t0, int64_t t1) {
      try {
        run_tasks(jb, *st, bf16_, blocks, t0, t1);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failed) failed = std::current_exception();
      }
    });
    if (failed) with_dnnl_errors("Attention", [&] { std::rethrow_exception(failed); });
  }

 private:
  AttentionAttrs a_;
  AttentionLayout layout_;
  bool bf16_;
  std::unique_ptr<Kernel> fallback_;
};

}  // namespace

std::unique_ptr<Kernel> make_onednn_attention(const AttentionAttrs& a, const AttentionLayout& layout, bool bf16,
                                              std::unique_ptr<Kernel> fallback) {
  return std::make_unique<OnednnAttentionKernel>(a, layout, bf16, std::move(fallback));
}

}  // namespace dynrt::cpu
