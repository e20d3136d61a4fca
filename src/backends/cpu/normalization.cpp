// CPU kernels for Softmax/LogSoftmax/Hardmax, LayerNormalization,
// InstanceNormalization, GroupNormalization, LpNormalization,
// MeanVarianceNormalization and LRN.
//
// Most of these work on a [outer, n, inner] view of the input. With inner ==
// 1 (the last axis: transformers) every row is a contiguous `omp simd` loop;
// otherwise rows are processed as vectors of `inner` lanes.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backends/cpu/half.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/vec_math.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"

namespace dynrt::cpu {
namespace {

constexpr int64_t kWork = 32768;  // elements per parallel task, roughly
constexpr int64_t kLanes = 512;   // lanes per task when the axis is not innermost

struct Split {
  int64_t outer = 1, n = 1, inner = 1;
};

// [prod(dims[:axis]), dims[axis], prod(dims[axis+1:])]; `coerce` takes all of
// dims[axis:] as the row (pre-13 Softmax semantics).
Split split_at(const TensorView& x, int64_t axis, bool coerce) {
  Split s;
  for (int i = 0; i < x.rank; ++i) {
    if (i < axis) s.outer *= x.dim(i);
    else if (i == axis || coerce) s.n *= x.dim(i);
    else s.inner *= x.dim(i);
  }
  return s;
}

template <class T>
inline T max_run(const T* p, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = m > p[i] ? m : p[i];
  return m;
}

template <class T>
inline T sum_run(const T* p, int64_t n) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += p[i];
  return s;
}

// ---- Softmax / LogSoftmax / Hardmax -----------------------------------------

enum class SoftMode { kSoftmax, kLogSoftmax, kHardmax };

template <SoftMode M, class T>
void softmax_row(const T* p, T* q, int64_t n) {
  T m = max_run(p, n);
  if constexpr (M == SoftMode::kHardmax) {
    int64_t idx = 0;
    for (int64_t i = 0; i < n; ++i)
      if (p[i] == m) { idx = i; break; }
    for (int64_t i = 0; i < n; ++i) q[i] = 0;
    q[idx] = 1;
  } else if constexpr (M == SoftMode::kSoftmax) {
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) {
      T e = vexp(p[i] - m);
      q[i] = e;
      s += e;
    }
    T inv = T(1) / s;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) q[i] *= inv;
  } else {
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += vexp(p[i] - m);
    T l = m + std::log(s);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) q[i] = p[i] - l;
  }
}

// Softmax over axis of stride `inner`: lanes [0, len) of one outer slice.
template <SoftMode M, class T>
void softmax_lanes(const T* p, T* q, int64_t n, int64_t inner, int64_t len, T* m, T* s) {
  for (int64_t j = 0; j < len; ++j) m[j] = -std::numeric_limits<T>::infinity();
  for (int64_t k = 0; k < n; ++k) {
    const T* r = p + k * inner;
#pragma omp simd
    for (int64_t j = 0; j < len; ++j) m[j] = m[j] > r[j] ? m[j] : r[j];
  }
  if constexpr (M == SoftMode::kHardmax) {
    for (int64_t j = 0; j < len; ++j) s[j] = 0;  // 0: max not seen yet
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < len; ++j) {
        bool hit = s[j] == 0 && p[k * inner + j] == m[j];
        q[k * inner + j] = hit ? T(1) : T(0);
        if (hit) s[j] = 1;
      }
    return;
  }
  for (int64_t j = 0; j < len; ++j) s[j] = 0;
  for (int64_t k = 0; k < n; ++k) {
    const T* r = p + k * inner;
    T* o = q + k * inner;
#pragma omp simd
    for (int64_t j = 0; j < len; ++j) {
      T e = vexp(r[j] - m[j]);
      if constexpr (M == SoftMode::kSoftmax) o[j] = e;
      s[j] += e;
    }
  }
  if constexpr (M == SoftMode::kSoftmax) {
    for (int64_t j = 0; j < len; ++j) s[j] = T(1) / s[j];
    for (int64_t k = 0; k < n; ++k) {
      T* o = q + k * inner;
#pragma omp simd
      for (int64_t j = 0; j < len; ++j) o[j] *= s[j];
    }
  } else {
    for (int64_t j = 0; j < len; ++j) s[j] = m[j] + std::log(s[j]);
    for (int64_t k = 0; k < n; ++k) {
      const T* r = p + k * inner;
      T* o = q + k * inner;
#pragma omp simd
      for (int64_t j = 0; j < len; ++j) o[j] = r[j] - s[j];
    }
  }
}

