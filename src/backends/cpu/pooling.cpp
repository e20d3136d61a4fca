// CPU kernels for MaxPool, AveragePool, LpPool, the global pools and
// BatchNormalization (inference). Plain loops over NC(D)HW planes, or over
// pixels with channels innermost when the layout pass made the activations
// channels-last (the values' ir::Layout). These ops
// are memory-bound, and writing them directly keeps ONNX Runtime's exact
// edge semantics (ceil_mode windows, count_include_pad divisors).
#include <cmath>
#include <limits>
#include <string>

#include "backends/cpu/half.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"
#include "ops/nn_shape.h"

namespace dynrt::cpu {
namespace {

enum class PoolKind { kMax, kAvg, kLp };

bool channels_last_input(const KernelInit& init) { return init.input_layout(0) == ir::Layout::kChannelsLast; }
bool channels_last_output(const KernelInit& init) { return init.output_layout(0) == ir::Layout::kChannelsLast; }

// LpPool's p: an int since opset 11, a float before.
float lp_norm(const KernelInit& init) {
  const ir::Attribute* a = init.attr("p");
  if (!a) return 2.f;
  return a->type == ir::Attribute::Type::kFloat ? a->f : static_cast<float>(a->i);
}

// Geometry of one pool run, padded to 3 spatial axes (leading unit axes).
struct PoolGeom {
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1};
  int64_t pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
};

class PoolKernel : public Kernel {
 public:
  PoolKernel(const KernelInit& init, PoolKind kind) : kind_(kind) {
    // MaxPool picks one of its inputs: int8/uint8 and 16-bit floats run the
    // float32 path on a widened copy and narrow back exactly.
    const DType t = init.input_dtype(0);
    narrow_ = kind == PoolKind::kMax && (t == DType::kInt8 || t == DType::kUInt8 || is_half(t));
    if (t != DType::kFloat32 && !narrow_) unsupported_dtype(init.op().c_str(), t);
    n_ = init.input_rank(0) - 2;
    PoolAttrs attrs = PoolAttrs::parse(init);
    sp_ = nnshape::read_spatial(init, n_, attrs.kernel_shape);
    if (!sp_.error.empty()) init.unsupported(sp_.error);
    include_pad_ = attrs.count_include_pad;
    p_ = lp_norm(init);
    cl_ = channels_last_input(init);
    if (cl_ != channels_last_output(init)) init.unsupported("pools need the same input and output layout");
    indices_ = kind == PoolKind::kMax && init.has_output(1);
    column_major_ = attrs.storage_order == 1;
    if (indices_ && cl_) init.unsupported("MaxPool's Indices output in channels-last layout");
  }

  // The float32 copies of a narrow MaxPool, allocated once per shape.
  struct Widened : KernelState {
    std::vector<float> x, y;
  };
  std::unique_ptr<KernelState> prepare(const KernelContext& c) const override {
    if (!narrow_) return nullptr;
    auto st = std::make_unique<Widened>();
    st->x.resize(static_cast<size_t>(c.in(0).numel()));
    st->y.resize(static_cast<size_t>(c.out(0).numel()));
    return st;
  }

  void run(KernelContext& c) const override {
    const TensorView &x = c.in(0), &y = c.out(0);
    if (y.numel() == 0) return;
    int64_t* idx = indices_ && c.outputs.size() > 1 && c.out(1).data ? c.out(1).as<int64_t>() : nullptr;
    if (!narrow_) return run_float(x, y, idx);
    auto* st = static_cast<Widened*>(c.state);
    std::vector<float>& xf = st->x;
    std::vector<float>& yf = st->y;
    for (int64_t i = 0; i < x.numel(); ++i) xf[static_cast<size_t>(i)] = element_as_float(x, i);
    TensorView xv = x, yv = y;
    xv.dtype = yv.dtype = DType::kFloat32;
    xv.data = xf.data();
    yv.data = yf.data();
    run_float(xv, yv, idx);
    for (int64_t i = 0; i < y.numel(); ++i) store_from_float(y, i, yf[static_cast<size_t>(i)]);
  }

