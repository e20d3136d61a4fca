#include "backends/cpu/kernels.h"

namespace dynrt {

void register_cpu_kernels(KernelRegistry& r) {
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
  register_cpu_random_kernels(r);
  register_cpu_vision_kernels(r);
  register_cpu_image_kernels(r);
  register_cpu_signal_kernels(r);
  register_cpu_attention_variant_kernels(r);
  register_cpu_training_kernels(r);
  register_cpu_ml_kernels(r);
}

}  // namespace dynrt
