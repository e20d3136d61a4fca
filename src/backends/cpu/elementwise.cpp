// CPU kernels for elementwise ops.
#include <cmath>
#include <string>

#include "backends/cpu/half.h"
#include "core/narrow_types.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/vec_math.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"

namespace dynrt::cpu {
namespace {

constexpr int64_t kGrain = 16384;

template <class Fn>
std::unique_ptr<Kernel> unary_float(Fn fn) {
  return make_kernel([fn](KernelContext& c) {
    const TensorView& x = c.in(0);
    const TensorView& y = c.out(0);
    int64_t n = x.numel();
    DYNRT_DISPATCH_FLOAT(x.dtype, "unary op", {
      const T* a = x.as<T>();
      T* o = y.as<T>();
      parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
        if constexpr (std::is_same_v<T, float>) {
          _Pragma("omp simd")  // (inside a macro's argument: no #pragma)
          for (int64_t i = b; i < e; ++i) o[i] = static_cast<T>(fn(a[i]));
        } else {
          for (int64_t i = b; i < e; ++i) o[i] = static_cast<T>(fn(a[i]));
        }
      });
    });
  });
}

template <class Fn>
std::unique_ptr<Kernel> unary_numeric(Fn fn) {
  return make_kernel([fn](KernelContext& c) {
    const TensorView& x = c.in(0);
    const TensorView& y = c.out(0);
    int64_t n = x.numel();
    DYNRT_DISPATCH_NUMERIC(x.dtype, "unary op", {
      const T* a = x.as<T>();
      T* o = y.as<T>();
      parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) o[i] = static_cast<T>(fn(a[i]));
      });
    });
  });
}

// out[i] = fn(a[i], b[i]) with broadcasting; Out is the output element type
// (void = same as input).
template <class Out, class Fn>
void binary_loop(const TensorView& x, const TensorView& y, const TensorView& z, Fn fn) {
  BroadcastStrides bs = make_broadcast(z, {&x, &y});
  DYNRT_DISPATCH_NUMERIC(x.dtype, "binary op", {
    using O = std::conditional_t<std::is_void_v<Out>, T, Out>;
    const T* a = x.as<T>();
    const T* b = y.as<T>();
    O* o = z.as<O>();
    for_each_row<2>(bs, [&](int64_t out_off, const int64_t* offs, int64_t n, const int64_t* st) {
      const T* pa = a + offs[0];
      const T* pb = b + offs[1];
      O* po = o + out_off;
      if (st[0] == 1 && st[1] == 1) {
        for (int64_t i = 0; i < n; ++i) po[i] = static_cast<O>(fn(pa[i], pb[i]));
      } else if (st[0] == 1 && st[1] == 0) {
        T vb = *pb;
        for (int64_t i = 0; i < n; ++i) po[i] = static_cast<O>(fn(pa[i], vb));
      } else {
        for (int64_t i = 0; i < n; ++i) po[i] = static_cast<O>(fn(pa[i * st[0]], pb[i * st[1]]));
      }
    });
  });
}

template <class Out = void, class Fn>
std::unique_ptr<Kernel> binary(Fn fn) {
  return make_kernel([fn](KernelContext& c) { binary_loop<Out>(c.in(0), c.in(1), c.out(0), fn); });
}

// Integer powers wrap modulo 2^bits, as numpy's do (C++ leaves signed
// overflow undefined), by squaring: a huge exponent costs 64 steps, not 2^63.
template <class T>
T int_pow(T base, T exp) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (exp < 0) return base == 1 ? 1 : 0;
    using U = std::make_unsigned_t<T>;
    uint64_t r = 1, b = static_cast<U>(base);
    for (auto e = static_cast<U>(exp); e != 0; e = static_cast<U>(e >> 1)) {
      if (e & 1) r = static_cast<U>(r * b);
      b = static_cast<U>(b * b);
    }
    return static_cast<T>(static_cast<U>(r));
  } else {
    return static_cast<T>(std::pow(static_cast<double>(base), static_cast<double>(exp)));
  }
}

// Elements of a numeric tensor widened to double.
std::vector<double> as_doubles(const TensorView& v) {
  std::vector<double> out(static_cast<size_t>(v.numel()));
  DYNRT_DISPATCH_NUMERIC(v.dtype, "Pow", {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(v.as<const T>()[i]);
  });
  return out;
}