// A fused NaN guard ("dynrt.nan_to_zero", passes/fuse_softmax_nan_guard.cpp).
template <class T>
void zero_nans(T* q, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (std::isnan(q[i])) q[i] = T(0);
}

template <SoftMode M, class T>
void softmax(const T* x, T* y, Split sp, bool nan_to_zero = false) {
  if (sp.outer * sp.n * sp.inner == 0) return;
  if (sp.inner == 1) {
    parallel_for(sp.outer, std::max<int64_t>(1, kWork / sp.n), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        softmax_row<M>(x + r * sp.n, y + r * sp.n, sp.n);
        if (nan_to_zero) zero_nans(y + r * sp.n, sp.n);
      }
    });
    return;
  }
  int64_t nch = (sp.inner + kLanes - 1) / kLanes;
  int64_t per_task = sp.n * std::min(sp.inner, kLanes);
  parallel_for(sp.outer * nch, std::max<int64_t>(1, kWork / per_task), [&](int64_t b, int64_t e) {
    std::vector<T> m(static_cast<size_t>(kLanes)), s(static_cast<size_t>(kLanes));
    for (int64_t t = b; t < e; ++t) {
      int64_t o = t / nch, j0 = (t % nch) * kLanes, len = std::min(kLanes, sp.inner - j0);
      int64_t off = o * sp.n * sp.inner + j0;
      softmax_lanes<M>(x + off, y + off, sp.n, sp.inner, len, m.data(), s.data());
      if (nan_to_zero)
        for (int64_t k = 0; k < sp.n; ++k) zero_nans(y + off + k * sp.inner, len);
    }
  });
}

template <SoftMode M>
std::unique_ptr<Kernel> make_softmax(const KernelInit& init) {
  SoftmaxAttrs a = SoftmaxAttrs::parse(init);
  const bool nan_to_zero = init.attr_int("dynrt.nan_to_zero", 0) != 0;
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    int64_t axis = a.axis < 0 ? a.axis + x.rank : a.axis;
    Split sp = split_at(x, axis, a.coerce_2d);
    DYNRT_DISPATCH_FLOAT(x.dtype, "Softmax", softmax<M>(x.as<const T>(), y.as<T>(), sp, nan_to_zero));
  });
}

// ---- mean / variance rows -----------------------------------------------------

// Mean and 1/sqrt(var + eps) of a contiguous row, in accumulation type A.
template <class A, class T>
inline void row_stats(const T* p, int64_t n, A eps, A& mean, A& inv) {
  A s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += static_cast<A>(p[i]);
  mean = s / static_cast<A>(n);
  A v = 0;
  A mu = mean;
#pragma omp simd reduction(+ : v)
  for (int64_t i = 0; i < n; ++i) {
    A d = static_cast<A>(p[i]) - mu;
    v += d * d;
  }
  inv = A(1) / std::sqrt(v / static_cast<A>(n) + eps);
}

// y = (x - mean) * inv * scale + bias for a segment with scalar scale/bias.
template <class A, class T>
inline void affine_scalar(const T* p, T* q, int64_t n, A mean, A inv, A scale, A bias) {
  A k = inv * scale, b = bias - mean * k;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) q[i] = static_cast<T>(static_cast<A>(p[i]) * k + b);
}

