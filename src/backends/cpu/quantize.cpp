// CPU kernels for the quantization ops. Quantize rounds half to even in the
// input's precision and saturates; integer matmuls and convolutions
// accumulate in int32 (plain loops: these ops are rare in the models dynrt
// targets, and correctness matters more than speed here).
#include <cmath>
#include <limits>
#include <vector>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/half.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "core/narrow_types.h"
#include "ops/attrs.h"
#include "ops/nn_shape.h"

namespace dynrt::cpu {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

std::vector<double> as_double(const TensorView& v) {
  std::vector<double> out(sz(v.numel()));
  if (narrow::is_narrow(v.dtype)) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = narrow::to_double(v.dtype, v.as<const uint8_t>()[i]);
    return out;
  }
  if (is_half(v.dtype)) {
    std::vector<float> f(out.size());
    to_float(v, f.data());
    for (size_t i = 0; i < out.size(); ++i) out[i] = f[i];
    return out;
  }
  DYNRT_DISPATCH_NUMERIC(v.dtype, "quantize", {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(v.as<const T>()[i]);
  });
  return out;
}

std::vector<int32_t> as_i32(const TensorView& v) {
  std::vector<int32_t> out(sz(v.numel()));
  DYNRT_DISPATCH_NUMERIC(v.dtype, "quantize", {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int32_t>(v.as<const T>()[i]);
  });
  return out;
}

// Which scale / zero-point element applies to input element i.
struct ParamIndex {
  int64_t numel = 1, axis = 0, block = 0, inner = 1, dim = 1;
  std::vector<int64_t> xdims, pdims;
  int64_t operator()(int64_t i) const {
    if (numel == 1) return 0;
    if (block == 0) return (i / inner) % dim;
    int64_t off = 0, stride = 1;
    for (auto k = static_cast<int64_t>(xdims.size()) - 1; k >= 0; --k) {
      int64_t c = i % xdims[sz(k)];
      i /= xdims[sz(k)];
      if (k == axis) c /= block;
      off += c * stride;
      stride *= pdims[sz(k)];
    }
    return off;
  }
};

ParamIndex param_index(const TensorView& x, const TensorView& p, int64_t axis_attr, int64_t block) {
  ParamIndex pi;
  pi.numel = p.numel();
  if (pi.numel == 1 || x.rank == 0) return pi;
  pi.axis = axis_attr < 0 ? axis_attr + x.rank : axis_attr;
  // Inference leaves a 1-D length known only at run time to this check.
  if (pi.axis < 0 || pi.axis >= x.rank)
    throw Error(ErrorCode::kInvalidInput, "a scale or zero point of " + std::to_string(pi.numel) +
                                              " elements needs an axis of the input, and axis " +
                                              std::to_string(axis_attr) + " is out of range for rank " +
                                              std::to_string(x.rank));
  if (block == 0 && pi.numel != x.dim(static_cast<int>(pi.axis)))
    throw Error(ErrorCode::kInvalidInput, "a scale or zero point of " + std::to_string(pi.numel) +
                                              " elements: per tensor takes 1, per axis " +
                                              std::to_string(x.dim(static_cast<int>(pi.axis))) + " (axis " +
                                              std::to_string(pi.axis) + ")");
  pi.block = block;
  pi.inner = prod(x.dims.data(), static_cast<int>(pi.axis) + 1, x.rank);
  pi.dim = x.dim(static_cast<int>(pi.axis));
  pi.xdims.assign(x.dims.begin(), x.dims.begin() + x.rank);
  pi.pdims.assign(p.dims.begin(), p.dims.begin() + p.rank);
  return pi;
}

// Store rounded, saturated values into an 8/16-bit integer tensor.
template <class F>
void store_quant(const TensorView& y, int64_t i, F v) {
  if (narrow::is_narrow_int(y.dtype)) {
    y.as<uint8_t>()[i] = narrow::int_encode_saturate(y.dtype, static_cast<double>(v));
    return;
  }
  DYNRT_DISPATCH_NUMERIC(y.dtype, "QuantizeLinear", {
    F lo = static_cast<F>(std::numeric_limits<T>::lowest()), hi = static_cast<F>(std::numeric_limits<T>::max());
    y.as<T>()[i] = static_cast<T>(std::clamp(v, lo, hi));
  });
}