std::unique_ptr<Kernel> make_pow(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.in(1), &z = c.out(0);
    if (x.dtype != y.dtype) {
      // Base and exponent of different types: compute in double, store as the base's type.
      std::vector<double> xd = as_doubles(x), yd = as_doubles(y), zd(static_cast<size_t>(z.numel()));
      TensorView xv = x, yv = y, zv = z;
      xv.dtype = yv.dtype = zv.dtype = DType::kFloat64;
      xv.data = xd.data();
      yv.data = yd.data();
      zv.data = zd.data();
      binary_loop<void>(xv, yv, zv, [](auto a, auto b) { return std::pow(a, b); });
      DYNRT_DISPATCH_NUMERIC(z.dtype, "Pow", {
        T* o = z.as<T>();
        for (size_t i = 0; i < zd.size(); ++i) o[i] = convert<T>(zd[i]);
      });
      return;
    }
    if (x.dtype == DType::kFloat32 || x.dtype == DType::kFloat64)
      binary_loop<void>(x, y, z, [](auto a, auto b) { return std::pow(a, b); });
    else
      binary_loop<void>(x, y, z, [](auto a, auto b) { return int_pow(a, b); });
  });
}

// BitShift (opset 11; signed types since 28): shifts of the bit width or more
// give 0 (or -1 for a negative value shifted right), like the reference.
std::unique_ptr<Kernel> make_bitshift(const KernelInit& init) {
  bool left = init.attr_string("direction", "") == "LEFT";
  return binary([left](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_integral_v<T>) {
      using U = std::make_unsigned_t<T>;
      constexpr int64_t bits = 8 * sizeof(T);
      auto sh = static_cast<int64_t>(b);
      if (sh < 0 || sh >= bits) {
        if constexpr (std::is_signed_v<T>)
          if (!left && a < 0) return T(-1);
        return T(0);
      }
      if (left) return static_cast<T>(static_cast<U>(static_cast<U>(a) << sh));
      return static_cast<T>(a >> sh);
    } else {
      return a;  // inference admits integer types only
    }
  });
}

template <class Fn>
std::unique_ptr<Kernel> bitwise(Fn fn) {
  return binary([fn](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_integral_v<T>) return static_cast<T>(fn(a, b));
    else return a;  // inference admits integer types only
  });
}

std::unique_ptr<Kernel> make_mod(const KernelInit& init) {
  bool fmod = ModAttrs::parse(init).fmod;
  return binary([fmod](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_floating_point_v<T>) {
      T r = std::fmod(a, b);
      if (!fmod && r != 0 && ((r < 0) != (b < 0))) r += b;
      return r;
    } else {
      if (b == 0) return T(0);
      if constexpr (std::is_signed_v<T>)
        if (b == T(-1)) return T(0);  // the most negative value % -1 traps
      T r = static_cast<T>(a % b);
      if constexpr (std::is_signed_v<T>)
        if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
      return r;
    }
  });
}

std::unique_ptr<Kernel> make_div(const KernelInit&) {
  return binary([](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_integral_v<T>) {
      if constexpr (std::is_signed_v<T>)
        if (b == T(-1)) return wrap_neg(a);  // the most negative value / -1 traps
      return b == 0 ? T(0) : static_cast<T>(a / b);
    }
    else return a / b;
  });
}

// Max / Min / Sum / Mean over any number of inputs.
std::unique_ptr<Kernel> make_variadic(const KernelInit& init) {
  std::string op = init.op();
  return make_kernel([op](KernelContext& c) {
    const TensorView& z = c.out(0);
    auto fold = [&](auto fn) {
      // out = broadcast(in0); then out = fn(out, in_i).
      binary_loop<void>(c.in(0), c.in(0), z, [](auto a, auto) { return a; });
      for (size_t i = 1; i < c.inputs.size(); ++i) binary_loop<void>(z, c.in(i), z, fn);
    };
    if (op == "Max") fold([](auto a, auto b) { return a > b || a != a ? a : b; });
    else if (op == "Min") fold([](auto a, auto b) { return a < b || a != a ? a : b; });
    else fold([](auto a, auto b) { return wrap_add(a, static_cast<decltype(a)>(b)); });
    if (op == "Mean") {
      double k = static_cast<double>(c.inputs.size());
      DYNRT_DISPATCH_FLOAT(z.dtype, "Mean", {
        T* o = z.as<T>();
        for (int64_t i = 0; i < z.numel(); ++i) o[i] = static_cast<T>(o[i] / k);
      });
    }
  });
}

