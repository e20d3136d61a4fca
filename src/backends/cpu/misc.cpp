// CPU kernels for CumProd, EyeLike, Det,
// ReverseSequence, TensorScatter and SwiGLU.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/half.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"

namespace dynrt::cpu {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

int64_t norm_axis(int64_t a, int rank, const char* op) {
  if (a < -rank || a >= rank)
    throw Error(ErrorCode::kInvalidInput, std::string(op) + ": axis " + std::to_string(a) + " out of range");
  return a < 0 ? a + rank : a;
}

std::unique_ptr<Kernel> make_cumprod(const KernelInit& init) {
  bool exclusive = init.attr_int("exclusive", 0) != 0, reverse = init.attr_int("reverse", 0) != 0;
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    int axis = x.rank == 0 ? 0 : static_cast<int>(norm_axis(index_at(c.in(1), 0), x.rank, "CumProd"));
    int64_t outer = x.rank ? prod(x.dims.data(), 0, axis) : 1, d = x.rank ? x.dims[sz(axis)] : 1;
    int64_t inner = x.rank ? prod(x.dims.data(), axis + 1, x.rank) : 1;
    DYNRT_DISPATCH_NUMERIC(x.dtype, "CumProd", {
      const T* src = x.as<const T>();
      T* dst = y.as<T>();
      parallel_for(outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(d * inner, 1)), [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) {
          const T* p = src + o * d * inner;
          T* q = dst + o * d * inner;
          for (int64_t step = 0; step < d; ++step) {
            int64_t k = reverse ? d - 1 - step : step, prev = reverse ? k + 1 : k - 1;
            T* row = q + k * inner;
            if (step == 0) {
              for (int64_t i = 0; i < inner; ++i) row[i] = exclusive ? T(1) : p[k * inner + i];
            } else {
              const T* pr = q + prev * inner;
              const T* in = p + (exclusive ? prev : k) * inner;
              for (int64_t i = 0; i < inner; ++i) row[i] = static_cast<T>(pr[i] * in[i]);
            }
          }
        }
      });
    });
  });
}

std::unique_ptr<Kernel> make_eyelike(const KernelInit& init) {
  int64_t k = init.attr_int("k", 0);
  return make_kernel([k](KernelContext& c) {
    const TensorView& y = c.out(0);
    std::memset(y.data, 0, y.nbytes());
    int64_t rows = y.dim(0), cols = y.dim(1);
    for (int64_t i = 0; i < rows; ++i) {
      int64_t j = i + k;
      if (j < 0 || j >= cols) continue;
      int64_t at = i * cols + j;
      switch (y.dtype) {
        case DType::kBool: y.as<uint8_t>()[at] = 1; break;
        case DType::kFloat16: y.as<uint16_t>()[at] = 0x3C00; break;
        case DType::kBFloat16: y.as<uint16_t>()[at] = 0x3F80; break;
        default: DYNRT_DISPATCH_NUMERIC(y.dtype, "EyeLike", y.as<T>()[at] = T(1));
      }
    }
  });
}

// Determinant by LU decomposition with partial pivoting, in double.
template <class T>
void det(const TensorView& x, const TensorView& y) {
  int64_t n = x.dim(x.rank - 1), batch = y.numel();
  parallel_for(batch, 1, [&](int64_t b0, int64_t b1) {
    std::vector<double> a(sz(n * n));
    for (int64_t b = b0; b < b1; ++b) {
      const T* p = x.as<const T>() + b * n * n;
      for (int64_t i = 0; i < n * n; ++i) a[sz(i)] = static_cast<double>(p[i]);
      double d = 1;
      for (int64_t col = 0; col < n && d != 0; ++col) {
        int64_t piv = col;
        for (int64_t r = col + 1; r < n; ++r)
          if (std::abs(a[sz(r * n + col)]) > std::abs(a[sz(piv * n + col)])) piv = r;
        if (a[sz(piv * n + col)] == 0) {
          d = 0;
          break;
        }
        if (piv != col) {
          for (int64_t j = 0; j < n; ++j) std::swap(a[sz(piv * n + j)], a[sz(col * n + j)]);
          d = -d;
        }
        double pv = a[sz(col * n + col)];
        d *= pv;
        for (int64_t r = col + 1; r < n; ++r) {
          double f = a[sz(r * n + col)] / pv;
          if (f == 0) continue;
          for (int64_t j = col; j < n; ++j) a[sz(r * n + j)] -= f * a[sz(col * n + j)];
        }
      }
      y.as<T>()[b] = static_cast<T>(d);
    }
  });
}