template <class F>
void quantize(KernelContext& c, int64_t axis, int64_t block, bool saturate) {
  const TensorView &x = c.in(0), &s = c.in(1), &y = c.out(0);
  std::vector<double> xd = as_double(x), sd = as_double(s), zd;
  if (c.has_in(2)) zd = as_double(c.in(2));
  ParamIndex pi = param_index(x, s, axis, block);
  if (narrow::is_narrow_float(y.dtype)) {  // float8 / float4: x / scale + zero point, rounded by the cast
    const narrow::FloatFormat f = narrow::float_format(y.dtype);
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t k = pi(i);
      F q = static_cast<F>(xd[sz(i)]) / static_cast<F>(sd[sz(k)]);
      if (!zd.empty()) q += static_cast<F>(zd[sz(k)]);
      y.as<uint8_t>()[i] = narrow::float_encode(f, static_cast<double>(q), saturate);
    }
    return;
  }
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t k = pi(i);
    F q = std::nearbyint(static_cast<F>(xd[sz(i)]) / static_cast<F>(sd[sz(k)]));
    if (!zd.empty()) q += static_cast<F>(zd[sz(k)]);
    store_quant<F>(y, i, q);
  }
}

std::unique_ptr<Kernel> make_quantize(const KernelInit& init) {
  QuantizeAttrs attrs = QuantizeAttrs::parse(init);
  int64_t axis = attrs.axis, block = attrs.block_size;
  bool saturate = attrs.saturate;
  return make_kernel([=](KernelContext& c) {
    if (c.in(0).dtype == DType::kFloat64) quantize<double>(c, axis, block, saturate);
    else quantize<float>(c, axis, block, saturate);
  });
}

std::unique_ptr<Kernel> make_dequantize(const KernelInit& init) {
  QuantizeAttrs attrs = QuantizeAttrs::parse(init);
  int64_t axis = attrs.axis, block = attrs.block_size;
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &s = c.in(1), &y = c.out(0);
    std::vector<double> xd = as_double(x), sd = as_double(s), zd;
    if (c.has_in(2)) zd = as_double(c.in(2));
    ParamIndex pi = param_index(x, s, axis, block);
    std::vector<float> out(sz(x.numel()));
    if (y.dtype == DType::kFloat64) {
      for (int64_t i = 0; i < x.numel(); ++i) {
        int64_t k = pi(i);
        y.as<double>()[i] = (xd[sz(i)] - (zd.empty() ? 0.0 : zd[sz(k)])) * sd[sz(k)];
      }
      return;
    }
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t k = pi(i);
      out[sz(i)] = (static_cast<float>(xd[sz(i)]) - (zd.empty() ? 0.f : static_cast<float>(zd[sz(k)]))) *
                   static_cast<float>(sd[sz(k)]);
    }
    if (y.dtype == DType::kFloat32) std::copy(out.begin(), out.end(), y.as<float>());
    else from_float(out.data(), y);
  });
}

std::unique_ptr<Kernel> make_dynamic_quantize(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    const TensorView& x = c.in(0);
    const float* p = x.as<const float>();
    float mx = 0, mn = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      mx = std::max(mx, p[i]);
      mn = std::min(mn, p[i]);
    }
    float scale = (mx == mn ? 1.f : mx - mn) / 255.f;
    float zp = std::nearbyint(std::clamp(0.f - mn / scale, 0.f, 255.f));
    auto* y = c.out(0).as<uint8_t>();
    for (int64_t i = 0; i < x.numel(); ++i) y[i] = static_cast<uint8_t>(std::clamp(std::nearbyint(p[i] / scale) + zp, 0.f, 255.f));
    if (c.outputs.size() > 1 && c.out(1).data) *c.out(1).as<float>() = scale;
    if (c.outputs.size() > 2 && c.out(2).data) *c.out(2).as<uint8_t>() = static_cast<uint8_t>(zp);
  });
}

