// CPU kernels for Reduce* and ArgMax/ArgMin.
//
// A reduction is first put in canonical form: size-1 dims dropped, adjacent
// dims that are both kept or both reduced merged. Then either the last merged
// dim is reduced (each output reduces contiguous runs: softmax-like rows,
// mean over H*W) or it is kept (outputs accumulate whole contiguous vectors:
// reduce over batch / channels-last). Both inner loops are `omp simd`.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backends/cpu/half.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/vec_math.h"
#include "backends/cpu/kernels.h"
#include "backends/reduce_dims.h"
#include "ops/attrs.h"
#include "ops/runtime_shape.h"

namespace dynrt::cpu {
namespace {

enum class Comb { kAdd, kMul, kMax, kMin };

struct ReducePlan {
  int64_t out_count = 1;  // output elements
  int64_t red_count = 1;  // input elements per output element
  bool inner_red = true;  // last merged dim reduced (runs) or kept (vectors)
  int64_t inner = 1;      // size of the last merged dim
  int nk = 0;             // outer kept dims (the kept inner dim excluded)
  int64_t kdims[kMaxRank] = {}, kstrides[kMaxRank] = {};
  int nr = 0;  // reduced dims outside the inner one
  int64_t rdims[kMaxRank] = {}, rstrides[kMaxRank] = {};

  // Input offset of outer kept index `row` (row-major over kdims).
  int64_t base(int64_t row) const {
    if (nk == 1) return row * kstrides[0];
    int64_t off = 0;
    for (int i = nk - 1; i >= 0; --i) {
      off += (row % kdims[i]) * kstrides[i];
      row /= kdims[i];
    }
    return off;
  }

