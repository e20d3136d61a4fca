// CPU kernels for the gather/scatter family and CumSum, NonZero, Compress.
// Gathers move elements by size (any dtype); scatters with a reduction and
// CumSum are typed. Out-of-range indices raise kInvalidInput, as in ONNX Runtime.
#include <algorithm>
#include <cstring>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"

namespace dynrt::cpu {
namespace {

int64_t norm_axis(int64_t a, int rank, const char* op) {
  if (a < -rank || a >= rank) throw Error(ErrorCode::kInvalidInput, std::string(op) + ": axis out of range");
  return a < 0 ? a + rank : a;
}

size_t sz(int64_t v) { return static_cast<size_t>(v); }

std::unique_ptr<Kernel> make_gather(const KernelInit& init) {
  int64_t axis_attr = AxisAttrs::parse(init).axis;
  return make_kernel([axis_attr](KernelContext& c) {
    const TensorView &x = c.in(0), &ind = c.in(1), &y = c.out(0);
    auto axis = static_cast<int>(norm_axis(axis_attr, x.rank, "Gather"));
    int64_t outer = prod(x.dims.data(), 0, axis), d = x.dims[sz(axis)];
    int64_t inner = prod(x.dims.data(), axis + 1, x.rank), n = ind.numel();
    std::vector<int64_t> idx(sz(n));
    for (int64_t i = 0; i < n; ++i) idx[sz(i)] = wrap_index("Gather", index_at(ind, i), d);
    if (y.numel() == 0) return;
    DYNRT_DISPATCH_BYTES(dtype_size(x.dtype), "Gather", {
      const E* src = x.as<const E>();
      E* dst = y.as<E>();
      parallel_for(outer * n, std::max<int64_t>(1, 16384 / inner), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
          int64_t o = r / n, i = r % n;
          const E* p = src + (o * d + idx[sz(i)]) * inner;
          E* q = dst + r * inner;
          if (inner == 1) *q = *p;
          else std::memcpy(q, p, sz(inner) * sizeof(E));
        }
      });
    });
  });
}

// Offset in data (strides ds) of each element of an indices-shaped tensor,
// with the coordinate along `axis` replaced by the index value. Calls
// f(element, data_offset) for all elements, rows in parallel unless serial.
template <class F>
void for_each_element_offset(const TensorView& ind, const int64_t* ddims, const int64_t* ds, int axis,
                             const char* op, bool serial, F&& f) {
  int r = ind.rank;
  int64_t inner = r == 0 ? 1 : ind.dims[sz(r - 1)];
  int64_t rows = r == 0 ? 1 : prod(ind.dims.data(), 0, r - 1);
  int64_t dax = ddims[axis];
  auto body = [&](int64_t b, int64_t e) {
    for (int64_t rix = b; rix < e; ++rix) {
      int64_t rem = rix, off = 0;
      for (int k = r - 2; k >= 0; --k) {
        int64_t i = rem % ind.dims[sz(k)];
        rem /= ind.dims[sz(k)];
        if (k != axis) off += i * ds[k];
      }
      for (int64_t j = 0; j < inner; ++j) {
        int64_t el = rix * inner + j;
        int64_t v = wrap_index(op, index_at(ind, el), dax);
        int64_t o = off + v * ds[axis] + (axis == r - 1 ? 0 : j * ds[r - 1]);
        f(el, o);
      }
    }
  };
  if (serial) body(0, rows);
  else parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)), body);
}

std::unique_ptr<Kernel> make_gather_elements(const KernelInit& init) {
  int64_t axis_attr = AxisAttrs::parse(init).axis;
  return make_kernel([axis_attr](KernelContext& c) {
    const TensorView &x = c.in(0), &ind = c.in(1), &y = c.out(0);
    auto axis = static_cast<int>(norm_axis(axis_attr, x.rank, "GatherElements"));
    int64_t ds[kMaxRank];
    contiguous_strides(x, ds);
    DYNRT_DISPATCH_BYTES(dtype_size(x.dtype), "GatherElements", {
      const E* src = x.as<const E>();
      E* dst = y.as<E>();
      for_each_element_offset(ind, x.dims.data(), ds, axis, "GatherElements", false,
                              [&](int64_t el, int64_t off) { dst[el] = src[off]; });
    });
  });
}