bool present(const KernelContext& c, size_t i) {
  return i < c.outputs.size() && c.outputs[i].dtype != DType::kUndefined && c.outputs[i].data != nullptr;
}

// Expand a parameter that broadcasts as a suffix of the row to the full row.
template <class T>
const T* expand_param(const TensorView& v, int64_t n, std::vector<T>& buf) {
  int64_t m = v.numel();
  if (m == n) return v.as<const T>();
  if (m == 0 || n % m != 0) throw Error(ErrorCode::kInvalidInput, "LayerNormalization: scale/bias does not broadcast");
  buf.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) buf[static_cast<size_t>(i)] = v.as<const T>()[i % m];
  return buf.data();
}

template <class T, class U>
void layer_norm(KernelContext& c, int64_t axis, float epsilon) {
  using A = std::conditional_t<(sizeof(U) > sizeof(T)), U, T>;
  const TensorView& x = c.in(0);
  Split sp = split_at(x, axis, true);
  int64_t rows = sp.outer, n = sp.n;
  if (rows * n == 0) return;
  std::vector<T> sbuf, bbuf;
  const T* scale = expand_param<T>(c.in(1), n, sbuf);
  const T* bias = c.has_in(2) ? expand_param<T>(c.in(2), n, bbuf) : nullptr;
  const T* px = x.as<const T>();
  T* py = c.out(0).as<T>();
  U* pm = present(c, 1) ? c.out(1).as<U>() : nullptr;
  U* pi = present(c, 2) ? c.out(2).as<U>() : nullptr;
  A eps = static_cast<A>(epsilon);
  parallel_for(rows, std::max<int64_t>(1, kWork / n), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* p = px + r * n;
      T* q = py + r * n;
      A mean, inv;
      row_stats(p, n, eps, mean, inv);
      if (pm) pm[r] = static_cast<U>(mean);
      if (pi) pi[r] = static_cast<U>(inv);
      if (bias) {
#pragma omp simd
        for (int64_t i = 0; i < n; ++i)
          q[i] = static_cast<T>((static_cast<A>(p[i]) - mean) * inv * static_cast<A>(scale[i]) + static_cast<A>(bias[i]));
      } else {
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) q[i] = static_cast<T>((static_cast<A>(p[i]) - mean) * inv * static_cast<A>(scale[i]));
      }
    }
  });
}

std::unique_ptr<Kernel> make_layer_norm(const KernelInit& init) {
  LayerNormAttrs a = LayerNormAttrs::parse(init);
  int64_t axis_attr = a.axis;
  float eps = a.epsilon;
  bool stash64 = a.stash == DType::kFloat64;
  return make_kernel([=](KernelContext& c) {
    const TensorView& x = c.in(0);
    int64_t axis = axis_attr < 0 ? axis_attr + x.rank : axis_attr;
    if (x.dtype == DType::kFloat32) stash64 ? layer_norm<float, double>(c, axis, eps) : layer_norm<float, float>(c, axis, eps);
    else if (x.dtype == DType::kFloat64) stash64 ? layer_norm<double, double>(c, axis, eps) : layer_norm<double, float>(c, axis, eps);
    else unsupported_dtype("LayerNormalization", x.dtype);
  });
}

template <class T, class A>
void rms_norm(KernelContext& c, int64_t axis, float epsilon) {
  const TensorView& x = c.in(0);
  Split sp = split_at(x, axis, true);
  int64_t rows = sp.outer, n = sp.n;
  if (rows * n == 0) return;
  std::vector<T> sbuf;
  const T* scale = expand_param<T>(c.in(1), n, sbuf);
  const T* px = x.as<const T>();
  T* py = c.out(0).as<T>();
  parallel_for(rows, std::max<int64_t>(1, kWork / n), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* p = px + r * n;
      T* q = py + r * n;
      A s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < n; ++i) s += static_cast<A>(p[i]) * static_cast<A>(p[i]);
      A inv = A(1) / std::sqrt(s / static_cast<A>(n) + static_cast<A>(epsilon));
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) q[i] = static_cast<T>(static_cast<A>(p[i]) * inv * static_cast<A>(scale[i]));
    }
  });
}

