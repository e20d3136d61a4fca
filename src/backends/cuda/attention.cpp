// ONNX Attention on the GPU, for the form attention fusion produces
// (backends/fuse_attention.h) and models that use the op directly: 4-D
// Q [B, H, Sq, D], K [B, H, Skv, D], V [B, H, Skv, Dv], an optional additive
// or boolean mask broadcast to [B, H, Sq, Skv], a scale; no causal flag,
// softcap, past keys or extra outputs. 16-bit heads of 32, 64 or 128 run the
// flash kernel (attention_flash.cu: the scores stay on chip); the rest run
// two strided-batched cuBLASLt GEMMs around one softmax pass that adds the
// mask, the scores in the stream's temporaries (apart from the GEMMs'
// workspace). A node the attention_layout pass marked ("dynrt.layout": one
// letter per Q, K, V, output; 's' for [B, S, H, D] storage, 'h' for
// [B, H, S, D]; for Q, K, V also 'p': operand i is slot i of a [B, S, 3*H*D]
// tensor stored [B, S, 3, H, D], the fuse_qkv pass's packed projections, with
// H and D those of the output) always takes the flash kernel.
//
// DYNRT_CUDA_FLASH_ATTENTION=0 keeps unmarked nodes on the GEMM path (and the
// pass from marking); "require" makes a node the flash kernel cannot take an
// error (for tests).
#include <array>
#include <cmath>
#include <string>

#include "backends/cuda/attention_launch.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/lt_gemm.h"
#include "ops/attrs.h"

namespace dynrt::cuda {
namespace {

struct AttentionState : KernelState {
  std::unique_ptr<AlignedGemm> qk, pv;
  AttentionMask mask;
  int64_t rows = 0, n = 0, heads = 0, seq_q = 0;
  size_t scores_bytes = 0;
  bool empty_k = false;  // head_dim 0: every score is 0
  bool flash = false;    // attention_flash.cu takes this node
  FlashArgs args;        // its strides and sizes (pointers set per run)
  size_t offset[3] = {}; // bytes from Q's, K's, V's data to their first element (packed 'p')
};

bool valid_layout(const std::string& l) {
  return l.size() == 4 && l.find_first_not_of("shp") == std::string::npos && l[3] != 'p';
}

// [B, H, S, D] ('h'), [B, S, H, D] ('s') or packed [B, S, 3, H, D] ('p', with
// `d` the head size) storage: strides of batch, head, sequence.
void strides_of(const TensorView& t, char layout, int64_t d, int64_t (&st)[3]) {
  if (layout == 'p') {
    st[2] = t.dim(2), st[1] = d, st[0] = t.dim(1) * st[2];
    return;
  }
  d = t.dim(3);
  if (layout == 's') {
    st[2] = t.dim(2) * d, st[1] = d, st[0] = t.dim(1) * st[2];
  } else {
    st[2] = d, st[1] = t.dim(2) * d, st[0] = t.dim(1) * st[1];
  }
}

class AttentionKernel : public Kernel {
 public:
  explicit AttentionKernel(const KernelInit& init)
      : label_(init.label()),
        at_(AttentionAttrs::parse(init)),
        layout_(init.attr_string("dynrt.layout", "hhhh")),
        marked_(init.attr_string("dynrt.layout", "") != ""),
        flash_(flash_attention_mode()) {}

