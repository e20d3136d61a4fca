// CPU kernels for shape ops. Shape values usually fold away at build time;
// these kernels run when a shape depends on data or is used as data.
#include <cmath>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/half.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"
#include "ops/runtime_shape.h"

namespace dynrt::cpu {
namespace {

std::unique_ptr<Kernel> make_shape(const KernelInit& init) {
  int64_t start = ShapeAttrs::parse(init).start;
  return make_kernel([start](KernelContext& c) {
    int64_t r = c.in(0).rank, s = start < 0 ? start + r : start;
    s = std::clamp<int64_t>(s, 0, r);
    auto* o = c.out(0).as<int64_t>();
    for (int64_t i = 0; i < c.out(0).numel(); ++i) o[i] = c.in(0).dim(static_cast<int>(s + i));
  });
}

std::unique_ptr<Kernel> make_size(const KernelInit&) {
  return make_kernel([](KernelContext& c) { *c.out(0).as<int64_t>() = c.in(0).numel(); });
}

std::unique_ptr<Kernel> make_copy(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    if (c.out(0).data != c.in(0).data && c.out(0).nbytes() > 0) std::memcpy(c.out(0).data, c.in(0).data, c.out(0).nbytes());
  });
}

// Output shapes come from the schema's shape function (src/ops/shape_fns.h),
// at build time or, for targets computed while running, by the runtime.
std::unique_ptr<Kernel> make_expand(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    BroadcastStrides bs = make_broadcast(y, {&x});
    auto es = static_cast<int64_t>(dtype_size(x.dtype));
    const auto* src = static_cast<const std::byte*>(x.data);
    auto* dst = static_cast<std::byte*>(y.data);
    for_each_row<1>(bs, [&](int64_t out_off, const int64_t* offs, int64_t n, const int64_t* st) {
      if (st[0] == 1) {
        std::memcpy(dst + out_off * es, src + offs[0] * es, static_cast<size_t>(n * es));
      } else {
        for (int64_t i = 0; i < n; ++i)
          std::memcpy(dst + (out_off + i) * es, src + (offs[0] + i * st[0]) * es, static_cast<size_t>(es));
      }
    });
  });
}

std::unique_ptr<Kernel> make_constant_of_shape(const KernelInit& init) {
  const ir::Attribute* a = init.attr("value");
  Tensor value = a ? a->t : Tensor(DType::kFloat32, {1});
  return make_kernel([value](KernelContext& c) {
    size_t es = dtype_size(value.dtype());
    auto* dst = static_cast<std::byte*>(c.out(0).data);
    int64_t n = c.out(0).numel();
    for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * static_cast<int64_t>(es), value.data(), es);
  });
}

// The length comes from the schema (at build time, or by the runtime from
// the values while running).
std::unique_ptr<Kernel> make_range(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    int64_t len = c.out(0).numel();
    if (is_half(c.out(0).dtype)) {  // float16 / bfloat16: computed in float32
      float v[3];
      for (size_t i = 0; i < 3; ++i) to_float(c.in(i), &v[i]);
      std::vector<float> out(static_cast<size_t>(len));
      for (int64_t i = 0; i < len; ++i) out[static_cast<size_t>(i)] = v[0] + static_cast<float>(i) * v[2];
      from_float(out.data(), c.out(0));
      return;
    }
    DYNRT_DISPATCH_NUMERIC(c.out(0).dtype, "Range", {
      T start = *c.in(0).as<const T>(), delta = *c.in(2).as<const T>();
      T* o = c.out(0).as<T>();
      for (int64_t i = 0; i < len; ++i) o[i] = static_cast<T>(start + static_cast<T>(i) * delta);
    });
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_shape_kernels(KernelRegistry& r) {
  using namespace cpu;
  r.add_kernel("Shape", make_shape);
  r.add_kernel("Size", make_size);
  r.add_kernel("Reshape", make_copy);
  r.add_kernel("Flatten", make_copy);
  r.add_kernel("Expand", make_expand);
  r.add_kernel("ConstantOfShape", make_constant_of_shape);
  r.add_kernel("Range", make_range);
}

}  // namespace dynrt