 private:
  static float element_as_float(const TensorView& v, int64_t i) {
    switch (v.dtype) {
      case DType::kInt8: return v.as<const int8_t>()[i];
      case DType::kUInt8: return v.as<const uint8_t>()[i];
      case DType::kFloat16: return half_to_float(v.as<const uint16_t>()[i]);
      default: return bf16_to_float(v.as<const uint16_t>()[i]);
    }
  }
  // f is one of the inputs, or -inf for a window of padding only (the type's lowest then).
  static void store_from_float(const TensorView& v, int64_t i, float f) {
    switch (v.dtype) {
      case DType::kInt8:
        v.as<int8_t>()[i] = f == -std::numeric_limits<float>::infinity() ? INT8_MIN : static_cast<int8_t>(f);
        break;
      case DType::kUInt8: v.as<uint8_t>()[i] = f == -std::numeric_limits<float>::infinity() ? 0 : static_cast<uint8_t>(f); break;
      case DType::kFloat16: v.as<uint16_t>()[i] = float_to_half(f); break;
      default: v.as<uint16_t>()[i] = float_to_bf16(f); break;
    }
  }

  // idx (MaxPool's Indices, or null): per pooled value, the flat index in X of the first
  // maximum (the plane's offset plus the row- or column-major index within the plane).
  void run_float(const TensorView& x, const TensorView& y, int64_t* idx) const {
    PoolGeom g;
    nnshape::fill_window3(sp_, x.dims.data() + 2, y.dims.data() + 2, g);
    int64_t planes = x.dim(0) * x.dim(1);
    int64_t in_plane = g.in[0] * g.in[1] * g.in[2], out_plane = g.out[0] * g.out[1] * g.out[2];
    const float* xs = x.as<const float>();
    float* ys = y.as<float>();
    if (idx) {
      parallel_for(planes, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, out_plane)), [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p)
          max_plane_indices(g, xs + p * in_plane, ys + p * out_plane, idx + p * out_plane, p * in_plane);
      });
      return;
    }
    if (cl_) {
      pool_channels_last(g, x.dim(0), x.dim(1), xs, ys);
      return;
    }
    parallel_for(planes, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, out_plane)), [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) pool_plane(g, xs + p * in_plane, ys + p * out_plane);
    });
  }

  // Taps of one axis that fall inside the input: [lo, hi) in tap indices.
  static void tap_range(const PoolGeom& g, int a, int64_t o, int64_t& start, int64_t& lo, int64_t& hi) {
    start = o * g.s[a] - g.pb[a];
    lo = start >= 0 ? 0 : (-start + g.d[a] - 1) / g.d[a];
    int64_t last = g.in[a] - 1 - start;  // largest valid tap offset
    hi = last < 0 ? 0 : std::min(g.k[a], last / g.d[a] + 1);
    if (hi < lo) hi = lo;
  }

  // Taps counted by count_include_pad=1: those before the end of the end pad.
  static int64_t padded_taps(const PoolGeom& g, int a, int64_t start) {
    int64_t limit = g.in[a] + g.pe[a] - start;  // offsets < limit count
    if (limit <= 0) return 0;
    return std::min(g.k[a], (limit - 1) / g.d[a] + 1);
  }

  // Calls fn(s, lo, hi) for every output position of a plane, in order: per axis the
  // window's first input index s and its taps inside the input, [lo, hi).
  template <class F>
  static void for_each_window(const PoolGeom& g, F&& fn) {
    int64_t s[3], lo[3], hi[3];
    for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
      tap_range(g, 0, o0, s[0], lo[0], hi[0]);
      for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
        tap_range(g, 1, o1, s[1], lo[1], hi[1]);
        for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
          tap_range(g, 2, o2, s[2], lo[2], hi[2]);
          fn(s, lo, hi);
        }
      }
    }
  }

  void pool_plane(const PoolGeom& g, const float* x, float* y) const {
    for_each_window(g, [&](const int64_t* s, const int64_t* lo, const int64_t* hi) {
      float acc = kind_ == PoolKind::kMax ? -std::numeric_limits<float>::infinity() : 0.f;
      for (int64_t t0 = lo[0]; t0 < hi[0]; ++t0) {
        const float* r0 = x + (s[0] + t0 * g.d[0]) * g.in[1] * g.in[2];
        for (int64_t t1 = lo[1]; t1 < hi[1]; ++t1) {
          const float* r1 = r0 + (s[1] + t1 * g.d[1]) * g.in[2] + s[2];
          if (kind_ == PoolKind::kMax)
            for (int64_t t2 = lo[2]; t2 < hi[2]; ++t2) acc = std::max(acc, r1[t2 * g.d[2]]);
          else if (kind_ == PoolKind::kAvg)
            for (int64_t t2 = lo[2]; t2 < hi[2]; ++t2) acc += r1[t2 * g.d[2]];
          else
            for (int64_t t2 = lo[2]; t2 < hi[2]; ++t2) acc += std::pow(std::fabs(r1[t2 * g.d[2]]), p_);
        }
      }
      if (kind_ == PoolKind::kAvg) {
        int64_t cnt = include_pad_ ? padded_taps(g, 0, s[0]) * padded_taps(g, 1, s[1]) * padded_taps(g, 2, s[2])
                                   : (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
        acc = cnt > 0 ? acc / static_cast<float>(cnt) : 0.f;
      } else if (kind_ == PoolKind::kLp) {
        acc = std::pow(acc, 1.f / p_);
      }
      *y++ = acc;
    });
  }

  // MaxPool with its Indices output (the ONNX reference's rule: strictly greater replaces, so
  // the first maximum in window order wins; NaN is skipped as pool_plane's std::max skips it;
  // a window of padding or NaN only gets -inf and -1).
  void max_plane_indices(const PoolGeom& g, const float* x, float* y, int64_t* idx, int64_t plane_offset) const {
    for_each_window(g, [&](const int64_t* s, const int64_t* lo, const int64_t* hi) {
      float best = -std::numeric_limits<float>::infinity();
      int64_t at = -1;
      for (int64_t t0 = lo[0]; t0 < hi[0]; ++t0)
        for (int64_t t1 = lo[1]; t1 < hi[1]; ++t1)
          for (int64_t t2 = lo[2]; t2 < hi[2]; ++t2) {
            const int64_t i0 = s[0] + t0 * g.d[0], i1 = s[1] + t1 * g.d[1], i2 = s[2] + t2 * g.d[2];
            const float v = x[(i0 * g.in[1] + i1) * g.in[2] + i2];
            if (at < 0 ? v == v : v > best) {  // NaN never wins, as with std::max in pool_plane
              best = v;
              // The leading axes the geometry pads with are of size 1, so both orders
              // reduce to the model's own spatial rank.
              at = column_major_ ? i0 + g.in[0] * (i1 + g.in[1] * i2) : (i0 * g.in[1] + i1) * g.in[2] + i2;
            }
          }
      *y++ = best;
      *idx++ = at < 0 ? -1 : plane_offset + at;
    });
  }

  // Channels-last: one output pixel at a time, channels innermost (vectorized).
  void pool_channels_last(const PoolGeom& g, int64_t batch, int64_t ch, const float* x, float* y) const {
    int64_t rows = batch * g.out[0] * g.out[1];
    parallel_for(rows, std::max<int64_t>(1, 64 / std::max<int64_t>(1, g.out[2])), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        int64_t n = r / (g.out[0] * g.out[1]), o0 = r / g.out[1] % g.out[0], o1 = r % g.out[1];
        int64_t s0, lo0, hi0, s1, lo1, hi1;
        tap_range(g, 0, o0, s0, lo0, hi0);
        tap_range(g, 1, o1, s1, lo1, hi1);
        for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
          int64_t s2, lo2, hi2;
          tap_range(g, 2, o2, s2, lo2, hi2);
          float* acc = y + (r * g.out[2] + o2) * ch;
          float init = kind_ == PoolKind::kMax ? -std::numeric_limits<float>::infinity() : 0.f;
          for (int64_t c = 0; c < ch; ++c) acc[c] = init;
          for (int64_t t0 = lo0; t0 < hi0; ++t0)
            for (int64_t t1 = lo1; t1 < hi1; ++t1)
              for (int64_t t2 = lo2; t2 < hi2; ++t2) {
                int64_t i0 = s0 + t0 * g.d[0], i1 = s1 + t1 * g.d[1], i2 = s2 + t2 * g.d[2];
                const float* px = x + (((n * g.in[0] + i0) * g.in[1] + i1) * g.in[2] + i2) * ch;
                if (kind_ == PoolKind::kMax)
                  for (int64_t c = 0; c < ch; ++c) acc[c] = std::max(acc[c], px[c]);
                else if (kind_ == PoolKind::kAvg)
                  for (int64_t c = 0; c < ch; ++c) acc[c] += px[c];
                else
                  for (int64_t c = 0; c < ch; ++c) acc[c] += std::pow(std::fabs(px[c]), p_);
              }
          if (kind_ == PoolKind::kAvg) {
            int64_t cnt = include_pad_ ? padded_taps(g, 0, s0) * padded_taps(g, 1, s1) * padded_taps(g, 2, s2)
                                       : (hi0 - lo0) * (hi1 - lo1) * (hi2 - lo2);
            float inv = cnt > 0 ? 1.f / static_cast<float>(cnt) : 0.f;
            for (int64_t c = 0; c < ch; ++c) acc[c] *= inv;
          } else if (kind_ == PoolKind::kLp) {
            for (int64_t c = 0; c < ch; ++c) acc[c] = std::pow(acc[c], 1.f / p_);
          }
        }
      }
    });
  }

  PoolKind kind_;
  bool narrow_ = false;  // a MaxPool over int8/uint8/16-bit floats, computed on float32 copies
  bool cl_ = false;
  size_t n_ = 0;
  nnshape::Spatial sp_;
  bool include_pad_ = false;
  float p_ = 2.f;
  bool indices_ = false;       // MaxPool's Indices output is wanted
  bool column_major_ = false;  // storage_order = 1
};

