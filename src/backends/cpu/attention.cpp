// CPU kernels for Attention and RotaryEmbedding. Inputs of any float type
// are computed in float (double for float64 inputs), following the ONNX
// reference: scores (Q*sqrt(s)).(K*sqrt(s)), optional softcap, plus a bias
// made of the mask, causal / sliding-window limits and the padding given by
// nonpad_kv_seqlen; softmax with fully masked rows giving 0.
#include <cmath>
#include <limits>
#include <vector>

#include "backends/cpu/attention_onednn.h"
#include "backends/cpu/attention_fast.h"
#include "backends/cpu/copy_util.h"
#include "backends/cpu/half.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/onednn_util.h"
#include "ops/attrs.h"

namespace dynrt::cpu {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

template <class A>
std::vector<A> load(const TensorView& v) {
  std::vector<A> out(sz(v.numel()));
  if (is_half(v.dtype)) {
    std::vector<float> f(out.size());
    to_float(v, f.data());
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<A>(f[i]);
  } else if (v.dtype == DType::kFloat32) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<A>(v.as<const float>()[i]);
  } else if (v.dtype == DType::kFloat64) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<A>(v.as<const double>()[i]);
  } else if (v.dtype == DType::kBool) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = v.as<const uint8_t>()[i] ? A(1) : A(0);
  } else {
    unsupported_dtype("Attention", v.dtype);
  }
  return out;
}

template <class A>
void store(const std::vector<A>& in, const TensorView& v) {
  if (v.dtype == DType::kUndefined || v.data == nullptr) return;
  if (is_half(v.dtype)) {
    std::vector<float> f(in.begin(), in.end());
    from_float(f.data(), v);
  } else if (v.dtype == DType::kFloat32) {
    for (size_t i = 0; i < in.size(); ++i) v.as<float>()[i] = static_cast<float>(in[i]);
  } else {
    for (size_t i = 0; i < in.size(); ++i) v.as<double>()[i] = static_cast<double>(in[i]);
  }
}

using AttnAttrs = AttentionAttrs;  // src/ops/attrs.h

