// CPU kernels for DFT, STFT, the window functions and MelWeightMatrix.
// Transforms are direct DFTs in double with a per-length twiddle table
// (O(n^2) per line), matching numpy.fft as the ONNX reference uses it.
#include <cmath>
#include <complex>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"
#include "ops/runtime_shape.h"

namespace dynrt::cpu {
namespace {

using cd = std::complex<double>;

size_t sz(int64_t v) { return static_cast<size_t>(v); }

[[noreturn]] void bad(const std::string& op, const std::string& msg) {
  throw Error(ErrorCode::kInvalidInput, op + ": " + msg);
}

int64_t scalar_int(const TensorView& v, const char* what) {
  if (v.numel() != 1) bad(what, "expected a scalar");
  return index_at(v, 0);
}

// tw[k] = exp(sign * 2 pi i k / n).
std::vector<cd> twiddles(int64_t n, double sign) {
  std::vector<cd> tw(sz(n));
  for (int64_t k = 0; k < n; ++k) tw[sz(k)] = std::polar(1.0, sign * 2 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n));
  return tw;
}


template <class T>
void dft(const DftAttrs& a, KernelContext& c) {
  const TensorView& x = c.in(0);
  int r = x.rank;
  int64_t comp = x.dim(r - 1);
  if (comp != 1 && comp != 2) bad("DFT", "last dim must be 1 or 2");
  int64_t axis = a.axis_from_input ? (c.has_in(2) ? scalar_int(c.in(2), "DFT axis") : -2) : a.axis_attr;
  if (axis < -r || axis >= r) bad("DFT", "axis out of range");
  if (axis < 0) axis += r;
  if (axis == r - 1) bad("DFT", "axis cannot be the last dim");
  int64_t m = x.dim(static_cast<int>(axis));
  int64_t n = c.has_in(1) ? scalar_int(c.in(1), "DFT dft_length") : (a.inverse && a.onesided ? 2 * (m - 1) : m);
  if (n < 1) bad("DFT", "dft_length must be positive");
  bool irfft = a.inverse && a.onesided;
  int64_t out_len = !a.inverse && a.onesided ? n / 2 + 1 : n, out_comp = irfft ? 1 : 2;
  const TensorView& y = c.out(0);  // shaped by the schema (run_shape_dft while running)
  if (y.dim(static_cast<int>(axis)) != out_len || y.dim(r - 1) != out_comp) bad("DFT", "output shape differs");
  int64_t outer = prod(x.dims.data(), 0, static_cast<int>(axis)), inner = prod(x.dims.data(), static_cast<int>(axis) + 1, r - 1);
  std::vector<cd> tw = twiddles(n, a.inverse ? 1.0 : -1.0);
  const T* px = x.as<const T>();
  T* py = y.as<T>();
  double scale = a.inverse ? 1.0 / static_cast<double>(n) : 1.0;
  parallel_for(outer * inner, 1, [&](int64_t l0, int64_t l1) {
    std::vector<cd> in(sz(n));
    for (int64_t l = l0; l < l1; ++l) {
      int64_t o = l / inner, i = l % inner;
      std::fill(in.begin(), in.end(), cd(0));
      auto at = [&](int64_t t) { return ((o * m + t) * inner + i) * comp; };
      if (irfft) {
        // Hermitian extension of bins 0..n/2 (the rest zero when missing).
        for (int64_t k = 0; k <= n / 2 && k < m; ++k) {
          cd v(px[at(k)], comp == 2 ? px[at(k) + 1] : T(0));
          in[sz(k)] = v;
          if (k > 0 && n - k != k) in[sz(n - k)] = std::conj(v);
        }
      } else {
        for (int64_t t = 0; t < std::min(n, m); ++t) in[sz(t)] = cd(px[at(t)], comp == 2 ? px[at(t) + 1] : T(0));
      }
      for (int64_t k = 0; k < out_len; ++k) {
        cd s = 0;
        for (int64_t t = 0; t < n; ++t)
          if (in[sz(t)] != cd(0)) s += in[sz(t)] * tw[sz((k * t) % n)];
        s *= scale;
        T* q = py + ((o * out_len + k) * inner + i) * out_comp;
        q[0] = static_cast<T>(s.real());
        if (out_comp == 2) q[1] = static_cast<T>(s.imag());
      }
    }
  });
}

std::unique_ptr<Kernel> make_dft(const KernelInit& init) {
  DftAttrs a = DftAttrs::parse(init);
  return make_kernel([a](KernelContext& c) { DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "DFT", dft<T>(a, c)); });
}

template <class T>
void stft(bool onesided, KernelContext& c) {
  const TensorView& x = c.in(0);
  int64_t batch = x.dim(0), len = x.dim(1), comp = x.dim(2);
  if (comp != 1 && comp != 2) bad("STFT", "last dim must be 1 or 2");
  int64_t step = scalar_int(c.in(1), "STFT frame_step");
  bool has_win = c.has_in(2);
  int64_t fl = c.has_in(3) ? scalar_int(c.in(3), "STFT frame_length") : has_win ? c.in(2).dim(0) : len;
  if (has_win && c.in(2).dim(0) != fl) bad("STFT", "window length differs from frame_length");
  if (step < 1 || fl < 1 || fl > len) bad("STFT", "invalid frame_step or frame_length");
  int64_t frames = c.out(0).dim(1), bins = c.out(0).dim(2);  // shaped by the schema
  const T* px = x.as<const T>();
  const T* win = has_win ? c.in(2).as<const T>() : nullptr;
  T* py = c.out(0).as<T>();
  std::vector<cd> tw = twiddles(fl, -1.0);
  parallel_for(batch * frames, 1, [&](int64_t f0, int64_t f1) {
    std::vector<cd> in(sz(fl));
    for (int64_t bf = f0; bf < f1; ++bf) {
      int64_t b = bf / frames, f = bf % frames;
      for (int64_t t = 0; t < fl; ++t) {
        const T* p = px + (b * len + f * step + t) * comp;
        // The reference weights in the input type, then transforms.
        T w = win ? win[t] : T(1);
        in[sz(t)] = cd(static_cast<T>(p[0] * w), comp == 2 ? static_cast<T>(p[1] * w) : T(0));
      }
      for (int64_t k = 0; k < bins; ++k) {
        cd s = 0;
        for (int64_t t = 0; t < fl; ++t) s += in[sz(t)] * tw[sz((k * t) % fl)];
        T* q = py + (bf * bins + k) * 2;
        q[0] = static_cast<T>(s.real());
        q[1] = static_cast<T>(s.imag());
      }
    }
  });
}