  std::unique_ptr<KernelState> prepare(const KernelContext& c) const override {
    const TensorView &Q = c.in(0), &K = c.in(1), &V = c.in(2), &Y = c.out(0);
    if (Y.numel() == 0) return nullptr;
    // Logical [batch, heads, seq, head] sizes, whatever the storage; a packed
    // operand ('p', rank 3) takes its heads and head size from the output.
    auto dims = [&](const TensorView& t, char layout, const std::array<int64_t, 4>& out) {
      if (layout == 'p') return std::array<int64_t, 4>{t.dim(0), out[1], t.dim(1), out[3]};
      return layout == 's' ? std::array<int64_t, 4>{t.dim(0), t.dim(2), t.dim(1), t.dim(3)}
                           : std::array<int64_t, 4>{t.dim(0), t.dim(1), t.dim(2), t.dim(3)};
    };
    const auto y = dims(Y, layout_[3], {});
    const auto q = dims(Q, layout_[0], y), k = dims(K, layout_[1], y), v = dims(V, layout_[2], y);
    const int64_t b = q[0], h = q[1], sq = q[2], d = q[3], skv = k[2], dv = v[3];
    for (int i = 0; i < 3; ++i) {
      const TensorView& t = c.in(static_cast<size_t>(i));
      int64_t hd = 0, packed = 0;
      if (layout_[static_cast<size_t>(i)] == 'p' &&
          (__builtin_mul_overflow(y[1], y[3], &hd) || __builtin_mul_overflow(hd, int64_t{3}, &packed) ||
           t.dim(2) != packed))
        throw Error(ErrorCode::kInvalidInput, label_ + ": packed operand " + std::to_string(i) + " " + dims_str(t) +
                                                  " is not [B, S, 3 * heads * head size] for the output " +
                                                  dims_str(Y));
    }
    if (k[0] != b || v[0] != b || k[1] != h || v[1] != h || k[3] != d || v[2] != skv)
      throw Error(ErrorCode::kInvalidInput, label_ + ": Q " + dims_str(Q) + ", K " + dims_str(K) + " and V " +
                                                dims_str(V) + " do not agree on batch, heads and lengths");
    if (y != std::array<int64_t, 4>{b, h, sq, dv})
      throw Error(ErrorCode::kInvalidInput, label_ + ": the output " + dims_str(Y) + " does not match Q and V");
    auto st = std::make_unique<AttentionState>();
    st->rows = b * h * sq;
    st->n = skv;
    st->heads = h;
    st->seq_q = sq;
    st->scores_bytes = static_cast<size_t>(st->rows * skv) * dtype_size(Q.dtype);
    const auto type = static_cast<ElemType>(Q.dtype);
    st->flash = skv > 0 && (marked_ || flash_ != FlashMode::kOff) && flash_attention_takes(type, d, dv);
    if (marked_ && !st->flash && skv > 0)
      throw Error(ErrorCode::kInternal, label_ + ": stored for the flash-attention kernel, which does not take it");
    if (flash_ == FlashMode::kRequire && !st->flash && skv > 0)
      throw Error(ErrorCode::kInternal, label_ + ": the flash-attention kernel does not take this shape or type "
                                                 "(DYNRT_CUDA_FLASH_ATTENTION=require)");
    FlashArgs& fa = st->args;
    strides_of(Q, layout_[0], d, fa.q_stride);
    strides_of(K, layout_[1], d, fa.k_stride);
    strides_of(V, layout_[2], dv, fa.v_stride);
    strides_of(Y, layout_[3], dv, fa.o_stride);
    for (size_t i = 0; i < 3; ++i)
      if (layout_[i] == 'p') st->offset[i] = i * static_cast<size_t>(h * d) * dtype_size(Q.dtype);
    fa.batch = b, fa.heads = h, fa.seq_q = sq, fa.seq_kv = skv, fa.head_dim = d;
    Stream& s = stream_of(c);
    if (skv > 0 && !st->flash) {
      GemmShape g;
      g.dtype = Q.dtype;
      g.batch = b * h;
      g.m = sq, g.n = skv, g.k = d, g.trans_b = true;
      g.stride_a = sq * d, g.stride_b = skv * d, g.stride_y = sq * skv;
      st->empty_k = d == 0;
      if (!st->empty_k) st->qk = std::make_unique<AlignedGemm>(s, g, label_);
      GemmShape p;
      p.dtype = Q.dtype;
      p.batch = b * h;
      p.m = sq, p.n = dv, p.k = skv;
      p.stride_a = sq * skv, p.stride_b = skv * dv, p.stride_y = sq * dv;
      st->pv = std::make_unique<AlignedGemm>(s, p, label_);
    }
    if (c.has_in(3)) {
      const TensorView& M = c.in(3);
      const int64_t full[4] = {b, h, sq, skv};
      Strided ms = broadcast_strides(M, 4, full);
      for (int i = 0; i < 4; ++i) {
        const int j = i - (4 - M.rank);
        if (j >= 0 && M.dim(j) != 1 && M.dim(j) != full[i])
          throw Error(ErrorCode::kInvalidInput, label_ + ": the mask " + dims_str(M) + " does not broadcast to [" +
                                                    std::to_string(b) + ", " + std::to_string(h) + ", " +
                                                    std::to_string(sq) + ", " + std::to_string(skv) + "]");
        st->mask.strides[i] = ms.strides[i];
      }
      st->mask.data = M.data;  // refreshed in run(): the arena may place it elsewhere next time
      st->mask.is_bool = M.dtype == DType::kBool;
    }
    fa.mask = st->mask;
    return st;
  }