template <class Fn>
std::unique_ptr<Kernel> compare(Fn fn) {
  return binary<bool>(fn);
}

// Copy elements of `size` bytes, selecting by cond, with broadcasting.
std::unique_ptr<Kernel> make_where(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    const TensorView &cond = c.in(0), &x = c.in(1), &y = c.in(2), &z = c.out(0);
    BroadcastStrides bs = make_broadcast(z, {&cond, &x, &y});
    size_t es = dtype_size(z.dtype);
    const auto* pc = cond.as<const bool>();
    const auto* px = static_cast<const std::byte*>(x.data);
    const auto* py = static_cast<const std::byte*>(y.data);
    auto* pz = static_cast<std::byte*>(z.data);
    for_each_row<3>(bs, [&](int64_t out_off, const int64_t* offs, int64_t n, const int64_t* st) {
      for (int64_t i = 0; i < n; ++i) {
        bool t = pc[offs[0] + i * st[0]];
        const std::byte* src = t ? px + (offs[1] + i * st[1]) * static_cast<int64_t>(es)
                                 : py + (offs[2] + i * st[2]) * static_cast<int64_t>(es);
        std::memcpy(pz + (out_off + i) * static_cast<int64_t>(es), src, es);
      }
    });
  });
}

template <class S, class D>
void cast_loop(const S* s, D* d, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      if constexpr (std::is_same_v<D, bool>) d[i] = s[i] != S(0);
      else d[i] = convert<D>(s[i]);
    }
  });
}

#define DYNRT_DISPATCH_CASTABLE(DTYPE, ALIAS, ...)                         \
  switch (DTYPE) {                                                         \
    case DType::kFloat32: { using ALIAS = float; __VA_ARGS__; break; }     \
    case DType::kFloat64: { using ALIAS = double; __VA_ARGS__; break; }    \
    case DType::kInt64: { using ALIAS = int64_t; __VA_ARGS__; break; }     \
    case DType::kInt32: { using ALIAS = int32_t; __VA_ARGS__; break; }     \
    case DType::kInt16: { using ALIAS = int16_t; __VA_ARGS__; break; }     \
    case DType::kInt8: { using ALIAS = int8_t; __VA_ARGS__; break; }       \
    case DType::kUInt8: { using ALIAS = uint8_t; __VA_ARGS__; break; }     \
    case DType::kUInt16: { using ALIAS = uint16_t; __VA_ARGS__; break; }   \
    case DType::kUInt32: { using ALIAS = uint32_t; __VA_ARGS__; break; }   \
    case DType::kUInt64: { using ALIAS = uint64_t; __VA_ARGS__; break; }   \
    case DType::kBool: { using ALIAS = bool; __VA_ARGS__; break; }         \
    default: unsupported_dtype("Cast", DTYPE);                             \
  }

// Calls f(i, value) for each element of x: its own C++ type for the
// ordinary types, int64_t for the narrow integers, double for the narrow floats.
template <class F>
void for_each_source(const TensorView& x, F&& f) {
  const int64_t n = x.numel();
  if (narrow::is_narrow(x.dtype)) {
    const auto* p = x.as<const uint8_t>();
    if (narrow::is_narrow_int(x.dtype))
      for (int64_t i = 0; i < n; ++i) f(i, narrow::int_decode(x.dtype, p[i]));
    else
      for (int64_t i = 0; i < n; ++i) f(i, narrow::to_double(x.dtype, p[i]));
    return;
  }
  DYNRT_DISPATCH_CASTABLE(x.dtype, S, {
    const S* p = x.as<const S>();
    for (int64_t i = 0; i < n; ++i) f(i, p[i]);
  });
}