// For GatherND / ScatterND: the data offset selected by index tuple m of
// batch bt (tuples of `last` int64 values).
struct NdIndexer {
  int64_t batch_stride, tuples_per_batch, slice;
  int64_t strides[kMaxRank];
  int64_t dims[kMaxRank];
  int64_t last;
  int batch_dims;

  NdIndexer(const TensorView& data, const TensorView& ind, int b) : batch_dims(b) {
    last = ind.dims[sz(ind.rank - 1)];
    int64_t ds[kMaxRank];
    contiguous_strides(data, ds);
    for (int64_t t = 0; t < last; ++t) {
      strides[t] = ds[b + t];
      dims[t] = data.dims[sz(b + t)];
    }
    batch_stride = prod(data.dims.data(), b, data.rank);
    tuples_per_batch = prod(ind.dims.data(), b, ind.rank - 1);
    slice = prod(data.dims.data(), b + static_cast<int>(last), data.rank);
  }
  int64_t offset(const int64_t* tuple, int64_t bt, const char* op) const {
    int64_t off = bt * batch_stride;
    for (int64_t t = 0; t < last; ++t) off += wrap_index(op, tuple[t], dims[t]) * strides[t];
    return off;
  }
};

std::unique_ptr<Kernel> make_gather_nd(const KernelInit& init) {
  auto b = static_cast<int>(GatherNDAttrs::parse(init).batch_dims);
  return make_kernel([b](KernelContext& c) {
    const TensorView &x = c.in(0), &ind = c.in(1), &y = c.out(0);
    NdIndexer nd(x, ind, b);
    const auto* tuples = ind.as<const int64_t>();
    int64_t total = prod(ind.dims.data(), 0, ind.rank - 1);
    int64_t s = nd.slice;
    DYNRT_DISPATCH_BYTES(dtype_size(x.dtype), "GatherND", {
      const E* src = x.as<const E>();
      E* dst = y.as<E>();
      parallel_for(total, std::max<int64_t>(1, 16384 / std::max<int64_t>(s, 1)), [&](int64_t b0, int64_t b1) {
        for (int64_t m = b0; m < b1; ++m) {
          int64_t off = nd.offset(tuples + m * nd.last, m / std::max<int64_t>(nd.tuples_per_batch, 1), "GatherND");
          std::memcpy(dst + m * s, src + off, sz(s) * sizeof(E));
        }
      });
    });
  });
}

enum class Red { kNone, kAdd, kMul, kMax, kMin };

Red parse_reduction(const KernelInit& init) {
  std::string r = ScatterAttrs::parse(init).reduction;
  if (r == "add") return Red::kAdd;
  if (r == "mul") return Red::kMul;
  if (r == "max") return Red::kMax;
  if (r == "min") return Red::kMin;
  return Red::kNone;
}

template <class T>
void apply(T& dst, T v, Red red) {
  switch (red) {
    case Red::kNone: dst = v; break;
    case Red::kAdd: dst = static_cast<T>(dst + v); break;
    case Red::kMul: dst = static_cast<T>(dst * v); break;
    case Red::kMax: dst = std::max(dst, v); break;
    case Red::kMin: dst = std::min(dst, v); break;
  }
}

// Runs f with T = the element type (numeric), or E = raw bytes when there is no reduction.
#define DYNRT_DISPATCH_SCATTER(RED, DTYPE, OP, ...)                       \
  if ((RED) == Red::kNone) {                                             \
    DYNRT_DISPATCH_BYTES(dtype_size(DTYPE), OP, { using T = E; __VA_ARGS__; }); \
  } else {                                                               \
    DYNRT_DISPATCH_NUMERIC(DTYPE, OP, __VA_ARGS__);                      \
  }

