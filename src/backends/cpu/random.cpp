// CPU kernels for the random ops: RandomUniform, RandomNormal and their
// *Like forms, Bernoulli, Multinomial, and Dropout (random in training mode).
// Each node owns a generator (mt19937_64), seeded from its `seed` attribute
// when it has one (the same engine then gives the same sequence of outputs
// run after run), else from std::random_device. The generator advances with
// every run, under a lock: contexts running one engine share it.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "backends/cpu/half.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"

namespace dynrt::cpu {
namespace {

struct Generator {
  std::mutex mu;
  std::mt19937_64 gen;
};

std::shared_ptr<Generator> make_generator(const KernelInit& init) {
  auto g = std::make_shared<Generator>();
  if (init.has_attr("seed")) g->gen.seed(std::bit_cast<uint32_t>(init.attr_float("seed", 0.f)));
  else g->gen.seed((static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}());
  return g;
}

// Uniform in [0, 1) for each of n elements, drawn under the generator's lock.
std::vector<double> uniforms(Generator& g, int64_t n) {
  std::vector<double> u(static_cast<size_t>(n));
  std::uniform_real_distribution<double> d(0.0, 1.0);
  std::lock_guard lock(g.mu);
  for (double& v : u) v = d(g.gen);
  return u;
}

template <class F>
void store_real(const TensorView& y, F&& value) {
  DYNRT_DISPATCH_FLOAT(y.dtype, "random", {
    T* o = y.as<T>();
    for (int64_t i = 0; i < y.numel(); ++i) o[i] = static_cast<T>(value(i));
  });
}

std::unique_ptr<Kernel> make_random(const KernelInit& init) {
  const bool normal = init.op() == "RandomNormal" || init.op() == "RandomNormalLike";
  const double a = normal ? init.attr_float("mean", 0.f) : init.attr_float("low", 0.f);
  const double b = normal ? init.attr_float("scale", 1.f) : init.attr_float("high", 1.f);
  auto gen = make_generator(init);
  return make_kernel([=](KernelContext& c) {
    const TensorView& y = c.out(0);
    std::vector<double> v(static_cast<size_t>(y.numel()));
    {
      std::lock_guard lock(gen->mu);
      if (normal) {
        std::normal_distribution<double> d(a, b);
        for (double& x : v) x = d(gen->gen);
      } else {
        std::uniform_real_distribution<double> d(0.0, 1.0);
        for (double& x : v) x = a + (b - a) * d(gen->gen);
      }
    }
    store_real(y, [&](int64_t i) { return v[static_cast<size_t>(i)]; });
  });
}

std::unique_ptr<Kernel> make_bernoulli(const KernelInit& init) {
  auto gen = make_generator(init);
  return make_kernel([gen](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    std::vector<double> u = uniforms(*gen, x.numel());
    std::vector<uint8_t> hit(u.size());
    DYNRT_DISPATCH_FLOAT(x.dtype, "Bernoulli", {
      const T* p = x.as<const T>();
      for (size_t i = 0; i < u.size(); ++i) hit[i] = u[i] < static_cast<double>(p[i]) ? 1 : 0;
    });
    if (y.dtype == DType::kBool) {
      std::memcpy(y.data, hit.data(), hit.size());
      return;
    }
    DYNRT_DISPATCH_NUMERIC(y.dtype, "Bernoulli", {
      T* o = y.as<T>();
      for (size_t i = 0; i < hit.size(); ++i) o[i] = static_cast<T>(hit[i]);
    });
  });
}

// Samples class indices from each row's unnormalised log-probabilities.
std::unique_ptr<Kernel> make_multinomial(const KernelInit& init) {
  const int64_t samples = init.attr_int("sample_size", 1);
  auto gen = make_generator(init);
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    const int64_t rows = x.dim(0), classes = x.dim(1);
    if (classes < 1) throw Error(ErrorCode::kInvalidInput, "Multinomial: the input has no classes");
    std::vector<double> u = uniforms(*gen, rows * samples), cdf(static_cast<size_t>(classes));
    DYNRT_DISPATCH_FLOAT(x.dtype, "Multinomial", {
      const T* p = x.as<const T>();
      for (int64_t r = 0; r < rows; ++r) {
        const T* row = p + r * classes;
        double mx = -INFINITY, total = 0;
        for (int64_t k = 0; k < classes; ++k) mx = std::max(mx, static_cast<double>(row[k]));
        for (int64_t k = 0; k < classes; ++k) cdf[static_cast<size_t>(k)] = total += std::exp(static_cast<double>(row[k]) - mx);
        for (int64_t s = 0; s < samples; ++s) {
          const double t = u[static_cast<size_t>(r * samples + s)] * total;
          auto k = static_cast<int64_t>(std::upper_bound(cdf.begin(), cdf.end(), t) - cdf.begin());
          k = std::min(k, classes - 1);  // NaN or rounding at the top
          if (y.dtype == DType::kInt64) y.as<int64_t>()[r * samples + s] = k;
          else y.as<int32_t>()[r * samples + s] = static_cast<int32_t>(k);
        }
      }
    });
  });
}

// Dropout: in training mode with ratio r > 0, each element is kept with
// probability 1 - r and scaled by 1 / (1 - r); otherwise the identity.
std::unique_ptr<Kernel> make_dropout(const KernelInit& init) {
  auto gen = make_generator(init);
  return make_kernel([gen](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    const bool training = c.has_in(2) && c.in(2).as<const uint8_t>()[0] != 0;
    double ratio = 0.5;
    if (c.has_in(1)) DYNRT_DISPATCH_FLOAT(c.in(1).dtype, "Dropout ratio", { ratio = static_cast<double>(c.in(1).as<const T>()[0]); });
    bool* mask = c.outputs.size() > 1 && c.out(1).data ? c.out(1).as<bool>() : nullptr;
    if (!training || ratio == 0) {
      if (y.data != x.data) std::memcpy(y.data, x.data, x.nbytes());
      if (mask) std::memset(static_cast<void*>(mask), 1, static_cast<size_t>(x.numel()));
      return;
    }
    if (!(ratio > 0 && ratio < 1))
      throw Error(ErrorCode::kInvalidInput, "Dropout: ratio " + std::to_string(ratio) + " is outside [0, 1)");
    std::vector<double> u = uniforms(*gen, x.numel());
    const double scale = 1.0 / (1.0 - ratio);
    DYNRT_DISPATCH_FLOAT(x.dtype, "Dropout", {
      const T* a = x.as<const T>();
      T* o = y.as<T>();
      for (size_t i = 0; i < u.size(); ++i) {
        const bool keep = u[i] >= ratio;
        o[i] = keep ? static_cast<T>(static_cast<double>(a[i]) * scale) : T(0);
        if (mask) mask[i] = keep;
      }
    });
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_random_kernels(KernelRegistry& r) {
  using namespace cpu;
  for (const char* op : {"RandomUniform", "RandomNormal", "RandomUniformLike", "RandomNormalLike"})
    r.add_kernel(op, widen_half(make_random));
  r.add_kernel("Bernoulli", widen_half(make_bernoulli));
  r.add_kernel("Multinomial", widen_half(make_multinomial));
  r.add_kernel("Dropout", widen_half(make_dropout));
}

}  // namespace dynrt