// Casts from or to a narrow type (core/narrow_types.h), element by element.
void cast_narrow(const TensorView& x, const TensorView& y, const CastAttrs& attrs) {
  const DType to = y.dtype;
  const narrow::RoundMode mode = attrs.round_mode == "down"      ? narrow::RoundMode::kDown
                                 : attrs.round_mode == "nearest" ? narrow::RoundMode::kNearest
                                                                 : narrow::RoundMode::kUp;
  if (narrow::is_narrow(to)) {
    auto* out = y.as<uint8_t>();
    if (narrow::is_narrow_int(to)) {
      for_each_source(x, [&](int64_t i, auto v) {
        using V = decltype(v);
        if constexpr (std::is_floating_point_v<V>) out[i] = narrow::int_encode_float(to, static_cast<double>(v));
        else out[i] = narrow::int_encode_wrap(to, static_cast<int64_t>(v));
      });
    } else if (to == DType::kFloat8E8M0) {
      for_each_source(x, [&](int64_t i, auto v) { out[i] = narrow::e8m0_encode(static_cast<float>(v), attrs.saturate, mode); });
    } else {
      const narrow::FloatFormat f = narrow::float_format(to);
      for_each_source(x, [&](int64_t i, auto v) { out[i] = narrow::float_encode(f, static_cast<double>(v), attrs.saturate); });
    }
    return;
  }
  DYNRT_DISPATCH_CASTABLE(to, D, {
    D* out = y.as<D>();
    for_each_source(x, [&](int64_t i, auto v) {
      if constexpr (std::is_same_v<D, bool>) out[i] = v != decltype(v)(0);
      else out[i] = convert<D>(v);
    });
  });
}

std::unique_ptr<Kernel> make_cast(const KernelInit& init) {
  CastAttrs attrs = CastAttrs::parse(init);
  return make_kernel([attrs](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    if (narrow::is_narrow(x.dtype) || narrow::is_narrow(y.dtype)) return cast_narrow(x, y, attrs);
    DYNRT_DISPATCH_CASTABLE(x.dtype, S, {
      DYNRT_DISPATCH_CASTABLE(y.dtype, D, { cast_loop(x.as<const S>(), y.as<D>(), x.numel()); });
    });
  });
}

std::unique_ptr<Kernel> make_clip(const KernelInit& init) {
  ActivationAttrs attrs = ActivationAttrs::parse(init, init.op());
  float amin = attrs.min, amax = attrs.max;
  return make_kernel([amin, amax](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    DYNRT_DISPATCH_NUMERIC(x.dtype, "Clip", {
      T lo = c.has_in(1) ? *c.in(1).as<const T>()
                         : (std::is_floating_point_v<T> ? static_cast<T>(amin) : std::numeric_limits<T>::lowest());
      T hi = c.has_in(2) ? *c.in(2).as<const T>()
                         : (std::is_floating_point_v<T> ? static_cast<T>(amax) : std::numeric_limits<T>::max());
      const T* a = x.as<const T>();
      T* o = y.as<T>();
      parallel_for(x.numel(), kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          T v = a[i] < lo ? lo : a[i];  // min > max gives max, like numpy.clip; NaN stays
          o[i] = v > hi ? hi : v;
        }
      });
    });
  });
}

std::unique_ptr<Kernel> make_identity(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    if (c.out(0).data != c.in(0).data) std::memcpy(c.out(0).data, c.in(0).data, c.in(0).nbytes());
  });
}

std::unique_ptr<Kernel> make_is(const KernelInit& init) {
  bool nan = init.op() == "IsNaN";
  ActivationAttrs attrs = ActivationAttrs::parse(init, init.op());
  bool pos = attrs.detect_positive, neg = attrs.detect_negative;
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    DYNRT_DISPATCH_FLOAT(x.dtype, "IsNaN", {
      const T* a = x.as<const T>();
      bool* o = y.as<bool>();
      for (int64_t i = 0; i < x.numel(); ++i)
        o[i] = nan ? std::isnan(a[i]) : (std::isinf(a[i]) && ((a[i] > 0 && pos) || (a[i] < 0 && neg)));
    });
  });
}