template <class A>
void attention(const AttnAttrs& at, KernelContext& c) {
  const TensorView &Q = c.in(0), &K = c.in(1), &V = c.in(2);
  bool d3 = Q.rank == 3;
  int64_t B = Q.dim(0), Hq = d3 ? at.q_heads : Q.dim(1), Sq = d3 ? Q.dim(1) : Q.dim(2);
  int64_t Hkv = d3 ? at.kv_heads : K.dim(1), Skv = d3 ? K.dim(1) : K.dim(2);
  int64_t Dh = d3 ? Q.dim(2) / Hq : Q.dim(3), Dv = d3 ? V.dim(2) / Hkv : V.dim(3);
  bool past = c.has_in(4);
  int64_t P = past ? c.in(4).dim(2) : 0, L = P + Skv;
  std::vector<A> q = load<A>(Q), k = load<A>(K), v = load<A>(V);
  std::vector<A> pk, pv;
  if (past) {
    pk = load<A>(c.in(4));
    pv = load<A>(c.in(5));
  }
  // present_key / present_value: [B, Hkv, L, D] = concat(past, K or V as 4-D).
  std::vector<A> keys(sz(B * Hkv * L * Dh)), vals(sz(B * Hkv * L * Dv));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hkv; ++h)
      for (int64_t j = 0; j < L; ++j) {
        A* kd = &keys[sz(((b * Hkv + h) * L + j) * Dh)];
        A* vd = &vals[sz(((b * Hkv + h) * L + j) * Dv)];
        if (j < P) {
          std::copy_n(&pk[sz(((b * Hkv + h) * P + j) * Dh)], Dh, kd);
          std::copy_n(&pv[sz(((b * Hkv + h) * P + j) * Dv)], Dv, vd);
        } else {
          int64_t s = j - P;
          std::copy_n(&k[sz(d3 ? (b * Skv + s) * Hkv * Dh + h * Dh : ((b * Hkv + h) * Skv + s) * Dh)], Dh, kd);
          std::copy_n(&v[sz(d3 ? (b * Skv + s) * Hkv * Dv + h * Dv : ((b * Hkv + h) * Skv + s) * Dv)], Dv, vd);
        }
      }
  // Mask, right-aligned against [B, Hq, Sq, L]; a shorter last dim is padded as masked.
  const bool has_mask = c.has_in(3);
  std::vector<A> mask;
  bool mask_bool = false;
  int64_t mdim[4] = {1, 1, 1, 1}, mstr[4] = {0, 0, 0, 0};
  if (has_mask) {
    const TensorView& m = c.in(3);
    mask = load<A>(m);
    mask_bool = m.dtype == DType::kBool;
    for (int i = 0; i < m.rank; ++i) mdim[4 - m.rank + i] = m.dim(i);
    int64_t full[4] = {B, Hq, Sq, L}, s = 1;
    for (int i = 3; i >= 0; --i) {
      if (i < 3 && mdim[i] != 1 && mdim[i] != full[i])
        throw Error(ErrorCode::kInvalidInput, "Attention: attn_mask does not broadcast to [batch, heads, q, kv]");
      if (i == 3 && mdim[3] > L) throw Error(ErrorCode::kInvalidInput, "Attention: attn_mask is longer than the keys");
      mstr[i] = mdim[i] == 1 && i < 3 ? 0 : s;
      s *= mdim[i];
    }
  }
  std::vector<int64_t> nonpad;
  if (c.has_in(6)) nonpad = read_ints(c.in(6));
  // bfloat16 inputs: round where the reference's bfloat16 arithmetic rounds
  // (each elementwise step; dot products accumulate in float).
  bool bf16 = Q.dtype == DType::kBFloat16 && at.softmax_precision != 1;
  auto rq = [bf16](A v) { return bf16 ? static_cast<A>(bf16_to_float(float_to_bf16(static_cast<float>(v)))) : v; };
  A sc = at.has_scale ? static_cast<A>(at.scale) : A(1) / std::sqrt(static_cast<A>(Dh));
  sc = rq(std::sqrt(sc));
  const A inf = std::numeric_limits<A>::infinity();
  std::vector<A> y(sz(B * Hq * Sq * Dv)), qk_out(sz(B * Hq * Sq * L));
  int64_t group = Hq / Hkv;
  parallel_for(B * Hq * Sq, 1, [&](int64_t r0, int64_t r1) {
    std::vector<A> score(sz(L)), bias(sz(L)), qs(sz(Dh));
    for (int64_t row = r0; row < r1; ++row) {
      int64_t b = row / (Hq * Sq), h = (row / Sq) % Hq, i = row % Sq, kh = h / group;
      const A* qp = &q[sz(d3 ? (b * Sq + i) * Hq * Dh + h * Dh : ((b * Hq + h) * Sq + i) * Dh)];
      for (int64_t d = 0; d < Dh; ++d) qs[sz(d)] = rq(qp[d] * sc);
      // offset aligning queries to the end of the keys (causal and windows)
      int64_t offset = past ? P : (!nonpad.empty() ? nonpad[sz(b)] - Sq : 0);
      A bias_max = -inf;
      for (int64_t j = 0; j < L; ++j) {
        const A* kp = &keys[sz(((b * Hkv + kh) * L + j) * Dh)];
        A s = 0;
        for (int64_t d = 0; d < Dh; ++d) s += qs[sz(d)] * rq(kp[d] * sc);
        s = rq(s);
        if (at.softcap > 0) s = rq(at.softcap * rq(std::tanh(rq(s / at.softcap))));
        score[sz(j)] = s;
        A bv = 0;
        if (has_mask) {
          if (j >= mdim[3]) {
            bv = -inf;
          } else {
            A m = mask[sz(b * mstr[0] + h * mstr[1] + i * mstr[2] + j)];
            bv = mask_bool ? (m != 0 ? A(0) : -inf) : m;
          }
        }
        if (at.causal && j > i + offset) bv = -inf;
        if (at.left >= 0 || at.right >= 0) {
          int64_t diff = i + offset - j;
          if ((at.left >= 0 && diff > at.left) || (at.right >= 0 && -diff > at.right)) bv = -inf;
        }
        if (!nonpad.empty() && j >= nonpad[sz(b)]) bv = -inf;
        bias[sz(j)] = bv;
        bias_max = std::max(bias_max, bv);
      }
      A* qo = &qk_out[sz(row * L)];
      A m = -inf;
      for (int64_t j = 0; j < L; ++j) {
        A s = rq(score[sz(j)] + bias[sz(j)]);
        qo[j] = at.mode == 2 ? s : score[sz(j)];
        score[sz(j)] = s;
        m = std::max(m, s);
      }
      if (m == -inf) m = 0;
      A sum = 0;
      for (int64_t j = 0; j < L; ++j) {
        score[sz(j)] = rq(std::exp(rq(score[sz(j)] - m)));
        sum = rq(sum + score[sz(j)]);
      }
      if (sum == 0) sum = 1;
      bool masked_row = bias_max == -inf;
      for (int64_t j = 0; j < L; ++j) score[sz(j)] = masked_row ? A(0) : rq(score[sz(j)] / sum);
      if (at.mode == 3)
        for (int64_t j = 0; j < L; ++j) qo[j] = score[sz(j)];
      A* yo = &y[sz(d3 ? (b * Sq + i) * Hq * Dv + h * Dv : ((b * Hq + h) * Sq + i) * Dv)];
      for (int64_t d = 0; d < Dv; ++d) yo[d] = 0;
      for (int64_t j = 0; j < L; ++j) {
        A p = score[sz(j)];
        if (p == 0) continue;
        const A* vp = &vals[sz(((b * Hkv + kh) * L + j) * Dv)];
        for (int64_t d = 0; d < Dv; ++d) yo[d] += p * vp[d];
      }
    }
  });
  store(y, c.out(0));
  if (c.outputs.size() > 1) store(keys, c.out(1));
  if (c.outputs.size() > 2) store(vals, c.out(2));
  if (c.outputs.size() > 3) store(qk_out, c.out(3));
}