// Channels-last global pool: reduce pixels per (batch, block of channels).
void global_pool_channels_last(PoolKind kind, float p, int64_t batch, int64_t ch, int64_t pixels, const float* x,
                               float* y) {
  constexpr int64_t kBlock = 256;
  int64_t blocks = (ch + kBlock - 1) / kBlock;
  parallel_for(batch * blocks, 1, [&](int64_t t0, int64_t t1) {
    double acc[kBlock];
    for (int64_t t = t0; t < t1; ++t) {
      int64_t n = t / blocks, c0 = t % blocks * kBlock, cn = std::min(kBlock, ch - c0);
      for (int64_t c = 0; c < cn; ++c) acc[c] = kind == PoolKind::kMax ? -std::numeric_limits<double>::infinity() : 0.0;
      for (int64_t s = 0; s < pixels; ++s) {
        const float* px = x + (n * pixels + s) * ch + c0;
        if (kind == PoolKind::kMax)
          for (int64_t c = 0; c < cn; ++c) acc[c] = std::max(acc[c], static_cast<double>(px[c]));
        else if (kind == PoolKind::kAvg)
          for (int64_t c = 0; c < cn; ++c) acc[c] += px[c];
        else
          for (int64_t c = 0; c < cn; ++c) acc[c] += std::pow(std::fabs(static_cast<double>(px[c])), p);
      }
      for (int64_t c = 0; c < cn; ++c) {
        double v = acc[c];
        if (kind == PoolKind::kAvg) v = pixels ? v / static_cast<double>(pixels) : 0.0;
        else if (kind == PoolKind::kLp) v = std::pow(v, 1.0 / p);
        y[n * ch + c0 + c] = static_cast<float>(v);
      }
    }
  });
}