std::unique_ptr<Kernel> make_det(const KernelInit&) {
  return make_kernel([](KernelContext& c) { DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "Det", det<T>(c.in(0), c.out(0))); });
}

std::unique_ptr<Kernel> make_reverse_sequence(const KernelInit& init) {
  int64_t batch_axis = ReverseSequenceAttrs::parse(init).batch_axis;
  return make_kernel([batch_axis](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    int64_t d0 = x.dim(0), d1 = x.dim(1), inner = prod(x.dims.data(), 2, x.rank);
    int64_t nb = batch_axis == 0 ? d0 : d1, nt = batch_axis == 0 ? d1 : d0;
    std::vector<int64_t> lens = read_ints(c.in(1));
    for (int64_t& l : lens)
      if (l < 0 || l > nt)
        throw Error(ErrorCode::kInvalidInput, "ReverseSequence: sequence length " + std::to_string(l) +
                                                  " is out of range for a time dimension of " + std::to_string(nt));
    size_t es = dtype_size(x.dtype);
    const auto* src = static_cast<const std::byte*>(x.data);
    auto* dst = static_cast<std::byte*>(y.data);
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t t = 0; t < nt; ++t) {
        int64_t l = lens[sz(b)], from = t < l ? l - 1 - t : t;
        int64_t o = batch_axis == 0 ? b * nt + t : t * nb + b;
        int64_t i = batch_axis == 0 ? b * nt + from : from * nb + b;
        std::memcpy(dst + sz(o * inner) * es, src + sz(i * inner) * es, sz(inner) * es);
      }
  });
}

std::unique_ptr<Kernel> make_tensor_scatter(const KernelInit& init) {
  TensorScatterAttrs attrs = TensorScatterAttrs::parse(init);
  int64_t axis_attr = attrs.axis;
  bool circular = attrs.mode == "circular";
  return make_kernel([=](KernelContext& c) {
    const TensorView &cache = c.in(0), &upd = c.in(1), &y = c.out(0);
    std::memcpy(y.data, cache.data, cache.nbytes());
    int axis = static_cast<int>(norm_axis(axis_attr, cache.rank, "TensorScatter"));
    int64_t batch = cache.dim(0), prefix = prod(cache.dims.data(), 1, axis);
    int64_t max_len = cache.dim(axis), len = upd.dim(axis), inner = prod(cache.dims.data(), axis + 1, cache.rank);
    if (len > max_len) throw Error(ErrorCode::kInvalidInput, "TensorScatter: update is longer than the cache");
    std::vector<int64_t> idx = c.has_in(2) ? read_ints(c.in(2)) : std::vector<int64_t>(sz(batch), 0);
    size_t es = dtype_size(cache.dtype);
    const auto* src = static_cast<const std::byte*>(upd.data);
    auto* dst = static_cast<std::byte*>(y.data);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t p = 0; p < prefix; ++p)
        for (int64_t s = 0; s < len; ++s) {
          int64_t t = idx[sz(b)] + s;
          if (circular) t = ((t % max_len) + max_len) % max_len;
          if (t < 0 || t >= max_len)
            throw Error(ErrorCode::kInvalidInput, "TensorScatter: write index " + std::to_string(t) +
                                                      " is out of range for a cache of " + std::to_string(max_len));
          int64_t row = b * prefix + p;
          std::memcpy(dst + sz((row * max_len + t) * inner) * es, src + sz((row * len + s) * inner) * es,
                      sz(inner) * es);
        }
  });
}

std::unique_ptr<Kernel> make_swiglu(const KernelInit& init) {
  float alpha = init.attr_float("alpha", 1.f);
  return make_kernel([alpha](KernelContext& c) {
    DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "SwiGLU", {
      const T *a = c.in(0).as<const T>(), *b = c.in(1).as<const T>();
      T* y = c.out(0).as<T>();
      parallel_for(c.out(0).numel(), 16384, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          T s = T(1) / (T(1) + std::exp(-static_cast<T>(alpha) * a[i]));
          y[i] = a[i] * s * b[i];
        }
      });
    });
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_misc_kernels(KernelRegistry& r) {
  using namespace cpu;
  r.add_kernel("CumProd", make_cumprod);
  r.add_kernel("EyeLike", make_eyelike);
  r.add_kernel("Det", widen_half(make_det));
  r.add_kernel("ReverseSequence", make_reverse_sequence);
  r.add_kernel("TensorScatter", make_tensor_scatter);
  r.add_kernel("SwiGLU", widen_half(make_swiglu));
}

}  // namespace dynrt