std::unique_ptr<Kernel> make_stft(const KernelInit& init) {
  bool onesided = StftAttrs::parse(init).onesided;
  return make_kernel([onesided](KernelContext& c) { DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "STFT", stft<T>(onesided, c)); });
}

enum class Window { kHann, kHamming, kBlackman };

template <Window W>
std::unique_ptr<Kernel> make_window(const KernelInit& init) {
  bool periodic = init.attr_int("periodic", 1) != 0;
  return make_kernel([periodic](KernelContext& c) {
    int64_t n = c.out(0).dim(0);  // the size, shaped by the schema
    auto denom = static_cast<double>(periodic ? n : n - 1);
    constexpr double pi = std::numbers::pi;
    DYNRT_DISPATCH_FLOAT(c.out(0).dtype, "window", {
      T* y = c.out(0).as<T>();
      for (int64_t i = 0; i < n; ++i) {
        auto k = static_cast<double>(i);
        double v;
        if constexpr (W == Window::kHann) {
          double s = std::sin(k * pi / denom);
          v = s * s;
        } else if constexpr (W == Window::kHamming) {
          double alpha = 25.0 / 46.0;
          v = alpha - std::cos(k * pi * 2 / denom) * (1 - alpha);
        } else {
          v = 0.42 - 0.5 * std::cos(k * pi * 2 / denom) + 0.08 * std::cos(k * pi * 4 / denom);
        }
        y[i] = static_cast<T>(v);
      }
    });
  });
}

double scalar_float(const TensorView& v) {
  if (v.numel() != 1) bad("MelWeightMatrix", "expected a scalar");
  if (v.dtype == DType::kFloat32) return v.as<const float>()[0];
  if (v.dtype == DType::kFloat64) return v.as<const double>()[0];
  return static_cast<double>(index_at(v, 0));
}

std::unique_ptr<Kernel> make_mel(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    int64_t mel = scalar_int(c.in(0), "num_mel_bins"), n = scalar_int(c.in(1), "dft_length");
    int64_t rate = scalar_int(c.in(2), "sample_rate");
    if (mel < 1 || n < 1 || rate < 1) bad("MelWeightMatrix", "sizes must be positive");
    bool f32 = c.in(3).dtype == DType::kFloat32;
    // Mel of an edge frequency, rounded like the reference (float32 edges stay float32).
    auto to_mel = [f32](double hz) {
      if (f32) return static_cast<double>(2595.f * std::log1p(static_cast<float>(hz) / 700.f)) / std::log(10.0);
      return 2595 * std::log1p(hz / 700) / std::log(10.0);
    };
    double lo = to_mel(scalar_float(c.in(3))), hi = to_mel(scalar_float(c.in(4)));
    int64_t rows = c.out(0).dim(0);  // n / 2 + 1, shaped by the schema
    double step = (hi - lo) / static_cast<double>(mel + 2);
    std::vector<int64_t> fb(sz(mel + 2));
    for (int64_t i = 0; i < mel + 2; ++i) {
      double f = 700 * std::expm1((static_cast<double>(i) * step + lo) / 2595 * std::log(10.0));
      fb[sz(i)] = static_cast<int64_t>(std::floor(static_cast<double>(n + 1) * f / static_cast<double>(rate)));
    }
    std::vector<double> out(sz(rows * mel), 0.0);
    auto set = [&](int64_t j, int64_t i, double v) {
      if (j < 0 || j >= rows) bad("MelWeightMatrix", "frequency bin out of range");
      out[sz(j * mel + i)] = v;
    };
    for (int64_t i = 0; i < mel; ++i) {
      int64_t l = fb[sz(i)], ctr = fb[sz(i + 1)], h = fb[sz(i + 2)];
      if (ctr == l) set(ctr, i, 1);
      else
        for (int64_t j = l; j <= ctr; ++j) set(j, i, static_cast<double>(j - l) / static_cast<double>(ctr - l));
      if (h > ctr)
        for (int64_t j = ctr; j < h; ++j) set(j, i, static_cast<double>(h - j) / static_cast<double>(h - ctr));
    }
    DYNRT_DISPATCH_FLOAT(c.out(0).dtype, "MelWeightMatrix", {
      T* y = c.out(0).as<T>();
      for (size_t i = 0; i < out.size(); ++i) y[i] = static_cast<T>(out[i]);
    });
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_signal_kernels(KernelRegistry& r) {
  using namespace cpu;
  r.add_kernel("DFT", make_dft);
  r.add_kernel("STFT", make_stft);
  r.add_kernel("HannWindow", make_window<Window::kHann>);
  r.add_kernel("HammingWindow", make_window<Window::kHamming>);
  r.add_kernel("BlackmanWindow", make_window<Window::kBlackman>);
  r.add_kernel("MelWeightMatrix", make_mel);
}

}  // namespace dynrt