std::unique_ptr<Kernel> make_rms_norm(const KernelInit& init) {
  LayerNormAttrs a = LayerNormAttrs::parse(init);
  int64_t axis_attr = a.axis;
  float eps = a.epsilon;
  bool stash64 = a.stash == DType::kFloat64;
  return make_kernel([=](KernelContext& c) {
    const TensorView& x = c.in(0);
    int64_t axis = axis_attr < 0 ? axis_attr + x.rank : axis_attr;
    if (x.dtype == DType::kFloat32) stash64 ? rms_norm<float, double>(c, axis, eps) : rms_norm<float, float>(c, axis, eps);
    else if (x.dtype == DType::kFloat64) rms_norm<double, double>(c, axis, eps);
    else unsupported_dtype("RMSNormalization", x.dtype);
  });
}

// Instance (groups == C) and group normalization of [N, C, spatial...]:
// each (n, group) is one contiguous row of (C / groups) * spatial elements;
// scale/bias are per channel (`per_channel`) or per group.
template <class T>
void group_norm(KernelContext& c, int64_t groups, bool per_channel, float epsilon) {
  const TensorView& x = c.in(0);
  int64_t N = x.dim(0), C = x.dim(1), S = 1;
  for (int i = 2; i < x.rank; ++i) S *= x.dim(i);
  if (N * C * S == 0) return;
  if (C % groups != 0) throw Error(ErrorCode::kInvalidInput, "GroupNormalization: channels not divisible by num_groups");
  int64_t cpg = C / groups, n = cpg * S;
  const T *px = x.as<const T>(), *scale = c.in(1).as<const T>(), *bias = c.in(2).as<const T>();
  T* py = c.out(0).as<T>();
  auto eps = static_cast<T>(epsilon);
  parallel_for(N * groups, std::max<int64_t>(1, kWork / n), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t g = r % groups;
      T mean, inv;
      row_stats(px + r * n, n, eps, mean, inv);
      for (int64_t k = 0; k < cpg; ++k) {
        int64_t pi = per_channel ? g * cpg + k : g;
        int64_t off = r * n + k * S;
        affine_scalar<T>(px + off, py + off, S, mean, inv, scale[pi], bias[pi]);
      }
    }
  });
}

std::unique_ptr<Kernel> make_instance_norm(const KernelInit& init) {
  float eps = GroupNormAttrs::parse(init).epsilon;
  return make_kernel([=](KernelContext& c) {
    int64_t C = c.in(0).dim(1);
    DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "InstanceNormalization", group_norm<T>(c, C, true, eps));
  });
}

std::unique_ptr<Kernel> make_group_norm(const KernelInit& init) {
  GroupNormAttrs attrs = GroupNormAttrs::parse(init);
  float eps = attrs.epsilon;
  int64_t groups = attrs.num_groups;
  bool per_channel = init.opset() >= 21;
  return make_kernel([=](KernelContext& c) {
    DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "GroupNormalization", group_norm<T>(c, groups, per_channel, eps));
  });
}

// ---- LpNormalization ------------------------------------------------------------