std::unique_ptr<Kernel> make_global_pool(const KernelInit& init, PoolKind kind) {
  if (init.input_dtype(0) != DType::kFloat32) unsupported_dtype(init.op().c_str(), init.input_dtype(0));
  float p = lp_norm(init);
  bool cl = channels_last_input(init);
  // The (N, C, 1, ...) output has the same bytes in either layout.
  return make_kernel([kind, p, cl](KernelContext& c) {
    const TensorView& x = c.in(0);
    int64_t planes = x.dim(0) * x.dim(1);
    int64_t inner = planes ? x.numel() / planes : 0;
    const float* xs = x.as<const float>();
    float* ys = c.out(0).as<float>();
    if (cl) {
      global_pool_channels_last(kind, p, x.dim(0), x.dim(1), inner, xs, ys);
      return;
    }
    parallel_for(planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, inner)), [&](int64_t p0, int64_t p1) {
      for (int64_t pl = p0; pl < p1; ++pl) {
        const float* r = xs + pl * inner;
        float acc;
        if (kind == PoolKind::kMax) {
          acc = -std::numeric_limits<float>::infinity();
          for (int64_t i = 0; i < inner; ++i) acc = std::max(acc, r[i]);
        } else if (kind == PoolKind::kAvg) {
          double sum = 0;  // wide accumulator: planes can be large
          for (int64_t i = 0; i < inner; ++i) sum += r[i];
          acc = inner ? static_cast<float>(sum / static_cast<double>(inner)) : 0.f;
        } else {
          double sum = 0;
          for (int64_t i = 0; i < inner; ++i) sum += std::pow(std::fabs(static_cast<double>(r[i])), p);
          acc = static_cast<float>(std::pow(sum, 1.0 / p));
        }
        ys[pl] = acc;
      }
    });
  });
}

