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
  register_random_ops(r);
  register_vision_ops(r);
  register_signal_ops(r);
  register_attention_variant_ops(r);
  register_training_ops(r);
  register_ml_ops(r);
  register_sequence_ops(r);
  register_string_ops(r);
  register_control_flow_ops(r);
}

}  // namespace dynrt