std::unique_ptr<Kernel> make_unary(const KernelInit& init) {
  const std::string& op = init.op();
  ActivationAttrs attrs = ActivationAttrs::parse(init, op);
  float alpha = attrs.alpha, beta = attrs.beta;
  if (op == "Relu") return unary_numeric([](auto v) { return v > 0 ? v : decltype(v)(0); });
  // float32 through vec_math.h's vectorizable forms (libm's are calls, one element at a time).
  if (op == "Sigmoid")
    return unary_float([](auto v) {
      if constexpr (std::is_same_v<decltype(v), float>) return vsigmoid(v);
      else return 1 / (1 + std::exp(-v));
    });
  if (op == "Tanh")
    return unary_float([](auto v) {
      if constexpr (std::is_same_v<decltype(v), float>) return vtanh(v);
      else return std::tanh(v);
    });
  if (op == "Erf") return unary_float([](auto v) { return std::erf(v); });
  if (op == "Exp") return unary_float([](auto v) { return std::exp(v); });
  if (op == "Log") return unary_float([](auto v) { return std::log(v); });
  if (op == "Sqrt") return unary_float([](auto v) { return std::sqrt(v); });
  if (op == "Reciprocal") return unary_float([](auto v) { return 1 / v; });
  if (op == "Floor") return unary_float([](auto v) { return std::floor(v); });
  if (op == "Ceil") return unary_float([](auto v) { return std::ceil(v); });
  if (op == "Round") return unary_float([](auto v) { return std::nearbyint(v); });
  if (op == "Sin") return unary_float([](auto v) { return std::sin(v); });
  if (op == "Cos") return unary_float([](auto v) { return std::cos(v); });
  if (op == "Tan") return unary_float([](auto v) { return std::tan(v); });
  if (op == "Asin") return unary_float([](auto v) { return std::asin(v); });
  if (op == "Acos") return unary_float([](auto v) { return std::acos(v); });
  if (op == "Atan") return unary_float([](auto v) { return std::atan(v); });
  if (op == "Sinh") return unary_float([](auto v) { return std::sinh(v); });
  if (op == "Cosh") return unary_float([](auto v) { return std::cosh(v); });
  if (op == "Asinh") return unary_float([](auto v) { return std::asinh(v); });
  if (op == "Acosh") return unary_float([](auto v) { return std::acosh(v); });
  if (op == "Atanh") return unary_float([](auto v) { return std::atanh(v); });
  if (op == "Softsign") return unary_float([](auto v) { return v / (1 + std::abs(v)); });
  if (op == "Softplus") return unary_float([](auto v) { return v > 20 ? v : std::log1p(std::exp(v)); });
  if (op == "Mish") return unary_float([](auto v) { return v * std::tanh(std::log1p(std::exp(v))); });
  if (op == "Abs") return unary_numeric([](auto v) { if constexpr (std::is_unsigned_v<decltype(v)>) return v; else return v < 0 ? wrap_neg(v) : v; });
  if (op == "Neg") return unary_numeric([](auto v) { return wrap_neg(v); });
  if (op == "Sign") return unary_numeric([](auto v) { return static_cast<decltype(v)>((v > 0) - (v < 0)); });
  if (op == "Gelu") {
    if (attrs.tanh_gelu)
      return unary_float([](auto v) {
        using T = decltype(v);
        return T(0.5) * v * (1 + std::tanh(T(0.7978845608028654) * (v + T(0.044715) * v * v * v)));
      });
    return unary_float([](auto v) { return decltype(v)(0.5) * v * (1 + std::erf(v * decltype(v)(0.7071067811865476))); });
  }
  if (op == "HardSigmoid") {
    float a = alpha, b = beta;
    return unary_float([a, b](auto v) { return std::max<decltype(v)>(0, std::min<decltype(v)>(1, a * v + b)); });
  }
  if (op == "HardSwish")
    return unary_float([](auto v) { return v * std::max<decltype(v)>(0, std::min<decltype(v)>(1, v / 6 + decltype(v)(0.5))); });
  if (op == "LeakyRelu") {
    float a = alpha;
    return unary_float([a](auto v) { return v >= 0 ? v : v * a; });
  }
  if (op == "Elu") {
    float a = alpha;
    return unary_float([a](auto v) { return v >= 0 ? v : a * (std::exp(v) - 1); });
  }
  if (op == "Celu") {
    float a = alpha;
    return unary_float([a](auto v) { return std::max<decltype(v)>(0, v) + std::min<decltype(v)>(0, a * (std::exp(v / a) - 1)); });
  }
  if (op == "Selu") {
    float a = alpha, g = attrs.gamma;
    return unary_float([a, g](auto v) { return v > 0 ? g * v : g * (a * std::exp(v) - a); });
  }
  if (op == "Swish") {
    float a = alpha;
    return unary_float([a](auto v) { return v / (1 + std::exp(-a * v)); });
  }
  if (op == "Shrink") {
    float l = attrs.lambd, b = attrs.bias;
    return unary_numeric([l, b](auto v) {
      using T = decltype(v);
      auto d = static_cast<double>(v);
      return static_cast<T>(d < -l ? d + b : d > l ? d - b : 0.0);
    });
  }
  if (op == "BitwiseNot")
    return unary_numeric([](auto v) {
      using T = decltype(v);
      if constexpr (std::is_integral_v<T>) return static_cast<T>(~v);
      else return v;  // inference admits integer types only
    });
  if (op == "ThresholdedRelu") {
    float a = alpha;
    return unary_float([a](auto v) { return v > a ? v : decltype(v)(0); });
  }
  (void)alpha;
  (void)beta;
  init.unsupported("no CPU kernel");
}

}  // namespace

}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_elementwise_misc_kernels(KernelRegistry& r);  // elementwise_misc.cpp

