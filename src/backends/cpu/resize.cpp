// CPU kernels for Resize and Upsample.
//
// Resize is separable: each resized axis maps every output index to a few
// source taps (index, weight) computed once per run from the coordinate
// transformation and the interpolation mode (the ONNX reference's rules,
// including antialias, exclude_outside and tf_crop_and_resize extrapolation).
// Nearest without extrapolation is a pure gather (any dtype, bytes moved);
// linear and cubic apply one axis at a time in double, then round/saturate
// integer outputs.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/half.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "ops/resize_shape.h"
#include "ops/runtime_shape.h"

namespace dynrt::cpu {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }


// Taps of one axis: out index j reads in[idx[j*n + k]] * w[j*n + k].
struct Taps {
  int64_t n = 0;
  std::vector<int64_t> idx;
  std::vector<double> w;
  std::vector<bool> extrapolated;
};

std::vector<double> coeffs(const ResizeAttrs& a, double ratio, double scale) {
  if (a.kind == 0) {
    if (ratio == 1.0) return {0, 1};  // an integer coordinate: that index
    bool ceil_it = a.nearest == "round_prefer_floor" ? ratio > 0.5
                   : a.nearest == "round_prefer_ceil" ? ratio >= 0.5
                   : a.nearest == "ceil";
    return {ceil_it ? 0.0 : 1.0, ceil_it ? 1.0 : 0.0};
  }
  double A = a.cubic_a;
  if (a.kind == 1 && !a.antialias) return {1 - ratio, ratio};
  if (a.kind == 2 && !a.antialias) {
    double r = ratio, s = 1 - ratio;
    return {((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A, ((A + 2) * r - (A + 3)) * r * r + 1,
            ((A + 2) * s - (A + 3)) * s * s + 1, ((A * (s + 1) - 5 * A) * (s + 1) + 8 * A) * (s + 1) - 4 * A};
  }
  // Antialias: the filter stretched by 1/scale when downsampling.
  scale = std::min(scale, 1.0);
  std::vector<double> c;
  double sum = 0;
  if (a.kind == 1) {
    auto start = static_cast<int64_t>(std::floor(-1 / scale) + 1);
    int64_t n = 2 - 2 * start;
    for (int64_t i = start; i < start + n; ++i) c.push_back(std::clamp(1 - std::abs((static_cast<double>(i) - ratio) * scale), 0.0, 1.0));
  } else {
    auto start = static_cast<int64_t>(std::floor(-2 / scale) + 1);
    for (int64_t i = start; i < 2 - start; ++i) {
      double x = std::abs(scale * (static_cast<double>(i) - ratio)), x2 = x * x, x3 = x2 * x;
      c.push_back(x <= 1 ? (A + 2) * x3 - (A + 3) * x2 + 1 : x < 2 ? A * x3 - 5 * A * x2 + 8 * A * x - 4 * A : 0.0);
    }
  }
  for (double v : c) sum += v;
  for (double& v : c) v /= sum;
  return c;
}

Taps make_taps(const ResizeAttrs& a, int64_t in, int64_t out, double scale, double roi_lo, double roi_hi) {
  Taps t;
  double out_w = scale * static_cast<double>(in);
  t.extrapolated.assign(sz(out), false);
  for (int64_t j = 0; j < out; ++j) {
    auto y = static_cast<double>(j);
    double x;
    const std::string& ct = a.ct;
    if (ct == "align_corners") x = out_w == 1 ? 0.0 : y * static_cast<double>(in - 1) / (out_w - 1);
    else if (ct == "asymmetric") x = y / scale;
    else if (ct == "tf_half_pixel_for_nn") x = (y + 0.5) / scale;
    else if (ct == "tf_crop_and_resize") {
      x = out_w == 1 ? (roi_hi - roi_lo) * static_cast<double>(in - 1) / 2
                     : y * (roi_hi - roi_lo) * static_cast<double>(in - 1) / (out_w - 1);
      x += roi_lo * static_cast<double>(in - 1);
      t.extrapolated[sz(j)] = x < 0 || x > static_cast<double>(in - 1);
    } else if (ct == "pytorch_half_pixel") x = out_w == 1 ? -0.5 : (y + 0.5) / scale - 0.5;
    else if (ct == "half_pixel_symmetric") {
      double adj = static_cast<double>(out) / out_w, center = static_cast<double>(in) / 2;
      x = center * (1 - adj) + (y + 0.5) / scale - 0.5;
    } else x = (y + 0.5) / scale - 0.5;  // half_pixel
    double fl = std::floor(x), frac = x - fl;
    std::vector<double> c = coeffs(a, frac == 0 ? 1.0 : frac, scale);
    auto n = static_cast<int64_t>(c.size());
    if (t.n == 0) t.n = n;
    if (n != t.n) throw Error(ErrorCode::kInternal, "Resize: tap count varies");
    auto f = static_cast<int64_t>(fl);
    int64_t first = n % 2 == 0 ? (frac == 0 ? f - n / 2 : f - n / 2 + 1) : f - (n - 1) / 2 + (frac <= 0.5 ? 0 : 1);
    if (a.exclude_outside) {
      double s = 0;
      for (int64_t k = 0; k < n; ++k) {
        int64_t i = first + k;
        if (i < 0 || i >= in) c[sz(k)] = 0;
        s += c[sz(k)];
      }
      if (s != 0)
        for (double& v : c) v /= s;
    }
    for (int64_t k = 0; k < n; ++k) {
      t.idx.push_back(std::clamp<int64_t>(first + k, 0, in - 1));
      t.w.push_back(c[sz(k)]);
    }
  }
  return t;
}

// Nearest without extrapolation: out[j...] = in[map_0[j0], map_1[j1], ...].
void gather_nearest(const TensorView& x, const TensorView& y, const std::vector<std::vector<int64_t>>& map) {
  int r = x.rank;
  size_t es = dtype_size(x.dtype);
  int64_t xs[kMaxRank];
  contiguous_strides(x, xs);
  int64_t inner = y.dim(r - 1), rows = y.numel() / std::max<int64_t>(inner, 1);
  const std::vector<int64_t>& last = map[sz(r - 1)];
  DYNRT_DISPATCH_BYTES(es, "Resize", {
    const E* src = x.as<const E>();
    E* dst = y.as<E>();
    parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
      for (int64_t row = b; row < e; ++row) {
        int64_t rem = row, off = 0;
        for (int k = r - 2; k >= 0; --k) {
          off += map[sz(k)][sz(rem % y.dim(k))] * xs[k];
          rem /= y.dim(k);
        }
        E* o = dst + row * inner;
        const E* p = src + off;
        for (int64_t j = 0; j < inner; ++j) o[j] = p[last[sz(j)]];
      }
    });
  });
}

