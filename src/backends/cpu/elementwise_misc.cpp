// CPU kernels for BitCast (opset 26) and the optional-of-tensor ops: bytes
// are copied unchanged.
#include <cstring>

#include "backends/cpu/kernel_util.h"
#include "ops/families.h"

namespace dynrt::cpu {
namespace {

std::unique_ptr<Kernel> make_bitcast(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    if (c.in(0).nbytes() > 0) std::memcpy(c.out(0).data, c.in(0).data, c.in(0).nbytes());
  });
}

std::unique_ptr<Kernel> make_optional_has_element(const KernelInit&) {
  return make_kernel([](KernelContext& c) { *c.out(0).as<uint8_t>() = c.has_in(0) ? 1 : 0; });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_elementwise_misc_kernels(OpRegistry& r) {
  r.add_kernel("BitCast", Backend::kCpu, cpu::make_bitcast);
  r.add_kernel("OptionalGetElement", Backend::kCpu, cpu::make_bitcast);
  r.add_kernel("OptionalHasElement", Backend::kCpu, cpu::make_optional_has_element);
}

}  // namespace dynrt