std::unique_ptr<Kernel> make_scatter_nd(const KernelInit& init) {
  Red red = parse_reduction(init);
  return make_kernel([red](KernelContext& c) {
    const TensorView &x = c.in(0), &ind = c.in(1), &upd = c.in(2), &y = c.out(0);
    std::memcpy(y.data, x.data, x.nbytes());
    NdIndexer nd(x, ind, 0);
    const auto* tuples = ind.as<const int64_t>();
    int64_t total = prod(ind.dims.data(), 0, ind.rank - 1), s = nd.slice;
    // Serial: duplicate indices accumulate in order.
    DYNRT_DISPATCH_SCATTER(red, x.dtype, "ScatterND", {
      const T* u = upd.as<const T>();
      T* dst = y.as<T>();
      for (int64_t m = 0; m < total; ++m) {
        T* q = dst + nd.offset(tuples + m * nd.last, 0, "ScatterND");
        const T* p = u + m * s;
        for (int64_t i = 0; i < s; ++i) apply(q[i], p[i], red);
      }
    });
  });
}

std::unique_ptr<Kernel> make_scatter_elements(const KernelInit& init) {
  Red red = parse_reduction(init);
  int64_t axis_attr = AxisAttrs::parse(init).axis;
  return make_kernel([red, axis_attr](KernelContext& c) {
    const TensorView &x = c.in(0), &ind = c.in(1), &upd = c.in(2), &y = c.out(0);
    std::memcpy(y.data, x.data, x.nbytes());
    auto axis = static_cast<int>(norm_axis(axis_attr, x.rank, "ScatterElements"));
    int64_t ds[kMaxRank];
    contiguous_strides(x, ds);
    DYNRT_DISPATCH_SCATTER(red, x.dtype, "ScatterElements", {
      const T* u = upd.as<const T>();
      T* dst = y.as<T>();
      for_each_element_offset(ind, x.dims.data(), ds, axis, "ScatterElements", true,
                              [&](int64_t el, int64_t off) { apply(dst[off], u[el], red); });
    });
  });
}

std::unique_ptr<Kernel> make_cumsum(const KernelInit& init) {
  bool exclusive = init.attr_int("exclusive", 0) != 0, reverse = init.attr_int("reverse", 0) != 0;
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    if (x.rank == 0) {
      if (exclusive) std::memset(y.data, 0, y.nbytes());
      else std::memcpy(y.data, x.data, x.nbytes());
      return;
    }
    auto axis = static_cast<int>(norm_axis(index_at(c.in(1), 0), x.rank, "CumSum"));
    int64_t outer = prod(x.dims.data(), 0, axis), d = x.dims[sz(axis)];
    int64_t inner = prod(x.dims.data(), axis + 1, x.rank);
    DYNRT_DISPATCH_NUMERIC(x.dtype, "CumSum", {
      const T* src = x.as<const T>();
      T* dst = y.as<T>();
      parallel_for(outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(d * inner, 1)), [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) {
          const T* p = src + o * d * inner;
          T* q = dst + o * d * inner;
          for (int64_t step = 0; step < d; ++step) {
            int64_t k = reverse ? d - 1 - step : step;
            int64_t prev = reverse ? k + 1 : k - 1;
            T* row = q + k * inner;
            if (step == 0) {
              for (int64_t i = 0; i < inner; ++i) row[i] = exclusive ? T(0) : p[k * inner + i];
            } else {
              const T* pr = q + prev * inner;
              const T* in = p + (exclusive ? prev : k) * inner;
              for (int64_t i = 0; i < inner; ++i) row[i] = static_cast<T>(pr[i] + in[i]);
            }
          }
        }
      });
    });
  });
}