// One separable pass along `axis` of a double tensor with dims `d`.
std::vector<double> pass(const std::vector<double>& in, std::vector<int64_t>& d, int axis, const Taps& t,
                         int64_t out_len, double extrapolation) {
  int64_t outer = prod(d.data(), 0, axis), inner = prod(d.data(), axis + 1, static_cast<int>(d.size()));
  int64_t in_len = d[sz(axis)];
  std::vector<double> out(sz(outer * out_len * inner));
  parallel_for(outer * out_len, std::max<int64_t>(1, 4096 / std::max<int64_t>(inner * t.n, 1)), [&](int64_t b, int64_t e) {
    for (int64_t q = b; q < e; ++q) {
      int64_t o = q / out_len, j = q % out_len;
      double* po = out.data() + q * inner;
      if (t.extrapolated[sz(j)]) {
        std::fill(po, po + inner, extrapolation);
        continue;
      }
      std::fill(po, po + inner, 0.0);
      for (int64_t k = 0; k < t.n; ++k) {
        double w = t.w[sz(j * t.n + k)];
        if (w == 0) continue;
        const double* pi = in.data() + (o * in_len + t.idx[sz(j * t.n + k)]) * inner;
        for (int64_t i = 0; i < inner; ++i) po[i] += w * pi[i];
      }
    }
  });
  d[sz(axis)] = out_len;
  return out;
}

std::vector<double> read_doubles(const TensorView& v) {
  std::vector<double> out(sz(v.numel()));
  if (v.dtype == DType::kFloat16 || v.dtype == DType::kBFloat16) {
    std::vector<float> f(out.size());
    to_float(v, f.data());
    for (size_t i = 0; i < out.size(); ++i) out[i] = f[i];
    return out;
  }
  DYNRT_DISPATCH_NUMERIC(v.dtype, "Resize", {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(v.as<const T>()[i]);
  });
  return out;
}