// Batched int32 matmul with numpy broadcasting: A [.., M, K], B [.., K, N]
// (1-D operands promoted), zero points per tensor, per row of A (M values)
// or per column of B (N values).
std::vector<int32_t> int_matmul(const TensorView& A, const TensorView& B, const std::vector<int32_t>& azp,
                                const std::vector<int32_t>& bzp, const TensorView& Y) {
  std::vector<int32_t> a = as_i32(A), b = as_i32(B);
  std::vector<int64_t> ad(A.dims.begin(), A.dims.begin() + A.rank), bd(B.dims.begin(), B.dims.begin() + B.rank);
  if (ad.size() == 1) ad.insert(ad.begin(), 1);
  if (bd.size() == 1) bd.push_back(1);
  int64_t M = ad[ad.size() - 2], K = ad.back(), N = bd.back();
  size_t nb = std::max(ad.size(), bd.size()) - 2;
  std::vector<int64_t> abatch(nb, 1), bbatch(nb, 1), obatch(nb, 1);
  for (size_t i = 0; i < ad.size() - 2; ++i) abatch[nb - (ad.size() - 2) + i] = ad[i];
  for (size_t i = 0; i < bd.size() - 2; ++i) bbatch[nb - (bd.size() - 2) + i] = bd[i];
  int64_t batches = 1;
  for (size_t i = 0; i < nb; ++i) batches *= (obatch[i] = std::max(abatch[i], bbatch[i]));
  std::vector<int32_t> out(sz(batches * M * N));
  for (int64_t bt = 0; bt < batches; ++bt) {
    int64_t rem = bt, ao = 0, bo = 0, as = 1, bs = 1;
    for (auto i = static_cast<int64_t>(nb) - 1; i >= 0; --i) {
      int64_t idx = rem % obatch[sz(i)];
      rem /= obatch[sz(i)];
      ao += (abatch[sz(i)] == 1 ? 0 : idx) * as;
      bo += (bbatch[sz(i)] == 1 ? 0 : idx) * bs;
      as *= abatch[sz(i)];
      bs *= bbatch[sz(i)];
    }
    const int32_t* pa = a.data() + ao * M * K;
    const int32_t* pb = b.data() + bo * K * N;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        int32_t za = azp.empty() ? 0 : azp[azp.size() == 1 ? 0 : sz(m)];
        int32_t zb = bzp.empty() ? 0 : bzp[bzp.size() == 1 ? 0 : sz(n)];
        int32_t acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += (pa[m * K + k] - za) * (pb[k * N + n] - zb);
        out[sz((bt * M + m) * N + n)] = acc;
      }
  }
  if (out.size() != static_cast<size_t>(Y.numel())) throw Error(ErrorCode::kInternal, "integer matmul: output size");
  return out;
}

std::unique_ptr<Kernel> make_matmul_integer(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    std::vector<int32_t> azp = c.has_in(2) ? as_i32(c.in(2)) : std::vector<int32_t>{};
    std::vector<int32_t> bzp = c.has_in(3) ? as_i32(c.in(3)) : std::vector<int32_t>{};
    std::vector<int32_t> r = int_matmul(c.in(0), c.in(1), azp, bzp, c.out(0));
    std::copy(r.begin(), r.end(), c.out(0).as<int32_t>());
  });
}

// Requantize int32 results: y = saturate(rint(acc * scale[k]) + zp).
void requantize(const std::vector<int32_t>& acc, const std::vector<double>& scale, int64_t per, double zp,
                const TensorView& y) {
  for (size_t i = 0; i < acc.size(); ++i) {
    double s = scale.size() == 1 ? scale[0] : scale[(i / sz(per)) % scale.size()];
    double v = std::nearbyint(static_cast<double>(static_cast<float>(acc[i]) * static_cast<float>(s))) + zp;
    store_quant<double>(y, static_cast<int64_t>(i), v);
  }
}

std::unique_ptr<Kernel> make_qlinear_matmul(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    std::vector<int32_t> azp = c.has_in(2) ? as_i32(c.in(2)) : std::vector<int32_t>{};
    std::vector<int32_t> bzp = c.has_in(5) ? as_i32(c.in(5)) : std::vector<int32_t>{};
    std::vector<int32_t> r = int_matmul(c.in(0), c.in(3), azp, bzp, c.out(0));
    std::vector<double> as = as_double(c.in(1)), bs = as_double(c.in(4)), ys = as_double(c.in(6));
    // Scale in the scales' own precision (float16 scales round like the reference).
    std::vector<double> scale(bs.size());
    for (size_t i = 0; i < bs.size(); ++i) scale[i] = static_cast<float>(as[0] * bs[i] / ys[0]);
    double zp = c.has_in(7) ? as_double(c.in(7))[0] : 0.0;
    requantize(r, scale, 1, zp, c.out(0));
  });
}