// Whether element i is non-zero (floats: -0.0 is zero; float16/bfloat16 by bits).
std::vector<uint8_t> nonzero_mask(const TensorView& x) {
  std::vector<uint8_t> m(sz(x.numel()));
  if (x.dtype == DType::kFloat16 || x.dtype == DType::kBFloat16) {
    const auto* p = x.as<const uint16_t>();
    for (size_t i = 0; i < m.size(); ++i) m[i] = (p[i] & 0x7fff) != 0;
  } else if (x.dtype == DType::kBool) {
    const auto* p = x.as<const uint8_t>();
    for (size_t i = 0; i < m.size(); ++i) m[i] = p[i] != 0;
  } else {
    DYNRT_DISPATCH_NUMERIC(x.dtype, "NonZero", {
      const T* p = x.as<const T>();
      for (size_t i = 0; i < m.size(); ++i) m[i] = p[i] != T(0);
    });
  }
  return m;
}

std::unique_ptr<Kernel> make_nonzero(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    const TensorView& x = c.in(0);
    std::vector<uint8_t> m = nonzero_mask(x);
    int64_t n = 0;
    for (uint8_t v : m) n += v;
    int64_t dims[2] = {std::max(x.rank, 1), n};  // a scalar reads as [1, n] (ONNX Runtime)
    c.allocate_output(0, std::span<const int64_t>(dims, 2));
    auto* out = c.out(0).as<int64_t>();
    if (x.rank == 0) std::fill(out, out + n, int64_t{0});
    int64_t j = 0;
    for (size_t i = 0; i < m.size(); ++i) {
      if (!m[i]) continue;
      auto rem = static_cast<int64_t>(i);
      for (int k = x.rank - 1; k >= 0; --k) {
        out[k * n + j] = rem % x.dims[sz(k)];
        rem /= x.dims[sz(k)];
      }
      ++j;
    }
  });
}

std::unique_ptr<Kernel> make_compress(const KernelInit& init) {
  OptionalAxisAttrs attrs = OptionalAxisAttrs::parse(init);
  bool has_axis = attrs.has_axis;
  int64_t axis_attr = attrs.axis;
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &cond = c.in(1);
    const auto* cv = cond.as<const uint8_t>();
    size_t es = dtype_size(x.dtype);
    int axis = has_axis ? static_cast<int>(norm_axis(axis_attr, x.rank, "Compress")) : 0;
    int64_t d = has_axis ? x.dims[sz(axis)] : x.numel();
    int64_t outer = has_axis ? prod(x.dims.data(), 0, axis) : 1;
    int64_t inner = has_axis ? prod(x.dims.data(), axis + 1, x.rank) : 1;
    int64_t len = std::min(d, cond.numel());
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < len; ++i)
      if (cv[i]) keep.push_back(i);
    auto n = static_cast<int64_t>(keep.size());
    std::vector<int64_t> dims;
    if (has_axis) {
      dims.assign(x.dims.begin(), x.dims.begin() + x.rank);
      dims[sz(axis)] = n;
    } else {
      dims = {n};
    }
    c.allocate_output(0, dims);
    const auto* src = static_cast<const std::byte*>(x.data);
    auto* dst = static_cast<std::byte*>(c.out(0).data);
    size_t bytes = sz(inner) * es;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < n; ++j)
        std::memcpy(dst + sz((o * n + j) * inner) * es, src + sz((o * d + keep[sz(j)]) * inner) * es, bytes);
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_topk_onehot_kernels(KernelRegistry& r);  // indexing_topk.cpp

void register_cpu_indexing_kernels(KernelRegistry& r) {
  using namespace cpu;
  r.add_kernel("Gather", make_gather);
  r.add_kernel("GatherElements", make_gather_elements);
  r.add_kernel("GatherND", make_gather_nd);
  r.add_kernel("ScatterND", make_scatter_nd);
  r.add_kernel("ScatterElements", make_scatter_elements);
  r.add_kernel("Scatter", make_scatter_elements);
  r.add_kernel("CumSum", make_cumsum);
  r.add_kernel("NonZero", make_nonzero);
  r.add_kernel("Compress", make_compress);
  register_cpu_topk_onehot_kernels(r);
}

}  // namespace dynrt