  // f(offset) for every combination of the outer reduced dims.
  template <class F>
  void for_each_red(int64_t base_off, F&& f) const {
    if (nr == 0) return f(base_off);
    if (nr == 1) {
      for (int64_t k = 0; k < rdims[0]; ++k) f(base_off + k * rstrides[0]);
      return;
    }
    int64_t idx[kMaxRank] = {};
    int64_t off = base_off;
    for (;;) {
      f(off);
      int i = nr - 1;
      for (; i >= 0; --i) {
        off += rstrides[i];
        if (++idx[i] < rdims[i]) break;
        off -= rstrides[i] * rdims[i];
        idx[i] = 0;
      }
      if (i < 0) return;
    }
  }
};

// Requires numel(x) > 0.
ReducePlan make_plan(const TensorView& x, const std::vector<bool>& red) {
  std::vector<MergedDim> m = merge_reduce_dims(x, red);
  ReducePlan p;
  size_t last = m.size() - 1;
  p.inner_red = m[last].reduced;
  p.inner = m[last].size;
  for (size_t i = 0; i < m.size(); ++i) {
    (m[i].reduced ? p.red_count : p.out_count) *= m[i].size;
    if (i == last) break;
    if (m[i].reduced) {
      p.rdims[p.nr] = m[i].size;
      p.rstrides[p.nr++] = m[i].stride;
    } else {
      p.kdims[p.nk] = m[i].size;
      p.kstrides[p.nk++] = m[i].stride;
    }
  }
  return p;
}

template <Comb C, class T>
constexpr T identity() {
  if constexpr (C == Comb::kAdd) return T(0);
  else if constexpr (C == Comb::kMul) return T(1);
  else if constexpr (C == Comb::kMax)
    return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
  else return std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
}

template <Comb C, class T>
[[gnu::always_inline]] inline T combine(T a, T b) {
  if constexpr (C == Comb::kAdd) return static_cast<T>(a + b);
  else if constexpr (C == Comb::kMul) return static_cast<T>(a * b);
  else if constexpr (C == Comb::kMax) return a > b ? a : b;
  else return a < b ? a : b;
}

// Each op: how elements combine, a map applied to each element (with a shift,
// used only by LogSumExp) and a final transform given the element count.
template <class T>
T as_t(double v) { return static_cast<T>(v); }

struct RSum {
  static constexpr Comb comb = Comb::kAdd;
  template <class T> [[gnu::always_inline]] static T map(T x, T) { return x; }
  template <class T> [[gnu::always_inline]] static T fin(T a, int64_t, T) { return a; }
};
struct RMean : RSum {
  template <class T> [[gnu::always_inline]] static T fin(T a, int64_t n, T) { return n ? static_cast<T>(a / static_cast<T>(n)) : a; }
};
struct RSumSquare : RSum {
  template <class T> [[gnu::always_inline]] static T map(T x, T) { return static_cast<T>(x * x); }
};
struct RL1 : RSum {
  template <class T> [[gnu::always_inline]] static T map(T x, T) {
    if constexpr (std::is_unsigned_v<T>) return x;
    else return x < 0 ? static_cast<T>(-x) : x;
  }
};
struct RL2 : RSumSquare {
  template <class T> [[gnu::always_inline]] static T fin(T a, int64_t, T) { return as_t<T>(std::sqrt(static_cast<double>(a))); }
};
struct RLogSum : RSum {
  template <class T> [[gnu::always_inline]] static T fin(T a, int64_t, T) {
    if constexpr (std::is_floating_point_v<T>) return std::log(a);
    else return as_t<T>(std::log(static_cast<double>(a)));
  }
};
struct RLogSumExp : RSum {  // shift = max over the reduced elements
  template <class T> [[gnu::always_inline]] static T map(T x, T s) {
    if constexpr (std::is_floating_point_v<T>) return vexp(x - s);
    else return as_t<T>(std::exp(static_cast<double>(x - s)));
  }
  template <class T> [[gnu::always_inline]] static T fin(T a, int64_t, T s) {
    if constexpr (std::is_floating_point_v<T>) return std::log(a) + s;
    else return as_t<T>(std::log(static_cast<double>(a)) + static_cast<double>(s));
  }
};
struct RProd {
  static constexpr Comb comb = Comb::kMul;
  template <class T> [[gnu::always_inline]] static T map(T x, T) { return x; }
  template <class T> [[gnu::always_inline]] static T fin(T a, int64_t, T) { return a; }
};
struct RMax : RProd {
  static constexpr Comb comb = Comb::kMax;
};
struct RMin : RProd {
  static constexpr Comb comb = Comb::kMin;
};

// Reduce a contiguous run.
template <class Op, class T>
[[gnu::always_inline]] inline T reduce_run(const T* p, int64_t n, T s) {
  T acc = identity<Op::comb, T>();
  if constexpr (Op::comb == Comb::kAdd) {
#pragma omp simd reduction(+ : acc)
    for (int64_t i = 0; i < n; ++i) acc = static_cast<T>(acc + Op::map(p[i], s));
  } else if constexpr (Op::comb == Comb::kMul) {
#pragma omp simd reduction(* : acc)
    for (int64_t i = 0; i < n; ++i) acc = static_cast<T>(acc * p[i]);
  } else if constexpr (Op::comb == Comb::kMax) {
#pragma omp simd reduction(max : acc)
    for (int64_t i = 0; i < n; ++i) acc = acc > p[i] ? acc : p[i];
  } else {
#pragma omp simd reduction(min : acc)
    for (int64_t i = 0; i < n; ++i) acc = acc < p[i] ? acc : p[i];
  }
  return acc;
}

constexpr int64_t kWork = 32768;  // elements per parallel task, roughly
constexpr int64_t kLanes = 1024;  // vector accumulator width when the inner dim is kept

// out[o] = fin(reduce(map(x))) for every output; `shift` (per output, or
// null) feeds LogSumExp.
template <class Op, class T>
void reduce(const T* x, const ReducePlan& p, T* out, const T* shift) {
  if (p.inner_red) {
    int64_t grain = std::max<int64_t>(1, kWork / std::max<int64_t>(p.red_count, 1));
    parallel_for(p.out_count, grain, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        T s = shift ? shift[o] : T(0);
        T acc = identity<Op::comb, T>();
        p.for_each_red(p.base(o), [&](int64_t off) { acc = combine<Op::comb>(acc, reduce_run<Op>(x + off, p.inner, s)); });
        out[o] = Op::fin(acc, p.red_count, s);
      }
    });
    return;
  }
  int64_t rows = p.out_count / p.inner;
  int64_t nch = (p.inner + kLanes - 1) / kLanes;
  int64_t per_task = p.red_count * std::min(p.inner, kLanes);
  parallel_for(rows * nch, std::max<int64_t>(1, kWork / per_task), [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      int64_t row = t / nch, j0 = (t % nch) * kLanes;
      int64_t len = std::min(kLanes, p.inner - j0);
      T* o = out + row * p.inner + j0;
      const T* sh = shift ? shift + row * p.inner + j0 : nullptr;
#pragma omp simd
      for (int64_t j = 0; j < len; ++j) o[j] = identity<Op::comb, T>();
      p.for_each_red(p.base(row) + j0, [&](int64_t off) {
        const T* q = x + off;
        if (sh) {
#pragma omp simd
          for (int64_t j = 0; j < len; ++j) o[j] = combine<Op::comb>(o[j], Op::map(q[j], sh[j]));
        } else {
#pragma omp simd
          for (int64_t j = 0; j < len; ++j) o[j] = combine<Op::comb>(o[j], Op::map(q[j], T(0)));
        }
      });
      for (int64_t j = 0; j < len; ++j) o[j] = Op::fin(o[j], p.red_count, sh ? sh[j] : T(0));
    }
  });
}

