// The CPU provider's kernels, one registration function per op family
// (src/backends/cpu/<family>.cpp); register_cpu_kernels calls them all.
#pragma once

namespace dynrt {

class KernelRegistry;

void register_cpu_elementwise_kernels(KernelRegistry& r);
void register_cpu_shape_kernels(KernelRegistry& r);
void register_cpu_movement_kernels(KernelRegistry& r);
void register_cpu_indexing_kernels(KernelRegistry& r);
void register_cpu_reduction_kernels(KernelRegistry& r);
void register_cpu_normalization_kernels(KernelRegistry& r);
void register_cpu_linalg_kernels(KernelRegistry& r);
void register_cpu_nn_kernels(KernelRegistry& r);
void register_cpu_internal_kernels(KernelRegistry& r);
void register_cpu_loss_kernels(KernelRegistry& r);
void register_cpu_resize_kernels(KernelRegistry& r);
void register_cpu_attention_kernels(KernelRegistry& r);
void register_cpu_quantize_kernels(KernelRegistry& r);
void register_cpu_rnn_kernels(KernelRegistry& r);
void register_cpu_misc_kernels(KernelRegistry& r);
void register_cpu_random_kernels(KernelRegistry& r);
void register_cpu_vision_kernels(KernelRegistry& r);
void register_cpu_image_kernels(KernelRegistry& r);
void register_cpu_signal_kernels(KernelRegistry& r);
void register_cpu_attention_variant_kernels(KernelRegistry& r);
void register_cpu_training_kernels(KernelRegistry& r);
void register_cpu_ml_kernels(KernelRegistry& r);

void register_cpu_kernels(KernelRegistry& r);

}  // namespace dynrt
