// CPU kernels for Adagrad, Adam and Momentum (ai.onnx.preview.training),
// computed in double like the ONNX reference (whose float attributes and
// int64 step promote the arithmetic), then rounded to X's type.
#include <cmath>
#include <string>

#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"

namespace dynrt::cpu {
namespace {

double scalar(const TensorView& v) {
  if (v.dtype == DType::kFloat32) return v.as<const float>()[0];
  if (v.dtype == DType::kFloat64) return v.as<const double>()[0];
  if (v.dtype == DType::kInt64) return static_cast<double>(v.as<const int64_t>()[0]);
  unsupported_dtype("optimizer scalar", v.dtype);
}

double at(const TensorView& v, int64_t i) {
  return v.dtype == DType::kFloat64 ? v.as<const double>()[i] : static_cast<double>(v.as<const float>()[i]);
}

void put(const TensorView& v, int64_t i, double x) {
  if (v.data == nullptr) return;
  if (v.dtype == DType::kFloat64) v.as<double>()[i] = x;
  else v.as<float>()[i] = static_cast<float>(x);
}

struct Attrs {
  std::string op;
  double alpha = 0, beta = 0, epsilon = 0, norm = 0, norm_post = 0, decay = 0;
  bool nesterov = false;
};

void optimize(const Attrs& a, KernelContext& c) {
  size_t per = a.op == "Adam" ? 4 : 3, n = (c.inputs.size() - 2) / per;
  double r = scalar(c.in(0)), t = scalar(c.in(1));
  for (size_t i = 0; i < n; ++i) {
    const TensorView &x = c.in(2 + i), &g = c.in(2 + n + i), &acc = c.in(2 + 2 * n + i);
    const TensorView& xo = c.out(i);
    const TensorView& ao = c.out(n + i);
    for (int64_t e = 0; e < x.numel(); ++e) {
      double xv = at(x, e), gr = a.norm * xv + at(g, e);
      if (a.op == "Adagrad") {
        double h = at(acc, e) + gr * gr;
        put(xo, e, xv - r / (1 + t * a.decay) * gr / (std::sqrt(h) + a.epsilon));
        put(ao, e, h);
      } else if (a.op == "Momentum") {
        double v = a.alpha * at(acc, e) + (t > 0 ? a.beta : 1.0) * gr;
        put(xo, e, a.nesterov ? xv - r * (gr + a.alpha * v) : xv - r * v);
        put(ao, e, v);
      } else {  // Adam: acc is V, then H
        const TensorView& hin = c.in(2 + 3 * n + i);
        double v = a.alpha * at(acc, e) + (1 - a.alpha) * gr;
        double h = a.beta * at(hin, e) + (1 - a.beta) * gr * gr;
        double ra = t > 0 ? r * std::sqrt(1 - std::pow(a.beta, t)) / (1 - std::pow(a.alpha, t)) : r;
        put(xo, e, (1 - a.norm_post) * (xv - ra * (v / (std::sqrt(h) + a.epsilon))));
        put(ao, e, v);
        put(c.out(2 * n + i), e, h);
      }
    }
  }
}

std::unique_ptr<Kernel> make_optimizer(const KernelInit& init) {
  Attrs a;
  a.op = init.op();
  bool adam = a.op == "Adam";
  // Attributes are float32 in the model; the reference promotes them as stored.
  a.alpha = init.attr_float("alpha", adam ? 0.9f : 0.f);
  a.beta = init.attr_float("beta", adam ? 0.999f : 0.f);
  a.epsilon = init.attr_float("epsilon", 1e-6f);
  a.norm = init.attr_float("norm_coefficient", 0.f);
  a.norm_post = init.attr_float("norm_coefficient_post", 0.f);
  a.decay = init.attr_float("decay_factor", 0.f);
  a.nesterov = init.attr_string("mode", "standard") == "nesterov";
  return make_kernel([a](KernelContext& c) { optimize(a, c); });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_training_kernels(KernelRegistry& r) {
  for (const char* op : {"Adagrad", "Adam", "Momentum"})
    r.add_kernel(op, cpu::make_optimizer, "ai.onnx.preview.training");
}

}  // namespace dynrt