  void run(KernelContext& c) const override {
    const auto* st = static_cast<const AttentionState*>(c.state);
    Stream& s = stream_of(c);
    void* y = c.out(0).data;
    if (st->n == 0) {  // no keys: the weighted sum of nothing
      check(cudaMemsetAsync(y, 0, c.out(0).nbytes(), s.get()), label_.c_str());
      return;
    }
    const float scale = at_.has_scale ? at_.scale : 1.f / std::sqrt(static_cast<float>(c.in(0).dim(3)));
    AttentionMask mask = st->mask;
    if (c.has_in(3)) mask.data = c.in(3).data;
    const auto type = static_cast<ElemType>(c.in(0).dtype);
    if (st->flash) {
      FlashArgs fa = st->args;
      auto at = [&](size_t i) { return static_cast<const char*>(c.in(i).data) + st->offset[i]; };
      fa.q = at(0), fa.k = at(1), fa.v = at(2), fa.o = y;
      fa.scale = scale;
      fa.mask = mask;
      if (!launch_flash_attention(type, fa, s.get()))
        throw Error(ErrorCode::kInternal, label_ + ": the flash-attention kernel refused its operands");
      check(cudaGetLastError(), label_.c_str());
      return;
    }
    void* scores = s.temporaries(st->scores_bytes);  // the GEMMs use the workspace
    if (st->empty_k)
      check(cudaMemsetAsync(scores, 0, st->scores_bytes, s.get()), label_.c_str());
    else
      st->qk->run(s, c.in(0).data, c.in(1).data, scores, nullptr, scale, 0.f);
    launch_attention_softmax(type, scores, st->rows, st->n, st->heads, st->seq_q,
                             mask, s.get());
    check(cudaGetLastError(), label_.c_str());
    st->pv->run(s, scores, c.in(2).data, y, nullptr, 1.f, 0.f);
  }

 private:
  static std::string dims_str(const TensorView& v) {
    std::string r = "[";
    for (int i = 0; i < v.rank; ++i) r += (i ? ", " : "") + std::to_string(v.dim(i));
    return r + "]";
  }
  std::string label_;
  AttentionAttrs at_;
  std::string layout_;  // per Q, K, V, output: 's' [B, S, H, D], 'h' [B, H, S, D], 'p' packed
  bool marked_;
  FlashMode flash_;
};

bool float_type(DType t) { return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16; }

bool attention_supported(const KernelInit& n) {
  DType t = n.input_dtype(0);
  if (!float_type(t) || n.num_inputs() < 3 || n.num_inputs() > 4) return false;
  const std::string layout = n.attr_string("dynrt.layout", "hhhh");
  if (!valid_layout(layout)) return false;
  for (size_t i = 0; i < 3; ++i)
    if (!n.has_input(i) || n.input_dtype(i) != t || n.input_rank(i) != (layout[i] == 'p' ? 3 : 4)) return false;
  if (n.has_input(3) && (n.input_rank(3) > 4 || (n.input_dtype(3) != t && n.input_dtype(3) != DType::kBool)))
    return false;
  // Grouped-query attention (fewer K/V heads than Q heads) is not a case the
  // kernels take: such nodes go to the CPU. Fused nodes (a layout) have equal heads.
  if (!n.has_attr("dynrt.layout")) {
    const std::vector<Expr> &q = n.input_shape(0), &k = n.input_shape(1), &v = n.input_shape(2);
    if (q.size() != 4 || k.size() != 4 || v.size() != 4 || q[1] != k[1] || q[1] != v[1]) return false;
  }
  for (size_t o = 1; o < n.num_outputs(); ++o)
    if (n.has_output(o)) return false;
  AttentionAttrs a = AttentionAttrs::parse(n);
  return !a.causal && a.softcap == 0 && a.mode == 0 && a.left < 0 && a.right < 0;
}

}  // namespace

void register_attention_kernels(KernelRegistry& r) {
  r.add_kernel(
      "Attention",
      [](const KernelInit& n) -> std::unique_ptr<Kernel> {
        if (!attention_supported(n)) n.unsupported("this Attention on CUDA");
        return std::make_unique<AttentionKernel>(n);
      },
      attention_supported, "");
}

}  // namespace dynrt::cuda
