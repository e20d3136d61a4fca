// CPU kernels for RNN, GRU and LSTM in the input's precision (gate order:
// LSTM i, o, f, c; GRU z, r, h; peepholes i, o, f). Batch items past their
// sequence_lens keep their state and output zeros.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <oneapi/dnnl/dnnl.h>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/vec_math.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"

namespace dynrt::cpu {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

enum class Fn { kSigmoid, kTanh, kRelu, kAffine, kLeakyRelu, kThresholdedRelu, kScaledTanh, kHardSigmoid, kElu,
                kSoftsign, kSoftplus };

// An activation, chosen once (the name is resolved in make_rnn, not per element).
struct Act {
  Fn fn = Fn::kTanh;
  float alpha = 0, beta = 0;
  template <class T>
  T operator()(T x) const {
    switch (fn) {
      case Fn::kSigmoid: return T(1) / (T(1) + std::exp(-x));
      case Fn::kTanh: return std::tanh(x);
      case Fn::kRelu: return std::max(x, T(0));
      case Fn::kAffine: return static_cast<T>(alpha) * x + static_cast<T>(beta);
      case Fn::kLeakyRelu: return x >= 0 ? x : static_cast<T>(alpha) * x;
      case Fn::kThresholdedRelu: return x > static_cast<T>(alpha) ? x : T(0);
      case Fn::kScaledTanh: return static_cast<T>(alpha) * std::tanh(static_cast<T>(beta) * x);
      case Fn::kHardSigmoid: return std::clamp(static_cast<T>(alpha) * x + static_cast<T>(beta), T(0), T(1));
      case Fn::kElu: return x >= 0 ? x : static_cast<T>(alpha) * (std::exp(x) - T(1));
      case Fn::kSoftsign: return x / (T(1) + std::abs(x));
      case Fn::kSoftplus: return std::log1p(std::exp(x));
    }
    return x;
  }
};

bool act_from_name(const std::string& n, Fn& fn) {
  static const std::pair<const char*, Fn> kNames[] = {
      {"Sigmoid", Fn::kSigmoid}, {"Tanh", Fn::kTanh}, {"Relu", Fn::kRelu}, {"Affine", Fn::kAffine},
      {"LeakyRelu", Fn::kLeakyRelu}, {"ThresholdedRelu", Fn::kThresholdedRelu}, {"ScaledTanh", Fn::kScaledTanh},
      {"HardSigmoid", Fn::kHardSigmoid}, {"Elu", Fn::kElu}, {"Softsign", Fn::kSoftsign}, {"Softplus", Fn::kSoftplus}};
  for (const auto& [name, f] : kNames)
    if (n == name) {
      fn = f;
      return true;
    }
  return false;
}

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

// m [rows, cols] -> [cols, rows]
template <class T>
std::vector<T> transposed(const T* m, int64_t rows, int64_t cols) {
  std::vector<T> t(sz(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t[sz(c * rows + r)] = m[r * cols + c];
  return t;
}

// acc[k] += sum_j v[j] * mt[j][k] for k in [k0, k1): the products run along
// contiguous rows of the transposed matrix (vectorized over k).
// Blocks of 32 outputs stay in registers across the whole j loop.
template <class T>
inline void accumulate(T* acc, const T* v, const T* mt, int64_t n, int64_t ld, int64_t k0, int64_t k1) {
  constexpr int64_t kBlock = 32;
  int64_t k = k0;
  for (; k + kBlock <= k1; k += kBlock) {
    T part[kBlock];
    for (int64_t i = 0; i < kBlock; ++i) part[i] = acc[k + i];
    for (int64_t j = 0; j < n; ++j) {
      const T vj = v[j];
      const T* row = mt + j * ld + k;
#pragma omp simd
      for (int64_t i = 0; i < kBlock; ++i) part[i] += vj * row[i];
    }
    for (int64_t i = 0; i < kBlock; ++i) acc[k + i] = part[i];
  }
  for (int64_t j = 0; j < n && k < k1; ++j) {
    const T vj = v[j];
    const T* row = mt + j * ld;
#pragma omp simd
    for (int64_t kk = k; kk < k1; ++kk) acc[kk] += vj * row[kk];
  }
}

using v8 = float __attribute__((vector_size(32)));
// Four named vectors (NAME0..NAME3) from / to 32 floats at P: named variables
// stay in registers where an array of vectors spilled (and no function returns
// a vector, which changes the ABI between the baseline and AVX builds).
#define V8_LOAD4(NAME, P)                               \
  do {                                                  \
    __builtin_memcpy(&NAME##0, (P), sizeof(v8));        \
    __builtin_memcpy(&NAME##1, (P) + 8, sizeof(v8));    \
    __builtin_memcpy(&NAME##2, (P) + 16, sizeof(v8));   \
    __builtin_memcpy(&NAME##3, (P) + 24, sizeof(v8));   \
  } while (0)
#define V8_STORE4(P, NAME)                              \
  do {                                                  \
    __builtin_memcpy((P), &NAME##0, sizeof(v8));        \
    __builtin_memcpy((P) + 8, &NAME##1, sizeof(v8));    \
    __builtin_memcpy((P) + 16, &NAME##2, sizeof(v8));   \
    __builtin_memcpy((P) + 24, &NAME##3, sizeof(v8));   \
  } while (0)

// float32: the block of 32 outputs as four 8-wide vectors (GCC vector types,
// so they stay in registers: the array above spilled to the stack and every
// j went through a store and a reload).
template <>
inline void accumulate<float>(float* acc, const float* v, const float* mt, int64_t n, int64_t ld, int64_t k0,
                              int64_t k1) {
  int64_t k = k0;
  for (; k + 32 <= k1; k += 32) {
    v8 a0, a1, a2, a3, r0, r1, r2, r3;
    V8_LOAD4(a, acc + k);
    for (int64_t j = 0; j < n; ++j) {
      const v8 vj = v8{} + v[j];
      V8_LOAD4(r, mt + j * ld + k);
      a0 += vj * r0;
      a1 += vj * r1;
      a2 += vj * r2;
      a3 += vj * r3;
    }
    V8_STORE4(acc + k, a);
  }
  for (int64_t j = 0; j < n && k < k1; ++j) {
    const float vj = v[j];
    const float* row = mt + j * ld;
#pragma omp simd
    for (int64_t kk = k; kk < k1; ++kk) acc[kk] += vj * row[kk];
  }
}

// Two rows at once (acc_a += v_a M, acc_b += v_b M): each row of M loaded
// once for both, eight independent FMA chains (four keep the FMA units half
// idle waiting on latency).
inline void accumulate2(float* acc_a, float* acc_b, const float* va, const float* vb, const float* mt, int64_t n,
                        int64_t ld, int64_t k1) {
  int64_t k = 0;
  for (; k + 32 <= k1; k += 32) {
    v8 a0, a1, a2, a3, b0, b1, b2, b3, r0, r1, r2, r3;
    V8_LOAD4(a, acc_a + k);
    V8_LOAD4(b, acc_b + k);
    for (int64_t j = 0; j < n; ++j) {
      const v8 xa = v8{} + va[j], xb = v8{} + vb[j];
      V8_LOAD4(r, mt + j * ld + k);
      a0 += xa * r0;
      a1 += xa * r1;
      a2 += xa * r2;
      a3 += xa * r3;
      b0 += xb * r0;
      b1 += xb * r1;
      b2 += xb * r2;
      b3 += xb * r3;
    }
    V8_STORE4(acc_a + k, a);
    V8_STORE4(acc_b + k, b);
  }
  if (k < k1) {  // the columns past the last whole block, one row at a time
    accumulate(acc_a, va, mt, n, ld, k, k1);
    accumulate(acc_b, vb, mt, n, ld, k, k1);
  }
}

// The default LSTM cell (sigmoid, tanh, tanh; no clip) in float32, in loops
// the compiler vectorizes (vec_math.h instead of libm calls).
[[gnu::always_inline]] inline float fast_sigmoid(float v) { return vsigmoid_gate(v); }
[[gnu::always_inline]] inline float fast_tanh(float v) { return vtanh(v); }

template <bool INPUT_FORGET>
void lstm_cell_fast(const float* __restrict g, const float* __restrict P, float* __restrict cb, float* __restrict hb,
                    int64_t H) {
#pragma omp simd
  for (int64_t h = 0; h < H; ++h) {
    float i = fast_sigmoid(g[h] + P[h] * cb[h]);
    float fg = INPUT_FORGET ? 1.f - i : fast_sigmoid(g[2 * H + h] + P[2 * H + h] * cb[h]);
    float cn = fg * cb[h] + i * fast_tanh(g[3 * H + h]);
    float o = fast_sigmoid(g[H + h] + P[H + h] * cn);
    cb[h] = cn;
    hb[h] = o * fast_tanh(cn);
  }
}

// The default GRU cell (sigmoid, tanh; no clip): the z and r gates, then the update.
inline void gates_fast(const float* __restrict g, float* __restrict z, float* __restrict r, int64_t H) {
#pragma omp simd
  for (int64_t h = 0; h < H; ++h) {
    z[h] = fast_sigmoid(g[h]);
    r[h] = fast_sigmoid(g[H + h]);
  }
}
inline void gru_update_fast(const float* __restrict gh, const float* __restrict hr, const float* __restrict z,
                            float* __restrict hb, int64_t H) {
#pragma omp simd
  for (int64_t h = 0; h < H; ++h) hb[h] = (1.f - z[h]) * fast_tanh(gh[h] + hr[h]) + z[h] * hb[h];
}

// g = a projected row + the biases: a step's gate inputs before h R^T.
template <class T>
void add_bias(T* __restrict g, const T* __restrict row, const T* __restrict bias, int64_t n) {
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) g[k] = row[k] + bias[k];
}

// W and R per direction, transposed to [in, G*H] and [H, G*H] (the layout
// `accumulate` reads). Made once per node when both are float32 constants.
template <class T>
struct Transposed {
  std::vector<std::vector<T>> wt, rt;  // per direction
};

template <class T>
Transposed<T> transpose_weights(const T* w, const T* r, int64_t nd, int64_t GH, int64_t in, int64_t H) {
  Transposed<T> t;
  for (int64_t d = 0; d < nd; ++d) {
    t.wt.push_back(transposed(w + d * GH * in, GH, in));
    t.rt.push_back(transposed(r + d * GH * H, GH, H));
  }
  return t;
}

// The input projection of every step at once (x W^T + Wb, + Rb except GRU's h
// gate), then one chain per (direction, batch item), the chains in parallel;
// each step adds h R^T to the projection and applies the gates.
template <class T>
void rnn(const RnnAttrs& a, KernelContext& c, const Transposed<float>* constant_weights) {
  const TensorView& X = c.in(0);
  int64_t seq = a.layout == 0 ? X.dim(0) : X.dim(1), batch = a.layout == 0 ? X.dim(1) : X.dim(0), in = X.dim(2);
  int64_t H = a.hidden, G = a.kind == 2 ? 4 : a.kind == 1 ? 3 : 1, nd = a.num_dir, GH = G * H;
  const T* x = X.as<const T>();
  std::vector<T> bias = c.has_in(3) ? load<T>(c.in(3)) : std::vector<T>(sz(nd * 2 * GH), T(0));
  std::vector<int64_t> lens(sz(batch), seq);
  if (c.has_in(4)) {
    if (c.in(4).numel() != batch)  // an engine file could say otherwise than inference
      throw Error(ErrorCode::kInvalidInput, "RNN: sequence_lens has " + std::to_string(c.in(4).numel()) +
                                                " elements, not the batch size " + std::to_string(batch));
    lens = read_ints(c.in(4));
  }
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
  // Every step's hidden state, [seq][dir][batch][H]; rows past a batch item's
  // length stay zero, so the buffer is cleared only when some item is shorter.
  std::unique_ptr<T[]> y(new T[sz(seq * nd * batch * H)]);
  if (std::any_of(lens.begin(), lens.end(), [&](int64_t l) { return std::clamp<int64_t>(l, 0, seq) < seq; }))
    std::fill_n(y.get(), sz(seq * nd * batch * H), T(0));
  auto clip = [&](T v) { return a.clip > 0 ? std::clamp(v, static_cast<T>(-a.clip), static_cast<T>(a.clip)) : v; };
  auto row_of = [&](int64_t t, int64_t b) { return a.layout == 0 ? t * batch + b : b * seq + t; };
  const int64_t rows = seq * batch;
  // W [dirs, G*H, in] and R [dirs, G*H, H] must be what the input and hidden size say.
  if (c.in(1).numel() != nd * GH * in || c.in(2).numel() != nd * GH * H)
    throw Error(ErrorCode::kInvalidInput, "RNN: W or R does not match the input size " + std::to_string(in) +
                                              " and hidden size " + std::to_string(H));
  Transposed<T> per_run;
  const Transposed<T>* weights = &per_run;
  if constexpr (std::is_same_v<T, float>) {
    if (constant_weights) weights = constant_weights;
  }
  if (weights == &per_run)
    per_run = transpose_weights(c.in(1).as<const T>(), c.in(2).as<const T>(), nd, GH, in, H);
  for (int64_t d = 0; d < nd; ++d) {
    const bool rev = a.reverse || d == 1;
    const std::vector<T>& wt = weights->wt[sz(d)];  // [in, GH]
    const std::vector<T>& rt = weights->rt[sz(d)];  // [H, GH]
    const T* Wb = &bias[sz(d * 2 * GH)];
    const T* Rb = Wb + GH;
    const T* P = &peep[sz(d * 3 * H)];
    const Act* f = &a.acts[sz(d) * (a.kind == 2 ? 3 : a.kind == 1 ? 2 : 1)];
    const bool fast_gru = std::is_same_v<T, float> && a.kind == 1 && a.clip <= 0 && f[0].fn == Fn::kSigmoid &&
                          f[1].fn == Fn::kTanh;
    const bool fast_lstm = std::is_same_v<T, float> && a.kind == 2 && a.clip <= 0 && f[0].fn == Fn::kSigmoid &&
                           f[1].fn == Fn::kTanh && f[2].fn == Fn::kTanh;
    // xw[row][k] = x[row] . W[k]; each step adds row_bias[k] = Wb[k] (+ Rb[k]) as it
    // reads its row (not stored: filling and clearing xw took a tenth of the LSTM's time).
    std::unique_ptr<T[]> xw_buf(new T[sz(rows * GH)]);
    T* xw = xw_buf.get();
    std::vector<T> row_bias(sz(GH));
    for (int64_t k = 0; k < GH; ++k) row_bias[sz(k)] = Wb[k] + (a.kind == 1 && k >= 2 * H ? T(0) : Rb[k]);
    bool projected = false;
    if (in == 0) {
      std::fill_n(xw, sz(rows * GH), T(0));
      projected = true;
    }
    if constexpr (std::is_same_v<T, float>) {
      // float32: one oneDNN GEMM over every row (x [rows, in] . W^T [in, GH]), blocked for
      // the cache where the loop below goes a row pair at a time.
      if (!projected)
        projected = dnnl_sgemm('N', 'N', rows, GH, in, 1.f, x, in, wt.data(), GH, 0.f, xw, GH) == dnnl_success;
    }
    if (!projected)
    parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, GH * in)), [&](int64_t r0, int64_t r1) {
      for (int64_t row = r0; row < r1; ++row) {
        T* acc = xw + row * GH;
        std::fill_n(acc, GH, T(0));
        if constexpr (std::is_same_v<T, float>) {
          if (row + 1 < r1) {  // two rows at once
            std::fill_n(acc + GH, GH, T(0));
            accumulate2(acc, acc + GH, x + row * in, x + (row + 1) * in, wt.data(), in, GH, GH);
            ++row;
            continue;
          }
        }
        accumulate(acc, x + row * in, wt.data(), in, GH, 0, GH);
      }
    });
    // Grain 2: the default LSTM cell runs batch items in pairs within a chunk.
    parallel_for(batch, 2, [&](int64_t b0, int64_t b1) {
      std::vector<T> g(sz(GH)), g2(sz(GH)), hr(sz(H)), z(sz(H)), rr(sz(H)), gated(sz(H));
      auto length = [&](int64_t b) { return std::clamp<int64_t>(lens[sz(b)], 0, seq); };
      for (int64_t b = b0; b < b1; ++b) {
        if constexpr (std::is_same_v<T, float>) {
          // The default LSTM cell, two batch items of one length in lock step: each row of
          // R^T is loaded once for both, and eight FMA chains run where one item has four.
          if (fast_lstm && b + 1 < b1 && length(b) == length(b + 1)) {
            float *ha = &hs[sz((d * batch + b) * H)], *hb2 = ha + H;
            float *ca = &cs[sz((d * batch + b) * H)], *cb2 = ca + H;
            const int64_t len = length(b);
            for (int64_t step = 0; step < len; ++step) {
              const int64_t t = rev ? len - 1 - step : step;
              add_bias(g.data(), xw + row_of(t, b) * GH, row_bias.data(), GH);
              add_bias(g2.data(), xw + row_of(t, b + 1) * GH, row_bias.data(), GH);
              accumulate2(g.data(), g2.data(), ha, hb2, rt.data(), H, GH, GH);
              if (a.input_forget) {
                lstm_cell_fast<true>(g.data(), P, ca, ha, H);
                lstm_cell_fast<true>(g2.data(), P, cb2, hb2, H);
              } else {
                lstm_cell_fast<false>(g.data(), P, ca, ha, H);
                lstm_cell_fast<false>(g2.data(), P, cb2, hb2, H);
              }
              std::copy_n(ha, 2 * H, &y[sz(((t * nd + d) * batch + b) * H)]);  // items b, b + 1 are adjacent
            }
            ++b;
            continue;
          }
        }
        T* hb = &hs[sz((d * batch + b) * H)];
        T* cb = &cs[sz((d * batch + b) * H)];
        const int64_t len = length(b);
        for (int64_t step = 0; step < len; ++step) {
          int64_t t = rev ? len - 1 - step : step;
          add_bias(g.data(), xw + row_of(t, b) * GH, row_bias.data(), GH);
          if (a.kind == 1) {
            // z and r gates see R h; the h gate needs r first.
            accumulate(g.data(), hb, rt.data(), H, GH, 0, 2 * H);
            if constexpr (std::is_same_v<T, float>) {
              if (fast_gru) gates_fast(g.data(), z.data(), rr.data(), H);
            }
            if (!fast_gru)
              for (int64_t h = 0; h < H; ++h) {
                z[sz(h)] = f[0](clip(g[sz(h)]));
                rr[sz(h)] = f[0](clip(g[sz(H + h)]));
              }
            std::fill(hr.begin(), hr.end(), T(0));
            const T* rth = rt.data() + 2 * H;  // the h gate's columns of R^T
            if (a.linear_before_reset) {
              accumulate(hr.data(), hb, rth, H, GH, 0, H);
              for (int64_t h = 0; h < H; ++h) hr[sz(h)] = rr[sz(h)] * (hr[sz(h)] + Rb[2 * H + h]);
            } else {
              for (int64_t h = 0; h < H; ++h) gated[sz(h)] = rr[sz(h)] * hb[h];
              accumulate(hr.data(), gated.data(), rth, H, GH, 0, H);
              for (int64_t h = 0; h < H; ++h) hr[sz(h)] += Rb[2 * H + h];
            }
            if constexpr (std::is_same_v<T, float>) {
              if (fast_gru) gru_update_fast(g.data() + 2 * H, hr.data(), z.data(), hb, H);
            }
            if (!fast_gru)
              for (int64_t h = 0; h < H; ++h) {
                T hh = f[1](clip(g[sz(2 * H + h)] + hr[sz(h)]));
                hb[h] = (T(1) - z[sz(h)]) * hh + z[sz(h)] * hb[h];
              }
          } else {
            accumulate(g.data(), hb, rt.data(), H, GH, 0, GH);
            if (a.kind == 0) {
              for (int64_t h = 0; h < H; ++h) hb[h] = f[0](clip(g[sz(h)]));
            } else if (fast_lstm) {
              if constexpr (std::is_same_v<T, float>) {
                if (a.input_forget) lstm_cell_fast<true>(g.data(), P, cb, hb, H);
                else lstm_cell_fast<false>(g.data(), P, cb, hb, H);
              }
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
          }
          std::copy_n(hb, H, &y[sz(((t * nd + d) * batch + b) * H)]);
        }
      }
    });
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
    Act act;
    if (!act_from_name(n, act.fn)) init.unsupported("activation '" + n + "'");
    bool uses_alpha = n == "Affine" || n == "LeakyRelu" || n == "ThresholdedRelu" || n == "ScaledTanh" ||
                      n == "HardSigmoid" || n == "Elu";
    bool uses_beta = n == "Affine" || n == "ScaledTanh" || n == "HardSigmoid";
    float da = n == "LeakyRelu" ? 0.01f : n == "HardSigmoid" ? 0.2f : 1.f, db = n == "HardSigmoid" ? 0.5f : n == "Affine" ? 0.f : 1.f;
    act.alpha = uses_alpha ? (ai < alphas.size() ? alphas[ai++] : da) : 0.f;
    act.beta = uses_beta ? (bi < betas.size() ? betas[bi++] : db) : 0.f;
    a.acts.push_back(act);
  }
  // float32 constant weights: transposed once for every run.
  std::shared_ptr<const Transposed<float>> constant_weights;
  const Tensor *w = init.constant_input(1), *r = init.constant_input(2);
  if (w && r && w->dtype() == DType::kFloat32 && r->dtype() == DType::kFloat32 && w->shape().size() == 3 &&
      r->shape().size() == 3) {
    const int64_t G = a.kind == 2 ? 4 : a.kind == 1 ? 3 : 1, in = w->shape()[2];
    if (w->shape()[0] == a.num_dir && r->shape()[0] == a.num_dir && w->shape()[1] == G * a.hidden &&
        r->shape()[1] == G * a.hidden && r->shape()[2] == a.hidden)
      constant_weights = std::make_shared<const Transposed<float>>(
          transpose_weights(w->data_as<float>(), r->data_as<float>(), a.num_dir, G * a.hidden, in, a.hidden));
  }
  return make_kernel([a, constant_weights](KernelContext& c) {
    DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "RNN", rnn<T>(a, c, constant_weights.get()));
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_rnn_kernels(KernelRegistry& r) {
  for (const char* op : {"RNN", "GRU", "LSTM"}) r.add_kernel(op, cpu::make_rnn);
}

}  // namespace dynrt
