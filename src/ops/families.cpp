#include "ops/families.h"

namespace dynrt {

void register_all_ops(OpRegistry& r) {
  register_elementwise_ops(r);
  register_shape_ops(r);
  register_movement_ops(r);
  register_indexing_ops(r);
  register_reduction_ops(r);
  register_normalization_ops(r);
  register_linalg_ops(r);
  register_nn_ops(r);
  register_internal_ops(r);

  register_cpu_elementwise_kernels(r);
  register_cpu_shape_kernels(r);
  register_cpu_movement_kernels(r);
  register_cpu_indexing_kernels(r);
  register_cpu_reduction_kernels(r);
  register_cpu_normalization_kernels(r);
  register_cpu_linalg_kernels(r);
  register_cpu_nn_kernels(r);
  register_cpu_internal_kernels(r);
}

}  // namespace dynrt
