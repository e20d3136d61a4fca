// CPU kernels for BitCast (opset 26) and the optional-of-tensor ops: bytes
// are copied unchanged.
#include <cstring>

#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"

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

void register_cpu_elementwise_misc_kernels(KernelRegistry& r) {
  r.add_kernel("BitCast", cpu::make_bitcast);
  r.add_kernel("OptionalGetElement", cpu::make_bitcast);
  r.add_kernel("OptionalHasElement", cpu::make_optional_has_element);
}

}  // namespace dynrt