template <class T>
void lp_norm(const T* x, T* y, Split sp, int64_t p) {
  if (sp.outer * sp.n * sp.inner == 0) return;
  auto finish = [](T acc, int64_t p) { return p == 2 ? std::sqrt(acc) : acc; };
  if (sp.inner == 1) {
    parallel_for(sp.outer, std::max<int64_t>(1, kWork / sp.n), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const T* a = x + r * sp.n;
        T* q = y + r * sp.n;
        T acc = 0;
        if (p == 2) {
#pragma omp simd reduction(+ : acc)
          for (int64_t i = 0; i < sp.n; ++i) acc += a[i] * a[i];
        } else {
#pragma omp simd reduction(+ : acc)
          for (int64_t i = 0; i < sp.n; ++i) acc += std::abs(a[i]);
        }
        T norm = finish(acc, p);
        T inv = norm == 0 ? T(0) : T(1) / norm;  // a zero norm gives zeros
#pragma omp simd
        for (int64_t i = 0; i < sp.n; ++i) q[i] = a[i] * inv;
      }
    });
    return;
  }
  parallel_for(sp.outer, std::max<int64_t>(1, kWork / (sp.n * sp.inner)), [&](int64_t b, int64_t e) {
    std::vector<T> acc(static_cast<size_t>(sp.inner));
    for (int64_t o = b; o < e; ++o) {
      const T* a = x + o * sp.n * sp.inner;
      T* q = y + o * sp.n * sp.inner;
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t k = 0; k < sp.n; ++k)
        for (int64_t j = 0; j < sp.inner; ++j) {
          T v = a[k * sp.inner + j];
          acc[static_cast<size_t>(j)] += p == 2 ? v * v : std::abs(v);
        }
      for (T& v : acc) {
        T norm = finish(v, p);
        v = norm == 0 ? T(0) : T(1) / norm;
      }
      for (int64_t k = 0; k < sp.n; ++k)
        for (int64_t j = 0; j < sp.inner; ++j) q[k * sp.inner + j] = a[k * sp.inner + j] * acc[static_cast<size_t>(j)];
    }
  });
}

std::unique_ptr<Kernel> make_lp_norm(const KernelInit& init) {
  LpNormAttrs attrs = LpNormAttrs::parse(init);
  int64_t axis_attr = attrs.axis, p = attrs.p;
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    int64_t axis = axis_attr < 0 ? axis_attr + x.rank : axis_attr;
    DYNRT_DISPATCH_FLOAT(x.dtype, "LpNormalization", lp_norm(x.as<const T>(), y.as<T>(), split_at(x, axis, false), p));
  });
}

// ---- MeanVarianceNormalization ---------------------------------------------------

// (x - mean) / (sqrt(var) + 1e-9) over any set of axes: statistics per kept
// index, accumulated in double while walking the input in order.
template <class T>
void mvn(const TensorView& x, const TensorView& y, const std::vector<bool>& red) {
  int64_t total = x.numel();
  if (total == 0) return;
  int r = x.rank;
  int64_t kstride[kMaxRank] = {}, kcount = 1;
  for (int i = r - 1; i >= 0; --i)
    if (!red[static_cast<size_t>(i)]) {
      kstride[i] = kcount;
      kcount *= x.dim(i);
    }
  int64_t rcount = total / kcount;
  std::vector<double> sum(static_cast<size_t>(kcount)), sq(static_cast<size_t>(kcount));
  // Walk the input in order, tracking the kept index incrementally.
  auto walk = [&](auto&& f) {
    int64_t idx[kMaxRank] = {};
    int64_t k = 0;
    for (int64_t i = 0; i < total; ++i) {
      f(i, k);
      for (int d = r - 1; d >= 0; --d) {
        k += kstride[d];
        if (++idx[d] < x.dim(d)) break;
        k -= kstride[d] * x.dim(d);
        idx[d] = 0;
      }
    }
  };
  const T* px = x.as<const T>();
  T* py = y.as<T>();
  walk([&](int64_t i, int64_t k) {
    double v = px[i];
    sum[static_cast<size_t>(k)] += v;
    sq[static_cast<size_t>(k)] += v * v;
  });
  for (int64_t k = 0; k < kcount; ++k) {
    double m = sum[static_cast<size_t>(k)] / static_cast<double>(rcount);
    double var = std::max(0.0, sq[static_cast<size_t>(k)] / static_cast<double>(rcount) - m * m);
    sum[static_cast<size_t>(k)] = m;
    sq[static_cast<size_t>(k)] = 1.0 / (std::sqrt(var) + 1e-9);
  }
  walk([&](int64_t i, int64_t k) {
    py[i] = static_cast<T>((px[i] - sum[static_cast<size_t>(k)]) * sq[static_cast<size_t>(k)]);
  });
}

