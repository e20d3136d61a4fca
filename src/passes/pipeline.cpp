#include "passes/pass.h"

namespace dynrt::passes {

std::vector<Pass> default_pipeline() {
  return {
      {"fold_constants", fold_constants},
      {"fold_shape_values", fold_shape_values},
      {"eliminate_dead_code", eliminate_dead_code},
      {"fuse_batchnorm", fuse_batchnorm},
      {"fuse_gelu", fuse_gelu},
      {"fuse_activation", fuse_activation},
      {"fuse_transpose_matmul", fuse_transpose_matmul},
      {"eliminate_dead_code", eliminate_dead_code},
      {"assign_channels_last", assign_channels_last},
  };
}

}  // namespace dynrt::passes
