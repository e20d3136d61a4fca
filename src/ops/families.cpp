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
  register_loss_ops(r);
  register_resize_ops(r);
  register_attention_ops(r);
  register_quantize_ops(r);
  register_rnn_ops(r);
  register_misc_ops(r);
  register_vision_ops(r);
  register_signal_ops(r);
  register_attention_variant_ops(r);
  register_training_ops(r);
  register_ml_ops(r);

  register_cpu_elementwise_kernels(r);
  register_cpu_shape_kernels(r);
  register_cpu_movement_kernels(r);
  register_cpu_indexing_kernels(r);
  register_cpu_reduction_kernels(r);
  register_cpu_normalization_kernels(r);
  register_cpu_linalg_kernels(r);
  register_cpu_nn_kernels(r);
  register_cpu_internal_kernels(r);
  register_cpu_loss_kernels(r);
  register_cpu_resize_kernels(r);
  register_cpu_attention_kernels(r);
  register_cpu_quantize_kernels(r);
  register_cpu_rnn_kernels(r);
  register_cpu_misc_kernels(r);
  register_cpu_vision_kernels(r);
  register_cpu_signal_kernels(r);
  register_cpu_attention_variant_kernels(r);
  register_cpu_training_kernels(r);
  register_cpu_ml_kernels(r);
}

}  // namespace dynrt
