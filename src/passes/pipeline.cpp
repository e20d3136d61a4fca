#include "passes/pass.h"

namespace dynrt::passes {

std::vector<Pass> default_pipeline() {
  return {
      {"fold_constants", fold_constants},
      {"fold_shape_values", fold_shape_values},
      {"eliminate_dead_code", eliminate_dead_code},
      {"fuse_batchnorm", fuse_batchnorm},
      {"fuse_gelu", fuse_gelu},
      {"fold_always_true", fold_always_true},
      {"sink_expand", sink_expand},
      {"drop_identity_ops", drop_identity_ops},
  };
}

}  // namespace dynrt::passes
