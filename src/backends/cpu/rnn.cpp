// CPU kernels for RNN, GRU and LSTM, step by step in the input's precision
// (gate order: LSTM i, o, f, c; GRU z, r, h; peepholes i, o, f). Batch items
// past their sequence_lens keep their state and output zeros.
#include <cmath>
#include <string>
#include <vector>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"

namespace dynrt::cpu {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

struct Act {
  std::string name;
  float alpha = 0, beta = 0;
  template <class T>
  T operator()(T x) const {
    if (name == "Sigmoid") return T(1) / (T(1) + std::exp(-x));
    if (name == "Tanh") return std::tanh(x);
    if (name == "Relu") return std::max(x, T(0));
    if (name == "Affine") return static_cast<T>(alpha) * x + static_cast<T>(beta);
    if (name == "LeakyRelu") return x >= 0 ? x : static_cast<T>(alpha) * x;
    if (name == "ThresholdedRelu") return x > static_cast<T>(alpha) ? x : T(0);
    if (name == "ScaledTanh") return static_cast<T>(alpha) * std::tanh(static_cast<T>(beta) * x);
    if (name == "HardSigmoid") return std::clamp(static_cast<T>(alpha) * x + static_cast<T>(beta), T(0), T(1));
    if (name == "Elu") return x >= 0 ? x : static_cast<T>(alpha) * (std::exp(x) - T(1));
    if (name == "Softsign") return x / (T(1) + std::abs(x));
    return std::log1p(std::exp(x));  // Softplus
  }
};

struct RnnAttrs {
  int kind = 0;  // 0 RNN, 1 GRU, 2 LSTM
  int64_t hidden = 0, layout = 0, num_dir = 1;
  bool reverse = false, linear_before_reset = false, input_forget = false;
  float clip = 0;
  std::vector<Act> acts;  // per direction: 1 (RNN), 2 (GRU), 3 (LSTM)
};

template <class T>
std::vector<T> load(const TensorView& v) {
  return std::vector<T>(v.as<const T>(), v.as<const T>() + v.numel());
}

template <class T>
void rnn(const RnnAttrs& a, KernelContext& c) {
  const TensorView& X = c.in(0);
  int64_t seq = a.layout == 0 ? X.dim(0) : X.dim(1), batch = a.layout == 0 ? X.dim(1) : X.dim(0), in = X.dim(2);
  int64_t H = a.hidden, G = a.kind == 2 ? 4 : a.kind == 1 ? 3 : 1, nd = a.num_dir;
  std::vector<T> x = load<T>(X), w = load<T>(c.in(1)), r = load<T>(c.in(2));
  std::vector<T> bias = c.has_in(3) ? load<T>(c.in(3)) : std::vector<T>(sz(nd * 2 * G * H), T(0));
  std::vector<int64_t> lens(sz(batch), seq);
  if (c.has_in(4)) lens = read_ints(c.in(4));
  // Initial states, as [dir][batch][H].
  auto initial = [&](size_t i) {
    std::vector<T> s(sz(nd * batch * H), T(0));
    if (!c.has_in(i)) return s;
    std::vector<T> v = load<T>(c.in(i));
    for (int64_t d = 0; d < nd; ++d)
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t h = 0; h < H; ++h)
          s[sz((d * batch + b) * H + h)] = v[sz(a.layout == 0 ? (d * batch + b) * H + h : (b * nd + d) * H + h)];
    return s;
  };
  std::vector<T> hs = initial(5), cs = initial(6);
  std::vector<T> peep = c.has_in(7) ? load<T>(c.in(7)) : std::vector<T>(sz(nd * 3 * H), T(0));
  std::vector<T> y(sz(seq * nd * batch * H), T(0));
  auto clip = [&](T v) { return a.clip > 0 ? std::clamp(v, static_cast<T>(-a.clip), static_cast<T>(a.clip)) : v; };
  std::vector<T> g(sz(G * H)), hr(sz(H));
  for (int64_t d = 0; d < nd; ++d) {
    bool rev = a.reverse || d == 1;
    const T* W = &w[sz(d * G * H * in)];
    const T* R = &r[sz(d * G * H * H)];
    const T* Wb = &bias[sz(d * 2 * G * H)];
    const T* Rb = Wb + G * H;
    const T* P = &peep[sz(d * 3 * H)];
    const Act* f = &a.acts[sz(d) * (a.kind == 2 ? 3 : a.kind == 1 ? 2 : 1)];
    for (int64_t b = 0; b < batch; ++b) {
      T* hb = &hs[sz((d * batch + b) * H)];
      T* cb = &cs[sz((d * batch + b) * H)];
      int64_t len = std::clamp<int64_t>(lens[sz(b)], 0, seq);
      for (int64_t step = 0; step < len; ++step) {
        int64_t t = rev ? len - 1 - step : step;
        const T* xt = &x[sz(a.layout == 0 ? (t * batch + b) * in : (b * seq + t) * in)];
        // g = W x + Wb (+ R h + Rb, except GRU's h gate which needs r first).
        for (int64_t k = 0; k < G * H; ++k) {
          T s = Wb[k];
          for (int64_t j = 0; j < in; ++j) s += W[k * in + j] * xt[j];
          bool gru_h = a.kind == 1 && k >= 2 * H;
          if (!gru_h) {
            s += Rb[k];
            for (int64_t j = 0; j < H; ++j) s += R[k * H + j] * hb[j];
          }
          g[sz(k)] = s;
        }
        if (a.kind == 0) {
          for (int64_t h = 0; h < H; ++h) hb[h] = f[0](clip(g[sz(h)]));
        } else if (a.kind == 1) {
          std::vector<T> z(sz(H)), rr(sz(H));
          for (int64_t h = 0; h < H; ++h) {
            z[sz(h)] = f[0](clip(g[sz(h)]));
            rr[sz(h)] = f[0](clip(g[sz(H + h)]));
          }
          for (int64_t h = 0; h < H; ++h) {
            const T* Rh = R + (2 * H + h) * H;
            T s = 0;
            if (a.linear_before_reset) {
              for (int64_t j = 0; j < H; ++j) s += Rh[j] * hb[j];
              s = rr[sz(h)] * (s + Rb[2 * H + h]);
            } else {
              for (int64_t j = 0; j < H; ++j) s += Rh[j] * (rr[sz(j)] * hb[j]);
              s += Rb[2 * H + h];
            }
            hr[sz(h)] = f[1](clip(g[sz(2 * H + h)] + s));
          }
          for (int64_t h = 0; h < H; ++h) hb[h] = (T(1) - z[sz(h)]) * hr[sz(h)] + z[sz(h)] * hb[h];
        } else {
          for (int64_t h = 0; h < H; ++h) {
            T i = f[0](clip(g[sz(h)] + P[h] * cb[h]));
            T fg = a.input_forget ? T(1) - i : f[0](clip(g[sz(2 * H + h)] + P[2 * H + h] * cb[h]));
            T cc = f[1](clip(g[sz(3 * H + h)]));
            T cn = fg * cb[h] + i * cc;
            T o = f[0](clip(g[sz(H + h)] + P[H + h] * cn));
            cb[h] = cn;
            hb[h] = o * f[2](cn);
          }
        }
        for (int64_t h = 0; h < H; ++h) y[sz(((t * nd + d) * batch + b) * H + h)] = hb[h];
      }
    }
  }
  // Outputs in the requested layout.
  auto present = [&](size_t i) { return i < c.outputs.size() && c.out(i).dtype != DType::kUndefined && c.out(i).data; };
  if (present(0)) {
    T* o = c.out(0).as<T>();
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t d = 0; d < nd; ++d)
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t h = 0; h < H; ++h)
            o[sz(a.layout == 0 ? ((t * nd + d) * batch + b) * H + h : ((b * seq + t) * nd + d) * H + h)] =
                y[sz(((t * nd + d) * batch + b) * H + h)];
  }
  for (size_t i : {size_t{1}, size_t{2}}) {
    if (!present(i)) continue;
    const std::vector<T>& s = i == 1 ? hs : cs;
    T* o = c.out(i).as<T>();
    for (int64_t d = 0; d < nd; ++d)
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t h = 0; h < H; ++h)
          o[sz(a.layout == 0 ? (d * batch + b) * H + h : (b * nd + d) * H + h)] = s[sz((d * batch + b) * H + h)];
  }
}