// Direct integer convolution (any spatial rank, groups, pads, strides, dilations).
// `p` holds the attributes read once per engine; the kernel dims come from W.
std::vector<int32_t> int_conv(nnshape::Spatial p, int64_t group, const TensorView& X, const TensorView& W, int32_t xzp,
                              const std::vector<int32_t>& wzp, const TensorView& Y) {
  int n = X.rank - 2;
  std::vector<int64_t> kernel(W.dims.begin() + 2, W.dims.begin() + W.rank);
  p.kernel = kernel;
  std::vector<int32_t> x = as_i32(X), w = as_i32(W);
  int64_t N = X.dim(0), C = X.dim(1), M = W.dim(0), cg = C / group, mg = M / group;
  std::vector<int64_t> in(X.dims.begin() + 2, X.dims.begin() + X.rank), out(Y.dims.begin() + 2, Y.dims.begin() + Y.rank);
  std::vector<int64_t> pad(sz(n));
  for (int i = 0; i < n; ++i) {
    int64_t e;
    nnshape::forward_pads(p, sz(i), in[sz(i)], out[sz(i)], pad[sz(i)], e);
  }
  int64_t in_sp = prod(in.data(), 0, n), out_sp = prod(out.data(), 0, n), k_sp = prod(kernel.data(), 0, n);
  std::vector<int32_t> y(sz(N * M * out_sp));
  for (int64_t b = 0; b < N; ++b)
    for (int64_t m = 0; m < M; ++m) {
      int64_t g = m / mg;
      int32_t zw = wzp.empty() ? 0 : wzp[wzp.size() == 1 ? 0 : sz(m)];
      for (int64_t o = 0; o < out_sp; ++o) {
        int64_t oi[8], rem = o;
        for (int i = n - 1; i >= 0; --i) {
          oi[i] = rem % out[sz(i)];
          rem /= out[sz(i)];
        }
        int32_t acc = 0;
        for (int64_t cc = 0; cc < cg; ++cc) {
          const int32_t* xs = x.data() + (b * C + g * cg + cc) * in_sp;
          const int32_t* ws = w.data() + (m * cg + cc) * k_sp;
          for (int64_t k = 0; k < k_sp; ++k) {
            int64_t kr = k, off = 0, stride = 1;
            bool inside = true;
            int64_t ki[8];
            for (int i = n - 1; i >= 0; --i) {
              ki[i] = kr % kernel[sz(i)];
              kr /= kernel[sz(i)];
            }
            for (int i = n - 1; i >= 0 && inside; --i) {
              int64_t pos = oi[i] * p.strides[sz(i)] - pad[sz(i)] + ki[i] * p.dilations[sz(i)];
              inside = pos >= 0 && pos < in[sz(i)];
              off += pos * stride;
              stride *= in[sz(i)];
            }
            if (inside) acc += (xs[off] - xzp) * (ws[k] - zw);
          }
        }
        y[sz((b * M + m) * out_sp + o)] = acc;
      }
    }
  return y;
}

nnshape::Spatial conv_attrs(const KernelInit& init) {
  size_t n = init.input_rank(0) - 2;
  return nnshape::read_spatial(init, n, std::vector<int64_t>(n, 1));
}

std::unique_ptr<Kernel> make_conv_integer(const KernelInit& init) {
  nnshape::Spatial p = conv_attrs(init);
  int64_t group = ConvAttrs::parse(init, p.n).group;
  return make_kernel([p, group](KernelContext& c) {
    int32_t xzp = c.has_in(2) ? as_i32(c.in(2))[0] : 0;
    std::vector<int32_t> wzp = c.has_in(3) ? as_i32(c.in(3)) : std::vector<int32_t>{};
    std::vector<int32_t> r = int_conv(p, group, c.in(0), c.in(1), xzp, wzp, c.out(0));
    std::copy(r.begin(), r.end(), c.out(0).as<int32_t>());
  });
}

std::unique_ptr<Kernel> make_qlinear_conv(const KernelInit& init) {
  nnshape::Spatial p = conv_attrs(init);
  int64_t group = ConvAttrs::parse(init, p.n).group;
  return make_kernel([p, group](KernelContext& c) {
    int32_t xzp = as_i32(c.in(2))[0];
    std::vector<int32_t> wzp = as_i32(c.in(5));
    std::vector<int32_t> r = int_conv(p, group, c.in(0), c.in(3), xzp, wzp, c.out(0));
    const TensorView& y = c.out(0);
    int64_t M = y.dim(1), sp = prod(y.dims.data(), 2, y.rank);
    if (c.has_in(8)) {
      std::vector<int32_t> bias = as_i32(c.in(8));
      for (size_t i = 0; i < r.size(); ++i) r[i] += bias[(i / sz(sp)) % sz(M)];
    }
    std::vector<double> xs = as_double(c.in(1)), ws = as_double(c.in(4)), ys = as_double(c.in(6));
    std::vector<double> scale(ws.size());
    for (size_t i = 0; i < ws.size(); ++i) scale[i] = static_cast<float>(xs[0] * ws[i] / ys[0]);
    double zp = c.has_in(7) ? as_double(c.in(7))[0] : 0.0;
    requantize(r, scale, sp, zp, y);
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_quantize_kernels(KernelRegistry& r) {
  using namespace cpu;
  r.add_kernel("QuantizeLinear", make_quantize);
  r.add_kernel("DequantizeLinear", make_dequantize);
  r.add_kernel("DynamicQuantizeLinear", make_dynamic_quantize);
  r.add_kernel("MatMulInteger", make_matmul_integer);
  r.add_kernel("QLinearMatMul", make_qlinear_matmul);
  r.add_kernel("ConvInteger", make_conv_integer);
  r.add_kernel("QLinearConv", make_qlinear_conv);
}

}  // namespace dynrt