void register_cpu_elementwise_kernels(KernelRegistry& r) {
  using namespace cpu;
  register_cpu_elementwise_misc_kernels(r);
  // float16/bfloat16 tensors are computed in float32 (see half.h).
  auto add = [&r](const char* op, KernelFactory f) { r.add_kernel(op, widen_half(std::move(f))); };
  for (const char* op : {"Relu", "Sigmoid", "Tanh", "Erf", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil",
                         "Round", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh",
                         "Atanh", "Gelu", "HardSigmoid", "HardSwish", "LeakyRelu", "Elu", "Selu", "Celu",
                         "Softplus", "Softsign", "Mish", "ThresholdedRelu", "Abs", "Neg", "Sign", "Swish",
                         "Shrink", "BitwiseNot"})
    add(op, make_unary);
  r.add_kernel("Identity", make_identity);
  // Integers wrap like numpy's (kernel_util.h wrap_*).
  add("Add", [](const KernelInit&) { return binary([](auto a, auto b) { return wrap_add(a, static_cast<decltype(a)>(b)); }); });
  add("Sub", [](const KernelInit&) { return binary([](auto a, auto b) { return wrap_sub(a, static_cast<decltype(a)>(b)); }); });
  add("Mul", [](const KernelInit&) { return binary([](auto a, auto b) { return wrap_mul(a, static_cast<decltype(a)>(b)); }); });
  add("Div", make_div);
  add("Pow", make_pow);
  add("Mod", make_mod);
  add("PRelu", [](const KernelInit&) { return binary([](auto x, auto s) { return x < 0 ? wrap_mul(x, static_cast<decltype(x)>(s)) : x; }); });
  add("Equal", [](const KernelInit&) { return compare([](auto a, auto b) { return a == b; }); });
  add("Less", [](const KernelInit&) { return compare([](auto a, auto b) { return a < b; }); });
  add("Greater", [](const KernelInit&) { return compare([](auto a, auto b) { return a > b; }); });
  add("LessOrEqual", [](const KernelInit&) { return compare([](auto a, auto b) { return a <= b; }); });
  add("GreaterOrEqual", [](const KernelInit&) { return compare([](auto a, auto b) { return a >= b; }); });
  // Bool tensors are one byte of 0/1; uint8 arithmetic implements the logic ops.
  auto logic = [](auto fn) {
    return [fn](const KernelInit&) {
      return make_kernel([fn](KernelContext& c) {
        TensorView a = c.in(0), b = c.in(1), o = c.out(0);
        a.dtype = b.dtype = o.dtype = DType::kUInt8;
        binary_loop<void>(a, b, o, fn);
      });
    };
  };
  r.add_kernel("And", logic([](auto a, auto b) { return static_cast<uint8_t>(a && b); }));
  r.add_kernel("Or", logic([](auto a, auto b) { return static_cast<uint8_t>(a || b); }));
  r.add_kernel("Xor", logic([](auto a, auto b) { return static_cast<uint8_t>((a != 0) != (b != 0)); }));
  r.add_kernel("Not", [](const KernelInit&) {
    return make_kernel([](KernelContext& c) {
      const auto* a = c.in(0).as<const uint8_t>();
      auto* o = c.out(0).as<uint8_t>();
      for (int64_t i = 0; i < c.in(0).numel(); ++i) o[i] = !a[i];
    });
  });
  for (const char* op : {"Max", "Min", "Sum", "Mean"}) add(op, make_variadic);
  add("BitShift", make_bitshift);
  add("BitwiseAnd", [](const KernelInit&) { return bitwise([](auto a, auto b) { return a & b; }); });
  add("BitwiseOr", [](const KernelInit&) { return bitwise([](auto a, auto b) { return a | b; }); });
  add("BitwiseXor", [](const KernelInit&) { return bitwise([](auto a, auto b) { return a ^ b; }); });
  add("IsNaN", make_is);
  add("IsInf", make_is);
  r.add_kernel("Where", make_where);
  add("Cast", make_cast);
  add("CastLike", make_cast);
  add("Clip", make_clip);
}

}  // namespace dynrt
