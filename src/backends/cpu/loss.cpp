// CPU kernels for NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
// Input [N, C, D...] is viewed as [N, C, D]; the loss of item (n, d) is
// -w[t] * x[n, t, d] (after log-softmax over C for SCE) with t = target[n, d].
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"

namespace dynrt::cpu {
namespace {

template <class T>
void loss(KernelContext& c, bool softmax, const std::string& reduction, bool has_ignore, int64_t ignore) {
  const TensorView &x = c.in(0), &target = c.in(1);
  int64_t n = x.dim(0), classes = x.dim(1), d = x.numel() / std::max<int64_t>(n * classes, 1);
  const T* px = x.as<const T>();
  std::vector<T> logp;
  if (softmax) {  // log-softmax over the class axis
    bool keep = c.outputs.size() > 1 && c.out(1).dtype != DType::kUndefined && c.out(1).data != nullptr;
    T* lp = keep ? c.out(1).as<T>() : nullptr;
    if (!lp) {
      logp.resize(static_cast<size_t>(x.numel()));
      lp = logp.data();
    }
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < d; ++k) {
        const T* p = px + i * classes * d + k;
        T* q = lp + i * classes * d + k;
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < classes; ++j) m = std::max(m, p[j * d]);
        double s = 0;
        for (int64_t j = 0; j < classes; ++j) s += std::exp(static_cast<double>(p[j * d] - m));
        T ls = static_cast<T>(std::log(s));
        for (int64_t j = 0; j < classes; ++j) q[j * d] = p[j * d] - m - ls;
      }
    px = lp;
  }
  const T* w = c.has_in(2) ? c.in(2).as<const T>() : nullptr;
  int64_t items = n * d;
  std::vector<T> out(static_cast<size_t>(items));
  double wsum = 0, lsum = 0;
  for (int64_t i = 0; i < items; ++i) {
    int64_t t = index_at(target, i);
    if (has_ignore && t == ignore) {
      out[static_cast<size_t>(i)] = T(0);
      continue;
    }
    if (t < 0 || t >= classes)
      throw Error(ErrorCode::kInvalidInput, "loss: target " + std::to_string(t) + " is outside [0, " +
                                                std::to_string(classes) + ")");
    T wt = w ? w[t] : T(1);
    T v = -px[(i / d) * classes * d + t * d + i % d] * wt;
    out[static_cast<size_t>(i)] = v;
    wsum += static_cast<double>(wt);
    lsum += static_cast<double>(v);
  }
  T* y = c.out(0).as<T>();
  if (reduction == "none") {
    std::copy(out.begin(), out.end(), y);
  } else if (reduction == "sum") {
    *y = static_cast<T>(lsum);
  } else if (w || has_ignore) {
    *y = static_cast<T>(lsum / wsum);  // weighted mean (ignored items weigh 0)
  } else {
    *y = static_cast<T>(lsum / static_cast<double>(items));
  }
}

std::unique_ptr<Kernel> make_loss(const KernelInit& init) {
  bool softmax = init.op() == "SoftmaxCrossEntropyLoss";
  LossAttrs attrs = LossAttrs::parse(init);
  std::string reduction = attrs.reduction;
  bool has_ignore = attrs.has_ignore_index;
  int64_t ignore = attrs.ignore_index;
  return make_kernel([=](KernelContext& c) {
    DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "loss", loss<T>(c, softmax, reduction, has_ignore, ignore));
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_loss_kernels(KernelRegistry& r) {
  r.add_kernel("NegativeLogLikelihoodLoss", cpu::make_loss);
  r.add_kernel("SoftmaxCrossEntropyLoss", cpu::make_loss);
}

}  // namespace dynrt