std::unique_ptr<Kernel> make_rnn(const KernelInit& init) {
  RnnAttrs a;
  const std::string& op = init.op();
  a.kind = op == "LSTM" ? 2 : op == "GRU" ? 1 : 0;
  RecurrentAttrs attrs = RecurrentAttrs::parse(init);
  a.num_dir = attrs.direction == "bidirectional" ? 2 : 1;
  a.reverse = attrs.direction == "reverse";
  a.layout = attrs.layout;
  a.linear_before_reset = attrs.linear_before_reset;
  a.input_forget = attrs.input_forget;
  a.clip = attrs.clip;
  a.hidden = attrs.hidden_size;
  if (a.hidden == 0) {
    const std::vector<Expr>& r = init.input_shape(2);
    if (!r[2].is_const()) init.unsupported("hidden_size must be given when R's shape is not known");
    a.hidden = r[2].const_value();
  }
  std::vector<std::string> names = attrs.activations;
  std::vector<std::string> def = a.kind == 2 ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                                 : a.kind == 1 ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                               : std::vector<std::string>{"Tanh"};
  if (names.empty())
    for (int64_t d = 0; d < a.num_dir; ++d) names.insert(names.end(), def.begin(), def.end());
  if (names.size() != def.size() * static_cast<size_t>(a.num_dir))
    init.unsupported("activations must list " + std::to_string(def.size()) + " functions per direction");
  const std::vector<float>&alphas = attrs.activation_alpha, &betas = attrs.activation_beta;
  size_t ai = 0, bi = 0;
  for (const std::string& n : names) {
    Act act{n};
    bool uses_alpha = n == "Affine" || n == "LeakyRelu" || n == "ThresholdedRelu" || n == "ScaledTanh" ||
                      n == "HardSigmoid" || n == "Elu";
    bool uses_beta = n == "Affine" || n == "ScaledTanh" || n == "HardSigmoid";
    float da = n == "LeakyRelu" ? 0.01f : n == "HardSigmoid" ? 0.2f : 1.f, db = n == "HardSigmoid" ? 0.5f : n == "Affine" ? 0.f : 1.f;
    act.alpha = uses_alpha ? (ai < alphas.size() ? alphas[ai++] : da) : 0.f;
    act.beta = uses_beta ? (bi < betas.size() ? betas[bi++] : db) : 0.f;
    a.acts.push_back(act);
  }
  return make_kernel([a](KernelContext& c) {
    DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "RNN", rnn<T>(a, c));
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_rnn_kernels(KernelRegistry& r) {
  for (const char* op : {"RNN", "GRU", "LSTM"}) r.add_kernel(op, cpu::make_rnn);
}

}  // namespace dynrt
