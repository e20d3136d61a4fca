// CPU kernels for LinearAttention, CausalConvWithState and FlexAttention,
// following the ONNX reference: LinearAttention runs its recurrence in
// float32 whatever the input type; FlexAttention computes the softmax in
// float32 (double for float64 inputs).
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backends/cpu/half.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"

namespace dynrt::cpu {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

[[noreturn]] void bad(const std::string& op, const std::string& msg) {
  throw Error(ErrorCode::kInvalidInput, op + ": " + msg);
}

std::vector<float> to_f32(const TensorView& v) {
  std::vector<float> out(sz(v.numel()));
  if (is_half(v.dtype)) to_float(v, out.data());
  else if (v.dtype == DType::kFloat32) std::copy_n(v.as<const float>(), out.size(), out.data());
  else if (v.dtype == DType::kFloat64) for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(v.as<const double>()[i]);
  else unsupported_dtype("LinearAttention", v.dtype);
  return out;
}

void from_f32(const std::vector<float>& in, const TensorView& v) {
  if (v.data == nullptr) return;
  if (is_half(v.dtype)) from_float(in.data(), v);
  else if (v.dtype == DType::kFloat32) std::copy(in.begin(), in.end(), v.as<float>());
  else for (size_t i = 0; i < in.size(); ++i) v.as<double>()[i] = in[i];
}

struct LinAttrs {
  int64_t hq = 1, hkv = 1;
  float scale = 0;
  bool gating = true, delta = true;
};

void linear_attention(const LinAttrs& a, KernelContext& c) {
  const TensorView& Q = c.in(0);
  int64_t B = Q.dim(0), T = Q.dim(1), dk = Q.dim(2) / a.hq, dv = c.in(2).dim(2) / a.hkv, G = a.hq / a.hkv;
  std::vector<float> q = to_f32(Q), k = to_f32(c.in(1)), v = to_f32(c.in(2));
  std::vector<float> state(sz(B * a.hkv * dk * dv), 0.f), decay, beta, y(sz(B * T * a.hq * dv));
  if (c.has_in(3)) state = to_f32(c.in(3));
  int64_t dlast = 0, blast = 0;
  if (a.gating) {
    decay = to_f32(c.in(4));
    dlast = c.in(4).dim(2);
    if (dlast != a.hkv && dlast != a.hkv * dk) bad("LinearAttention", "decay last dim must be kv_num_heads or kv_num_heads * head_size");
  }
  if (a.delta) {
    beta = to_f32(c.in(5));
    blast = c.in(5).dim(2);
    if (blast != a.hkv && blast != 1) bad("LinearAttention", "beta last dim must be kv_num_heads or 1");
  }
  float scale = a.scale != 0.f ? a.scale : 1.f / std::sqrt(static_cast<float>(dk));
  parallel_for(B * a.hkv, 1, [&](int64_t r0, int64_t r1) {
    std::vector<float> vt(sz(dv)), retrieved(sz(dv));
    for (int64_t r = r0; r < r1; ++r) {
      int64_t b = r / a.hkv, h = r % a.hkv;
      float* S = state.data() + r * dk * dv;  // [dk, dv]
      for (int64_t t = 0; t < T; ++t) {
        int64_t bt = b * T + t;
        const float* kt = k.data() + (bt * a.hkv + h) * dk;
        std::copy_n(v.data() + (bt * a.hkv + h) * dv, dv, vt.data());
        if (a.gating) {
          for (int64_t d = 0; d < dk; ++d) {
            float g = dlast == a.hkv ? decay[sz(bt * a.hkv + h)] : decay[sz((bt * a.hkv + h) * dk + d)];
            float e = std::exp(g);
            for (int64_t m = 0; m < dv; ++m) S[d * dv + m] *= e;
          }
        }
        if (a.delta) {
          std::fill(retrieved.begin(), retrieved.end(), 0.f);
          for (int64_t d = 0; d < dk; ++d)
            for (int64_t m = 0; m < dv; ++m) retrieved[sz(m)] += S[d * dv + m] * kt[d];
          float bv = beta[sz(bt * blast + (blast == 1 ? 0 : h))];
          for (int64_t m = 0; m < dv; ++m) vt[sz(m)] = bv * (vt[sz(m)] - retrieved[sz(m)]);
        }
        for (int64_t d = 0; d < dk; ++d)
          for (int64_t m = 0; m < dv; ++m) S[d * dv + m] += kt[d] * vt[sz(m)];
        for (int64_t hh = h * G; hh < (h + 1) * G; ++hh) {
          const float* qt = q.data() + (bt * a.hq + hh) * dk;
          float* o = y.data() + (bt * a.hq + hh) * dv;
          for (int64_t m = 0; m < dv; ++m) o[m] = 0.f;
          for (int64_t d = 0; d < dk; ++d)
            for (int64_t m = 0; m < dv; ++m) o[m] += qt[d] * S[d * dv + m];
          for (int64_t m = 0; m < dv; ++m) o[m] *= scale;
        }
      }
    }
  });
  from_f32(y, c.out(0));
  if (c.outputs.size() > 1) from_f32(state, c.out(1));
}

std::unique_ptr<Kernel> make_linear_attention(const KernelInit& init) {
  LinAttrs a;
  LinearAttentionAttrs attrs = LinearAttentionAttrs::parse(init);
  a.hq = attrs.q_num_heads;
  a.hkv = attrs.kv_num_heads;
  a.scale = attrs.scale;
  const std::string& rule = attrs.update_rule;
  a.gating = rule == "gated" || rule == "gated_delta";
  a.delta = rule == "delta" || rule == "gated_delta";
  return make_kernel([a](KernelContext& c) { linear_attention(a, c); });
}

template <class T>
void causal_conv(bool silu, KernelContext& c) {
  const TensorView &x = c.in(0), &w = c.in(1);
  int64_t B = x.dim(0), C = x.dim(1), L = x.dim(2), k = w.dim(2), P = k - 1, N = L + P;
  const T *px = x.as<const T>(), *pw = w.as<const T>();
  const T* pb = c.has_in(2) ? c.in(2).as<const T>() : nullptr;
  const T* ps = c.has_in(3) ? c.in(3).as<const T>() : nullptr;
  T* py = c.out(0).as<T>();
  T* pst = c.outputs.size() > 1 ? c.out(1).as<T>() : nullptr;
  parallel_for(B * C, 1, [&](int64_t r0, int64_t r1) {
    std::vector<T> pad(sz(N));
    for (int64_t r = r0; r < r1; ++r) {
      int64_t ch = r % C;
      for (int64_t i = 0; i < P; ++i) pad[sz(i)] = ps ? ps[r * P + i] : T(0);
      std::copy_n(px + r * L, L, pad.data() + P);
      const T* wk = pw + ch * k;
      for (int64_t l = 0; l < L; ++l) {
        T s = pb ? pb[ch] : T(0);
        for (int64_t j = 0; j < k; ++j) s += wk[j] * pad[sz(l + j)];
        py[r * L + l] = silu ? s / (T(1) + std::exp(-s)) : s;
      }
      if (pst) std::copy_n(pad.data() + (N - P), P, pst + r * P);
    }
  });
}

std::unique_ptr<Kernel> make_causal_conv(const KernelInit& init) {
  std::string act = CausalConvAttrs::parse(init).activation;
  bool silu = act == "silu" || act == "swish";
  return make_kernel([silu](KernelContext& c) {
    DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "CausalConvWithState", causal_conv<T>(silu, c));
  });
}