// y = x * a[c] + b[c], a = scale / sqrt(var + eps), b = bias - mean * a.
class BatchNormKernel : public Kernel {
 public:
  explicit BatchNormKernel(const KernelInit& init) : BatchNormKernel(init, BatchNormAttrs::parse(init)) {}
  BatchNormKernel(const KernelInit& init, const BatchNormAttrs& attrs)
      : eps_(attrs.epsilon), momentum_(attrs.momentum), training_(attrs.training_mode) {
    if (training_) return;
    const Tensor *s = init.constant_input(1), *b = init.constant_input(2), *m = init.constant_input(3),
                 *v = init.constant_input(4);
    if (s && b && m && v) {
      folded_ = true;
      fold(s->data_as<float>(), b->data_as<float>(), m->data_as<float>(), v->data_as<float>(), s->numel(), a_, b_);
    }
  }

  void run(KernelContext& c) const override {
    const TensorView &x = c.in(0), &y = c.out(0);
    int64_t ch = x.dim(1);
    std::vector<float> a, b;
    if (training_) {
      batch_stats(c, a, b);
    } else if (!folded_) {
      fold(c.in(1).as<const float>(), c.in(2).as<const float>(), c.in(3).as<const float>(),
           c.in(4).as<const float>(), ch, a, b);
    }
    const std::vector<float>& av = folded_ ? a_ : a;
    const std::vector<float>& bv = folded_ ? b_ : b;
    int64_t planes = x.dim(0) * ch;
    int64_t inner = planes ? x.numel() / planes : 0;
    const float* xs = x.as<const float>();
    float* ys = y.as<float>();
    parallel_for(planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, inner)), [&](int64_t p0, int64_t p1) {
      for (int64_t pl = p0; pl < p1; ++pl) {
        float sa = av[static_cast<size_t>(pl % ch)], sb = bv[static_cast<size_t>(pl % ch)];
        const float* r = xs + pl * inner;
        float* o = ys + pl * inner;
        for (int64_t i = 0; i < inner; ++i) o[i] = r[i] * sa + sb;
      }
    });
  }

 private:
  // Training mode: per-channel mean and (population) variance of this batch
  // normalize x; the running statistics blend in with `momentum`.
  void batch_stats(const KernelContext& c, std::vector<float>& a, std::vector<float>& b) const {
    const TensorView& x = c.in(0);
    int64_t n = x.dim(0), ch = x.dim(1), inner = (n * ch) != 0 ? x.numel() / (n * ch) : 0;
    std::vector<float> mean(static_cast<size_t>(ch)), var(static_cast<size_t>(ch));
    const float* xs = x.as<const float>();
    for (int64_t k = 0; k < ch; ++k) {
      double sum = 0, sq = 0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < inner; ++j) {
          double v = xs[(i * ch + k) * inner + j];
          sum += v;
          sq += v * v;
        }
      double cnt = static_cast<double>(std::max<int64_t>(1, n * inner)), m = sum / cnt;
      mean[static_cast<size_t>(k)] = static_cast<float>(m);
      var[static_cast<size_t>(k)] = static_cast<float>(std::max(0.0, sq / cnt - m * m));
    }
    fold(c.in(1).as<const float>(), c.in(2).as<const float>(), mean.data(), var.data(), ch, a, b);
    for (size_t o = 1; o <= 2 && o < c.outputs.size(); ++o) {
      if (c.out(o).dtype == DType::kUndefined) continue;
      const float* running = c.in(o + 2).as<const float>();
      const std::vector<float>& cur = o == 1 ? mean : var;
      float* dst = c.out(o).as<float>();
      for (int64_t k = 0; k < ch; ++k)
        dst[k] = running[k] * momentum_ + cur[static_cast<size_t>(k)] * (1 - momentum_);
    }
  }

  void fold(const float* s, const float* bias, const float* mean, const float* var, int64_t n, std::vector<float>& a,
            std::vector<float>& b) const {
    a.resize(static_cast<size_t>(n));
    b.resize(static_cast<size_t>(n));
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = s[i] / std::sqrt(var[i] + eps_);
      b[i] = bias[i] - mean[i] * a[i];
    }
  }

  float eps_, momentum_;
  bool training_;
  bool folded_ = false;
  std::vector<float> a_, b_;
};

}  // namespace

void register_pooling_kernels(KernelRegistry& r) {
  r.add_kernel("MaxPool", [](const KernelInit& init) -> std::unique_ptr<Kernel> {
    return std::make_unique<PoolKernel>(init, PoolKind::kMax);
  });
  r.add_kernel("AveragePool", [](const KernelInit& init) -> std::unique_ptr<Kernel> {
    return std::make_unique<PoolKernel>(init, PoolKind::kAvg);
  });
  r.add_kernel("LpPool", [](const KernelInit& init) -> std::unique_ptr<Kernel> {
    return std::make_unique<PoolKernel>(init, PoolKind::kLp);
  });
  r.add_kernel("GlobalAveragePool", [](const KernelInit& init) { return make_global_pool(init, PoolKind::kAvg); });
  r.add_kernel("GlobalMaxPool", [](const KernelInit& init) { return make_global_pool(init, PoolKind::kMax); });
  r.add_kernel("GlobalLpPool", [](const KernelInit& init) { return make_global_pool(init, PoolKind::kLp); });
  r.add_kernel("BatchNormalization", [](const KernelInit& init) -> std::unique_ptr<Kernel> {
    return std::make_unique<BatchNormKernel>(init);
  });
}

}  // namespace dynrt::cpu
