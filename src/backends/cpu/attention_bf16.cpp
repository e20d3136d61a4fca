// The fused Attention in an engine built with --precision bf16: Q K^T and
// P V as oneDNN bf16 matmuls (AMX or AVX512-BF16; float32 accumulation), the
// scale, mask and softmax in float32 between them. Per batch, head and block
// of up to kBlock query rows one thread converts its Q rows (scaled) to bf16,
// K and V once per head, and runs both products itself: oneDNN
// runs a primitive on the calling thread inside a parallel region. Q, K, V and
// the output stay float32 in memory. The primitives are made per shape in
// prepare(); without them (no bf16 primitive, operands the fast path does not
// take) the float32 kernel runs.
#include "backends/cpu/attention_bf16.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include "backends/cpu/attention_fast.h"
#include "backends/cpu/onednn_util.h"
#include "backends/cpu/vec_math.h"

namespace dynrt::cpu {
namespace {

using dnnl::memory;

constexpr int64_t kBlock = 128;  // query rows per task

// A bf16 [m, k] x [k, n] -> float32 [m, n] matmul: A dense, B dense or the
// transpose of a dense [n, k], C rows ldc apart.
struct Product {
  dnnl::matmul prim;
  memory::desc a, b, c, scratch;
};

struct State : KernelState {
  int64_t Sq = 0, L = 0, D = 0, Dv = 0;
  int64_t rows[2] = {0, 0};      // rows of a whole block, of the last shorter one (0: none)
  Product qk[2], pv[2];          // per block kind
};

// False when oneDNN offers only its reference implementation.
bool make_product(int64_t m, int64_t k, int64_t n, bool b_transposed, int64_t ldc, Product& p) {
  using dt = memory::data_type;
  using tag = memory::format_tag;
  p.a = memory::desc({m, k}, dt::bf16, tag::ab);
  p.b = memory::desc({k, n}, dt::bf16, b_transposed ? tag::ba : tag::ab);
  p.c = memory::desc({m, n}, dt::f32, memory::dims{ldc, 1});
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(p.a, p.b, p.c), base_attr(), dnnl_engine());
  if (std::string_view(pd.impl_info_str()).starts_with("ref")) return false;
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

// Row r of a [rows, n] float32 block, softmaxed, as bf16 probabilities; a
// fully masked row gives zeros (as the float32 kernels do).
DYNRT_AVX512_CLONE
void softmax_to_bf16(float* s, int64_t n, uint16_t* p) {
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
    std::fill_n(p, n, uint16_t{0});
    return;
  }
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) {
    s[j] = vexp(s[j] - mx);
    sum += s[j];
  }
  const float inv = 1.f / sum;
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) p[j] = to_bf16(s[j] * inv);
}

DYNRT_AVX512_CLONE
void rows_to_bf16(const float* x, int64_t rows, int64_t cols, int64_t stride, float scale, uint16_t* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * stride;
    uint16_t* o = out + r * cols;
#pragma omp simd
    for (int64_t d = 0; d < cols; ++d) o[d] = to_bf16(xr[d] * scale);
  }
}

void run_tasks(const AttentionJob& jb, const State& st, int64_t blocks, int64_t t0, int64_t t1) {
  const AttentionOperand &q = jb.q, &k = jb.k, &v = jb.v, &y = jb.y;
  const int64_t H = jb.H, Sq = jb.Sq, L = jb.L, D = jb.D, Dv = jb.Dv;
  // This thread's buffers: K and V of one (batch, kv head) and Q and P of one
  // block in bf16; its scores and output rows in float32 (oneDNN 2.x's brgemm
  // matmul takes no strided output).
  auto* kv = static_cast<uint16_t*>(thread_scratch(kScratchWeights, static_cast<size_t>((D + Dv) * L) * 2));
  uint16_t *kb = kv, *vb = kv + D * L;
  auto* qp = static_cast<uint16_t*>(thread_scratch(kScratchSrc, static_cast<size_t>(kBlock * (D + L)) * 2));
  uint16_t *qb = qp, *pb = qp + kBlock * D;
  auto* sy = static_cast<float*>(thread_scratch(kScratchDst, static_cast<size_t>(kBlock * (L + Dv)) * 4));
  float *sc = sy, *yo = sy + kBlock * L;
  int64_t tile = -1;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t b = t / (H * blocks), h = t / blocks % H, kh = h / jb.group;
    if (tile != b * k.h + kh) {
      tile = b * k.h + kh;
      rows_to_bf16(jb.K + b * k.sb + kh * k.sh, L, D, k.ss, 1.f, kb);
      rows_to_bf16(jb.V + b * v.sb + kh * v.sh, L, Dv, v.ss, 1.f, vb);
    }
    const int64_t i0 = t % blocks * kBlock, m = std::min(kBlock, Sq - i0);
    const int which = m == st.rows[0] ? 0 : 1;
    rows_to_bf16(jb.Q + b * q.sb + h * q.sh + i0 * q.ss, m, D, q.ss, jb.scale, qb);
    run_product(st.qk[which], qb, kb, sc);
    for (int64_t r = 0; r < m; ++r) {
      apply_attention_mask(jb, b, h, i0 + r, sc + r * L);
      softmax_to_bf16(sc + r * L, L, pb + r * L);
    }
    run_product(st.pv[which], pb, vb, yo);
    for (int64_t r = 0; r < m; ++r) std::copy_n(yo + r * Dv, Dv, jb.Y + b * y.sb + h * y.sh + (i0 + r) * y.ss);
  }
}

class Bf16AttentionKernel : public Kernel {
 public:
  Bf16AttentionKernel(const AttentionAttrs& a, const AttentionLayout& layout, std::unique_ptr<Kernel> fallback)
      : a_(a), layout_(layout), fallback_(std::move(fallback)) {}

  std::unique_ptr<KernelState> prepare(const KernelContext& c) const override {
    if (!attention_fast_applies(c)) return nullptr;
    AttentionJob jb;
    if (!attention_job(a_, layout_, c, jb)) return nullptr;
    auto st = std::make_unique<State>();
    st->Sq = jb.Sq, st->L = jb.L, st->D = jb.D, st->Dv = jb.Dv;
    if (jb.L == 0 || jb.D == 0 || jb.Dv == 0) return nullptr;
    st->rows[0] = std::min(kBlock, jb.Sq);
    st->rows[1] = jb.Sq > kBlock ? jb.Sq % kBlock : 0;
    return with_dnnl_errors("Attention (bf16)", [&]() -> std::unique_ptr<KernelState> {
      for (int i = 0; i < 2; ++i) {
        if (st->rows[i] == 0) continue;
        if (!make_product(st->rows[i], jb.D, jb.L, true, jb.L, st->qk[i]) ||
            !make_product(st->rows[i], jb.L, jb.Dv, false, jb.Dv, st->pv[i]))
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
      throw Error(ErrorCode::kInternal, "Attention (bf16): run with a shape it was not prepared for");
    const int64_t blocks = (jb.Sq + kBlock - 1) / kBlock;
    parallel_for(jb.B * jb.H * blocks, 1, [&](int64_t t0, int64_t t1) { run_tasks(jb, *st, blocks, t0, t1); });
  }

 private:
  AttentionAttrs a_;
  AttentionLayout layout_;
  std::unique_ptr<Kernel> fallback_;
};

}  // namespace

std::unique_ptr<Kernel> make_bf16_attention(const AttentionAttrs& a, const AttentionLayout& layout,
                                            std::unique_ptr<Kernel> fallback) {
  return std::make_unique<Bf16AttentionKernel>(a, layout, std::move(fallback));
}

}  // namespace dynrt::cpu