template <class Op, class T>
void run_reduce(const TensorView& x, const std::vector<bool>& red, const TensorView& y) {
  T* out = y.as<T>();
  int64_t n_out = y.numel();
  if (n_out == 0) return;
  if (x.numel() == 0) {  // reducing empty sets: the op's identity
    for (int64_t i = 0; i < n_out; ++i) out[i] = Op::fin(identity<Op::comb, T>(), 0, T(0));
    return;
  }
  ReducePlan p = make_plan(x, red);
  if constexpr (std::is_same_v<Op, RLogSumExp>) {
    std::vector<T> m(static_cast<size_t>(n_out));
    reduce<RMax, T>(x.as<const T>(), p, m.data(), nullptr);
    for (T& v : m)
      if constexpr (std::is_floating_point_v<T>)
        if (!std::isfinite(v)) v = 0;  // all -inf (or +inf present): no shift needed
    reduce<Op>(x.as<const T>(), p, out, m.data());
  } else {
    reduce<Op, T>(x.as<const T>(), p, out, nullptr);
  }
}

#define DYNRT_DISPATCH_REDUCE(DTYPE, OPNAME, ...)                   \
  switch (DTYPE) {                                                  \
    case DType::kFloat32: { using T = float; __VA_ARGS__; break; }  \
    case DType::kFloat64: { using T = double; __VA_ARGS__; break; } \
    case DType::kInt64: { using T = int64_t; __VA_ARGS__; break; }  \
    case DType::kInt32: { using T = int32_t; __VA_ARGS__; break; }  \
    case DType::kInt8: { using T = int8_t; __VA_ARGS__; break; }    \
    case DType::kUInt8: { using T = uint8_t; __VA_ARGS__; break; }  \
    default: ::dynrt::cpu::unsupported_dtype(OPNAME, DTYPE);        \
  }

template <class Op>
std::unique_ptr<Kernel> make_reduce(const KernelInit& init) {
  ReduceAttrs attrs = ReduceAttrs::parse(init);
  std::vector<int64_t> attr_axes = attrs.axes;
  bool noop = attrs.noop_with_empty_axes;
  std::string name = init.op();
  return make_kernel([attr_axes, noop, name](KernelContext& c) {
    TensorView x = c.in(0);
    std::vector<int64_t> axes = attr_axes;
    if (c.has_in(1)) {
      const TensorView& a = c.in(1);
      if (a.dtype != DType::kInt64) throw Error(ErrorCode::kInvalidInput, name + ": the 'axes' input must be int64");
      axes.assign(a.as<const int64_t>(), a.as<const int64_t>() + a.numel());
    }
    std::vector<bool> red(static_cast<size_t>(x.rank), axes.empty() && !noop);
    for (int64_t ax : axes) {
      if (ax < 0) ax += x.rank;
      if (ax < 0 || ax >= x.rank) throw Error(ErrorCode::kInvalidInput, name + ": axis out of range");
      red[static_cast<size_t>(ax)] = true;
    }
    // The output is already shaped (the schema's shape function, at build
    // time or by the runtime when the axes are known only now).
    TensorView y = c.out(0);
    if (x.dtype == DType::kBool) x.dtype = y.dtype = DType::kUInt8;  // max = or, min = and on 0/1
    DYNRT_DISPATCH_REDUCE(x.dtype, name.c_str(), run_reduce<Op, T>(x, red, y));
  });
}

// ---- ArgMax / ArgMin --------------------------------------------------------