void resize(const ResizeAttrs& a, KernelContext& c) {
  const TensorView& x = c.in(0);
  int r = x.rank;
  std::vector<int64_t> axes = a.axes;
  if (axes.empty())
    for (int i = 0; i < r; ++i) axes.push_back(i);
  for (int64_t& ax : axes) ax = ax < 0 ? ax + r : ax;
  // Output dims come from the schema (run_shape_resize while running); the
  // same sizing function gives the kernel its scales.
  size_t scales_at = (a.upsample || a.opset < 11) ? 1 : 2;
  auto present = [&](size_t i) { return c.has_in(i) && c.in(i).numel() > 0; };
  bool has_sizes = !a.upsample && a.opset >= 11 && present(3);
  bool attr_scales = a.upsample && a.opset < 9;
  std::vector<double> scale =
      resize_sizing(x.shape(), a.axes, a.upsample, a.opset, a.attr_scales, a.policy,
                    has_sizes || attr_scales ? std::vector<double>{} : read_doubles(c.in(scales_at)),
                    has_sizes ? read_ints(c.in(3)) : std::vector<int64_t>{}, has_sizes)
          .scale;
  const TensorView& y = c.out(0);
  std::vector<int64_t> out(y.dims.begin(), y.dims.begin() + r);
  if (y.numel() == 0) return;
  // roi: [starts..., ends...] over the resized axes (tf_crop_and_resize only).
  std::vector<double> roi_lo(sz(r), 0.0), roi_hi(sz(r), 1.0);
  if (a.ct == "tf_crop_and_resize" && !a.upsample && a.opset >= 11 && present(1)) {
    std::vector<double> roi = read_doubles(c.in(1));
    if (roi.size() != 2 * axes.size()) throw Error(ErrorCode::kInvalidInput, "Resize: roi must have 2 values per axis");
    for (size_t i = 0; i < axes.size(); ++i) {
      roi_lo[sz(axes[i])] = roi[i];
      roi_hi[sz(axes[i])] = roi[i + axes.size()];
    }
  }
  // Axes to resize, in the order the reference applies them.
  std::vector<int64_t> order;
  for (int64_t ax : axes) {
    auto u = sz(ax);
    bool identity = std::abs(scale[u] - 1.0) < 1e-9 && out[u] == x.dim(static_cast<int>(ax)) &&
                    (a.ct != "tf_crop_and_resize" || (roi_lo[u] == 0.0 && roi_hi[u] == 1.0));
    if (!identity) order.push_back(ax);
  }
  std::vector<Taps> taps(sz(r));
  bool gather = a.kind == 0;
  for (int64_t ax : order) {
    taps[sz(ax)] = make_taps(a, x.dim(static_cast<int>(ax)), out[sz(ax)], scale[sz(ax)], roi_lo[sz(ax)], roi_hi[sz(ax)]);
    for (bool e : taps[sz(ax)].extrapolated) gather = gather && !e;
  }
  if (gather && r > 0) {
    std::vector<std::vector<int64_t>> map(sz(r));
    for (int k = 0; k < r; ++k) {
      map[sz(k)].resize(sz(out[sz(k)]));
      const Taps& t = taps[sz(k)];
      for (int64_t j = 0; j < out[sz(k)]; ++j)
        map[sz(k)][sz(j)] = t.n == 0 ? j : (t.w[sz(j * 2)] != 0 ? t.idx[sz(j * 2)] : t.idx[sz(j * 2 + 1)]);
    }
    gather_nearest(x, y, map);
    return;
  }
  std::vector<double> cur = read_doubles(x);
  std::vector<int64_t> d(x.dims.begin(), x.dims.begin() + r);
  for (int64_t ax : order) cur = pass(cur, d, static_cast<int>(ax), taps[sz(ax)], out[sz(ax)], a.extrapolation);
  int64_t n = y.numel();
  if (y.dtype == DType::kFloat16 || y.dtype == DType::kBFloat16) {
    std::vector<float> f(cur.begin(), cur.end());
    from_float(f.data(), y);
    return;
  }
  DYNRT_DISPATCH_NUMERIC(y.dtype, "Resize", {
    T* o = y.as<T>();
    for (int64_t i = 0; i < n; ++i) {
      double v = cur[sz(i)];
      if constexpr (std::is_integral_v<T>) {
        v = std::nearbyint(v);  // round half to even, then saturate
        v = std::clamp(v, static_cast<double>(std::numeric_limits<T>::lowest()), static_cast<double>(std::numeric_limits<T>::max()));
      }
      o[i] = static_cast<T>(v);
    }
  });
}

std::unique_ptr<Kernel> make_resize(const KernelInit& init) {
  ResizeAttrs a = ResizeAttrs::parse(init, init.op() == "Upsample");
  return make_kernel([a](KernelContext& c) { resize(a, c); });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_grid_kernels(KernelRegistry& r);  // grid_sample.cpp

void register_cpu_resize_kernels(KernelRegistry& r) {
  register_cpu_grid_kernels(r);
  r.add_kernel("Resize", cpu::make_resize);
  r.add_kernel("Upsample", cpu::make_resize);
}

}  // namespace dynrt