template <class T>
void flex_attention(bool has_scale, float scale_attr, KernelContext& c) {
  const TensorView &Q = c.in(0), &K = c.in(1), &V = c.in(2);
  int64_t B = Q.dim(0), Hq = Q.dim(1), L = Q.dim(2), E = Q.dim(3), Hkv = K.dim(1), S = K.dim(2), Ev = V.dim(3);
  int64_t G = Hq / Hkv;
  float scale = has_scale ? scale_attr : 1.f / std::sqrt(static_cast<float>(E));
  auto sq = static_cast<T>(std::sqrt(scale));
  const T *pq = Q.as<const T>(), *pk = K.as<const T>(), *pv = V.as<const T>();
  T* py = c.out(0).as<T>();
  parallel_for(B * Hq * L, 1, [&](int64_t r0, int64_t r1) {
    std::vector<T> p(sz(S)), qs(sz(E));
    for (int64_t r = r0; r < r1; ++r) {
      int64_t b = r / (Hq * L), h = (r / L) % Hq, kh = h / G;
      const T* qr = pq + r * E;
      for (int64_t e = 0; e < E; ++e) qs[sz(e)] = qr[e] * sq;
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t j = 0; j < S; ++j) {
        const T* kr = pk + ((b * Hkv + kh) * S + j) * E;
        T s = 0;
        for (int64_t e = 0; e < E; ++e) s += qs[sz(e)] * (kr[e] * sq);
        p[sz(j)] = s;
        m = std::max(m, s);
      }
      T sum = 0;
      for (int64_t j = 0; j < S; ++j) sum += (p[sz(j)] = std::exp(p[sz(j)] - m));
      T* yo = py + r * Ev;
      for (int64_t e = 0; e < Ev; ++e) yo[e] = 0;
      for (int64_t j = 0; j < S; ++j) {
        T w = p[sz(j)] / sum;
        const T* vr = pv + ((b * Hkv + kh) * S + j) * Ev;
        for (int64_t e = 0; e < Ev; ++e) yo[e] += w * vr[e];
      }
    }
  });
}

std::unique_ptr<Kernel> make_flex_attention(const KernelInit& init) {
  bool has_scale = init.attr("scale") != nullptr;
  float scale = init.attr_float("scale", 0.f);
  return make_kernel([=](KernelContext& c) {
    DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "FlexAttention", flex_attention<T>(has_scale, scale, c));
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_attention_variant_kernels(KernelRegistry& r) {
  using namespace cpu;
  r.add_kernel("LinearAttention", make_linear_attention);
  r.add_kernel("CausalConvWithState", widen_half(make_causal_conv));
  r.add_kernel("FlexAttention", widen_half(make_flex_attention), "ai.onnx.preview");
}

}  // namespace dynrt