// float32 4-D attention of the plain kind takes the fast path
// (attention_fast.cpp); a node whose operands the layout pass left in
// [B, S, H, D] ("dynrt.layout") must.
std::unique_ptr<Kernel> make_attention(const KernelInit& init) {
  AttnAttrs a = AttentionAttrs::parse(init);
  const bool fast_node = attention_fast_node(a, init.num_inputs(), init.num_outputs());
  AttentionLayout layout{'h', 'h', 'h', 'h'};
  const bool stored = init.has_attr("dynrt.layout");
  if (stored) {
    // Q, K, V: 's', 'h' or 'p' (packed, all three); the output 's' or 'h'.
    const std::string s = init.attr_string("dynrt.layout", "");
    const bool packed = s.size() == 4 && (s[0] == 'p' || s[1] == 'p' || s[2] == 'p');
    if (s.size() != 4 || s.find_first_not_of("shp") != std::string::npos || s[3] == 'p' ||
        (packed && s.compare(0, 3, "ppp") != 0) || !fast_node)
      init.unsupported("a stored attention layout '" + s + "' this kernel does not take");
    for (size_t i = 0; i < 4; ++i) layout[i] = s[i];
  }
  auto kernel = make_kernel([a, fast_node, stored, layout](KernelContext& c) {
    if (stored || (fast_node && attention_fast_applies(c, layout))) return attention_fast(a, layout, c);
    if (c.in(0).dtype == DType::kFloat64) attention<double>(a, c);
    else attention<float>(a, c);
  });
  if (fast_node) return make_onednn_attention(a, layout, bf16_compute(init), std::move(kernel));
  return kernel;
}

template <class A>
void rotary(KernelContext& c, bool interleaved, int64_t rot_dim, int64_t num_heads) {
  const TensorView& x = c.in(0);
  bool d3 = x.rank == 3;
  int64_t B = x.dim(0), S = d3 ? x.dim(1) : x.dim(2), H = d3 ? num_heads : x.dim(1);
  int64_t D = d3 ? x.dim(2) / H : x.dim(3);
  int64_t R = rot_dim > 0 ? rot_dim : D, half = R / 2;
  std::vector<A> in = load<A>(x), cs = load<A>(c.in(1)), sn = load<A>(c.in(2)), out(in.size());
  bool pos = c.has_in(3);
  std::vector<int64_t> ids = pos ? read_ints(c.in(3)) : std::vector<int64_t>{};
  const TensorView& cache = c.in(1);
  if (cache.dim(cache.rank - 1) != half)
    throw Error(ErrorCode::kInvalidInput, "RotaryEmbedding: cache width must be rotary_embedding_dim / 2");
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) {
      int64_t crow = pos ? ids[sz(b * S + s)] : b * S + s;
      if (pos && (crow < 0 || crow >= cache.dim(0)))
        throw Error(ErrorCode::kInvalidInput, "RotaryEmbedding: position id out of range");
      const A* cp = &cs[sz(crow * half)];
      const A* sp = &sn[sz(crow * half)];
      for (int64_t h = 0; h < H; ++h) {
        int64_t base = d3 ? (b * S + s) * H * D + h * D : ((b * H + h) * S + s) * D;
        const A* p = &in[sz(base)];
        A* o = &out[sz(base)];
        for (int64_t k = 0; k < half; ++k) {
          int64_t i1 = interleaved ? 2 * k : k, i2 = interleaved ? 2 * k + 1 : k + half;
          A x1 = p[i1], x2 = p[i2];
          o[i1] = cp[k] * x1 - sp[k] * x2;
          o[i2] = sp[k] * x1 + cp[k] * x2;
        }
        for (int64_t k = R; k < D; ++k) o[k] = p[k];
      }
    }
  store(out, c.out(0));
}

std::unique_ptr<Kernel> make_rotary(const KernelInit& init) {
  RotaryAttrs attrs = RotaryAttrs::parse(init);
  bool interleaved = attrs.interleaved;
  int64_t rot = attrs.rotary_embedding_dim, heads = attrs.num_heads;
  return make_kernel([=](KernelContext& c) {
    if (c.in(0).dtype == DType::kFloat64) rotary<double>(c, interleaved, rot, heads);
    else rotary<float>(c, interleaved, rot, heads);
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_attention_kernels(KernelRegistry& r) {
  r.add_kernel("Attention", cpu::make_attention);
  r.add_kernel("RotaryEmbedding", cpu::make_rotary);
}

}  // namespace dynrt
