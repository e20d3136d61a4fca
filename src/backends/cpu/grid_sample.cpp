// CPU kernels for GridSample (opsets 16 and 20: nearest / linear / cubic,
// any spatial rank, zeros / border / reflection padding) and AffineGrid,
// following the ONNX reference implementation.
#include <cmath>
#include <vector>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"
#include "ops/runtime_shape.h"

namespace dynrt::cpu {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

enum class Pad { kZeros, kBorder, kReflection };

// Reflect x into [lo, hi] by folding at the borders.
double reflect(double x, double lo, double hi) {
  double rng = hi - lo;
  if (x < lo) {
    double dx = lo - x;
    auto n = static_cast<int64_t>(dx / rng);
    double r = dx - static_cast<double>(n) * rng;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    double dx = x - hi;
    auto n = static_cast<int64_t>(dx / rng);
    double r = dx - static_cast<double>(n) * rng;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

// Source index of integer position i along a dim of size d, -1 for "zero".
int64_t pixel(int64_t i, int64_t d, Pad pad, double lo, double hi) {
  if (pad == Pad::kZeros) return i >= 0 && i < d ? i : -1;
  if (pad == Pad::kBorder) return std::clamp<int64_t>(i, 0, d - 1);
  auto r = static_cast<int64_t>(reflect(static_cast<double>(i), lo, hi));
  return std::clamp<int64_t>(r, 0, d - 1);
}

void cubic_coeffs(double x, double* c) {
  const double a = -0.75;
  x = std::abs(x);
  c[0] = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a;
  c[1] = ((a + 2) * x - (a + 3)) * x * x + 1;
  c[2] = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1;
  c[3] = ((a * (2 - x) - 5 * a) * (2 - x) + 8 * a) * (2 - x) - 4 * a;
}

template <class T, class G>
void grid_sample(const TensorView& X, const TensorView& grid, const TensorView& Y, int mode, Pad pad, bool align) {
  int r = X.rank - 2;
  int64_t N = X.dim(0), C = X.dim(1), in_sp = prod(X.dims.data(), 2, X.rank), out_sp = prod(Y.dims.data(), 2, Y.rank);
  std::vector<int64_t> dims(X.dims.begin() + 2, X.dims.begin() + X.rank);
  std::vector<int64_t> xs(sz(r));
  int64_t s = 1;
  for (int i = r - 1; i >= 0; --i) {
    xs[sz(i)] = s;
    s *= dims[sz(i)];
  }
  const T* px = X.as<const T>();
  const G* pg = grid.as<const G>();
  T* py = Y.as<T>();
  int taps = mode == 0 ? 1 : mode == 1 ? 2 : 4;
  parallel_for(N * out_sp, 64, [&](int64_t b, int64_t e) {
    std::vector<int64_t> idx(sz(r * taps));
    std::vector<double> w(sz(r * taps));
    for (int64_t q = b; q < e; ++q) {
      int64_t n = q / out_sp;
      const G* gp = pg + q * r;
      for (int i = 0; i < r; ++i) {
        int64_t d = dims[sz(i)];
        double lo = align ? 0.0 : -0.5, hi = align ? static_cast<double>(d - 1) : static_cast<double>(d) - 0.5;
        double g = static_cast<double>(gp[r - 1 - i]);  // grid lists x (last dim) first
        double x = align ? (g + 1) / 2 * static_cast<double>(d - 1) : ((g + 1) * static_cast<double>(d) - 1) / 2;
        if (mode == 0) x = std::nearbyint(x);
        if (x < lo || x > hi) {
          if (pad == Pad::kBorder) x = std::clamp(x, 0.0, static_cast<double>(d - 1));
          else if (pad == Pad::kReflection) x = reflect(x, lo, hi);
        }
        int64_t* ti = &idx[sz(i * taps)];
        double* tw = &w[sz(i * taps)];
        if (mode == 0) {
          ti[0] = pixel(static_cast<int64_t>(x), d, pad, lo, hi);
          tw[0] = 1;
        } else {
          double f = std::floor(x);
          auto x0 = static_cast<int64_t>(f);
          if (mode == 1) {
            tw[0] = 1 - (x - f);
            tw[1] = x - f;
            for (int k = 0; k < 2; ++k) ti[k] = pixel(x0 + k, d, pad, lo, hi);
          } else {
            cubic_coeffs(x - f, tw);
            for (int k = 0; k < 4; ++k) ti[k] = pixel(x0 - 1 + k, d, pad, lo, hi);
          }
        }
      }
      // Sum over all tap combinations (taps^r terms).
      int64_t combos = 1;
      for (int i = 0; i < r; ++i) combos *= taps;
      for (int64_t ch = 0; ch < C; ++ch) {
        const T* src = px + (n * C + ch) * in_sp;
        double acc = 0;
        for (int64_t k = 0; k < combos; ++k) {
          int64_t rem = k, off = 0;
          double wt = 1;
          bool zero = false;
          for (int i = r - 1; i >= 0; --i) {
            int t = static_cast<int>(rem % taps);
            rem /= taps;
            int64_t j = idx[sz(i * taps + t)];
            if (j < 0) {
              zero = true;
              break;
            }
            off += j * xs[sz(i)];
            wt *= w[sz(i * taps + t)];
          }
          if (!zero) acc += wt * static_cast<double>(src[off]);
        }
        py[(n * C + ch) * out_sp + q % out_sp] = static_cast<T>(acc);
      }
    }
  });
}

std::unique_ptr<Kernel> make_grid_sample(const KernelInit& init) {
  GridSampleAttrs attrs = GridSampleAttrs::parse(init);
  const std::string& m = attrs.mode;
  int mode = m == "nearest" ? 0 : (m == "linear" || m == "bilinear") ? 1 : 2;
  const std::string& p = attrs.padding_mode;
  Pad pad = p == "border" ? Pad::kBorder : p == "reflection" ? Pad::kReflection : Pad::kZeros;
  bool align = attrs.align_corners;
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &g = c.in(1), &y = c.out(0);
    if (y.numel() == 0) return;
    DYNRT_DISPATCH_FLOAT(x.dtype, "GridSample", {
      if (g.dtype == DType::kFloat32) grid_sample<T, float>(x, g, y, mode, pad, align);
      else grid_sample<T, double>(x, g, y, mode, pad, align);
    });
  });
}

std::unique_ptr<Kernel> make_affine_grid(const KernelInit& init) {
  bool align = init.attr_int("align_corners", 0) != 0;
  return make_kernel([align](KernelContext& c) {
    // The output [N, spatial..., r] is shaped by the schema (from `size`).
    const TensorView &theta = c.in(0), &y = c.out(0);
    int r = y.rank - 2;
    int64_t N = theta.dim(0);
    std::vector<int64_t> size = {N, 0};
    for (int i = 0; i < r; ++i) size.push_back(y.dim(i + 1));
    int64_t points = prod(y.dims.data(), 1, r + 1);
    // Base coordinate of index i along a dim of size d, in [-1, 1].
    auto base = [align](int64_t i, int64_t d) {
      if (align) return d == 1 ? -1.0 : -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(d - 1);
      return -1.0 + (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(d);
    };
    DYNRT_DISPATCH_FLOAT(theta.dtype, "AffineGrid", {
      const T* th = theta.as<const T>();
      T* o = y.as<T>();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t p = 0; p < points; ++p) {
          // Homogeneous point (x, y[, z], 1): x runs along the last spatial dim.
          double v[4];
          int64_t rem = p;
          for (int i = r - 1; i >= 0; --i) {
            int64_t d = size[sz(i + 2)];
            v[r - 1 - i] = base(rem % d, d);
            rem /= d;
          }
          v[r] = 1;
          for (int k = 0; k < r; ++k) {
            double acc = 0;
            for (int j = 0; j <= r; ++j) acc += static_cast<double>(th[(n * r + k) * (r + 1) + j]) * v[j];
            o[(n * points + p) * r + k] = static_cast<T>(acc);
          }
        }
    });
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_grid_kernels(KernelRegistry& r) {
  r.add_kernel("GridSample", cpu::make_grid_sample);
  r.add_kernel("AffineGrid", cpu::make_affine_grid);
}

}  // namespace dynrt