template <bool kMax, bool kLast, class T>
void arg_reduce(const T* x, int64_t outer, int64_t n, int64_t inner, int64_t* out) {
  auto better = [](T v, T best) {
    if constexpr (kMax) return kLast ? v >= best : v > best;
    else return kLast ? v <= best : v < best;
  };
  if (inner == 1) {
    parallel_for(outer, std::max<int64_t>(1, kWork / n), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T* p = x + o * n;
        // Vectorized extreme value, then a scan for its first/last position.
        T m = reduce_run<std::conditional_t<kMax, RMax, RMin>>(p, n, T(0));
        int64_t idx = 0;
        if constexpr (kLast) {
          for (int64_t i = n; i-- > 0;)
            if (p[i] == m) { idx = i; break; }
        } else {
          for (int64_t i = 0; i < n; ++i)
            if (p[i] == m) { idx = i; break; }
        }
        out[o] = idx;
      }
    });
    return;
  }
  int64_t nch = (inner + kLanes - 1) / kLanes;
  parallel_for(outer * nch, std::max<int64_t>(1, kWork / (n * std::min(inner, kLanes))), [&](int64_t b, int64_t e) {
    std::vector<T> best(static_cast<size_t>(std::min(inner, kLanes)));
    for (int64_t t = b; t < e; ++t) {
      int64_t o = t / nch, j0 = (t % nch) * kLanes, len = std::min(kLanes, inner - j0);
      const T* p = x + o * n * inner + j0;
      int64_t* oi = out + o * inner + j0;
      for (int64_t j = 0; j < len; ++j) {
        best[static_cast<size_t>(j)] = p[j];
        oi[j] = 0;
      }
      for (int64_t k = 1; k < n; ++k) {
        const T* q = p + k * inner;
        T* bp = best.data();
#pragma omp simd
        for (int64_t j = 0; j < len; ++j) {
          bool u = better(q[j], bp[j]);
          bp[j] = u ? q[j] : bp[j];
          oi[j] = u ? k : oi[j];
        }
      }
    }
  });
}

std::unique_ptr<Kernel> make_arg(const KernelInit& init) {
  bool is_max = init.op() == "ArgMax";
  ArgReduceAttrs attrs = ArgReduceAttrs::parse(init);
  bool last = attrs.select_last_index;
  int64_t axis_attr = attrs.axis;
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    int64_t axis = axis_attr < 0 ? axis_attr + x.rank : axis_attr;
    int64_t outer = 1, inner = 1, n = x.dim(static_cast<int>(axis));
    for (int i = 0; i < axis; ++i) outer *= x.dim(i);
    for (int i = static_cast<int>(axis) + 1; i < x.rank; ++i) inner *= x.dim(i);
    if (y.numel() == 0) return;
    if (n == 0) throw Error(ErrorCode::kInvalidInput, init.op() + " over an empty axis");
    int64_t* out = y.as<int64_t>();
    DYNRT_DISPATCH_REDUCE(x.dtype, "ArgMax", {
      const T* p = x.as<const T>();
      if (is_max) last ? arg_reduce<true, true>(p, outer, n, inner, out) : arg_reduce<true, false>(p, outer, n, inner, out);
      else last ? arg_reduce<false, true>(p, outer, n, inner, out) : arg_reduce<false, false>(p, outer, n, inner, out);
    });
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_reduction_kernels(KernelRegistry& r) {
  using namespace cpu;
  r.add_kernel("ReduceSum", widen_half(make_reduce<RSum>));
  r.add_kernel("ReduceMean", widen_half(make_reduce<RMean>));
  r.add_kernel("ReduceMax", widen_half(make_reduce<RMax>));
  r.add_kernel("ReduceMin", widen_half(make_reduce<RMin>));
  r.add_kernel("ReduceProd", widen_half(make_reduce<RProd>));
  r.add_kernel("ReduceL1", widen_half(make_reduce<RL1>));
  r.add_kernel("ReduceL2", widen_half(make_reduce<RL2>));
  r.add_kernel("ReduceLogSum", widen_half(make_reduce<RLogSum>));
  r.add_kernel("ReduceLogSumExp", widen_half(make_reduce<RLogSumExp>));
  r.add_kernel("ReduceSumSquare", widen_half(make_reduce<RSumSquare>));
  r.add_kernel("ArgMax", make_arg);
  r.add_kernel("ArgMin", make_arg);
}

}  // namespace dynrt