std::unique_ptr<Kernel> make_mvn(const KernelInit& init) {
  std::vector<int64_t> axes = MvnAttrs::parse(init).axes;
  return make_kernel([axes](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    std::vector<bool> red(static_cast<size_t>(x.rank), false);
    for (int64_t a : axes) red[static_cast<size_t>(a < 0 ? a + x.rank : a)] = true;
    DYNRT_DISPATCH_FLOAT(x.dtype, "MeanVarianceNormalization", mvn<T>(x, y, red));
  });
}

// ---- LRN --------------------------------------------------------------------------

template <class T>
void lrn(const TensorView& x, const TensorView& y, int64_t size, float alpha, float beta, float bias) {
  int64_t N = x.dim(0), C = x.dim(1), S = 1;
  for (int i = 2; i < x.rank; ++i) S *= x.dim(i);
  if (N * C * S == 0) return;
  const T* px = x.as<const T>();
  T* py = y.as<T>();
  int64_t lo = (size - 1) / 2, hi = size - 1 - lo;  // window [c - lo, c + hi]
  T k = static_cast<T>(alpha) / static_cast<T>(size);
  parallel_for(N * C, std::max<int64_t>(1, kWork / (S * size)), [&](int64_t b, int64_t e) {
    std::vector<T> acc(static_cast<size_t>(S));
    for (int64_t r = b; r < e; ++r) {
      int64_t n = r / C, ch = r % C;
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t c2 = std::max<int64_t>(0, ch - lo); c2 <= std::min(C - 1, ch + hi); ++c2) {
        const T* p = px + (n * C + c2) * S;
        T* a = acc.data();
#pragma omp simd
        for (int64_t s = 0; s < S; ++s) a[s] += p[s] * p[s];
      }
      const T* p = px + r * S;
      T* q = py + r * S;
      for (int64_t s = 0; s < S; ++s)
        q[s] = p[s] / std::pow(static_cast<T>(bias) + k * acc[static_cast<size_t>(s)], static_cast<T>(beta));
    }
  });
}

std::unique_ptr<Kernel> make_lrn(const KernelInit& init) {
  LrnAttrs attrs = LrnAttrs::parse(init);
  int64_t size = attrs.size;
  float alpha = attrs.alpha, beta = attrs.beta, bias = attrs.bias;
  return make_kernel([=](KernelContext& c) {
    DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "LRN", lrn<T>(c.in(0), c.out(0), size, alpha, beta, bias));
  });
}

}  // namespace

std::unique_ptr<Kernel> make_einsum_kernel(const KernelInit& init);  // einsum.cpp

}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_normalization_kernels(KernelRegistry& r) {
  using namespace cpu;
  r.add_kernel("Softmax", widen_half(make_softmax<SoftMode::kSoftmax>));
  r.add_kernel("LogSoftmax", widen_half(make_softmax<SoftMode::kLogSoftmax>));
  r.add_kernel("Hardmax", widen_half(make_softmax<SoftMode::kHardmax>));
  r.add_kernel("LayerNormalization", make_layer_norm);
  r.add_kernel("RMSNormalization", make_rms_norm);
  r.add_kernel("InstanceNormalization", make_instance_norm);
  r.add_kernel("GroupNormalization", make_group_norm);
  r.add_kernel("LpNormalization", make_lp_norm);
  r.add_kernel("MeanVarianceNormalization", make_mvn);
  r.add_kernel("LRN", make_lrn);
  r.add_kernel("Einsum", widen_half(make_einsum_kernel));
}

}  // namespace dynrt
