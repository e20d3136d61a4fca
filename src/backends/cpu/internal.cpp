#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"

namespace dynrt {

void register_cpu_internal_kernels(KernelRegistry& r) {
  r.add_kernel(
      "ExprTensor", [](const KernelInit& init) {
        std::vector<Expr> values = ExprTensorAttrs::parse(init).values;
        return cpu::make_kernel([values](KernelContext& c) {
          auto* o = c.out(0).as<int64_t>();
          for (size_t i = 0; i < values.size(); ++i) o[i] = values[i].eval(c.binding);
        });
      },
      "dynrt");
}

}  // namespace dynrt
