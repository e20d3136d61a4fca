// Which attention the CUDA provider runs, decided on the host (no device
// code here, so the lowering passes that ask can be tested without a GPU).
#include <cstdlib>
#include <string>

#include "backends/cuda/attention_launch.h"

namespace dynrt::cuda {

FlashMode flash_attention_mode() {
  const char* v = std::getenv("DYNRT_CUDA_FLASH_ATTENTION");
  const std::string s = v ? v : "";
  return s == "0" ? FlashMode::kOff : s == "require" ? FlashMode::kRequire : FlashMode::kOn;
}

bool flash_attention_enabled() { return flash_attention_mode() != FlashMode::kOff; }

bool flash_attention_takes(ElemType t, int64_t head_dim, int64_t value_dim) {
  return (t == ElemType::kFloat16 || t == ElemType::kBFloat16) && head_dim == value_dim &&
         (head_dim == 32 || head_dim == 64 || head_dim == 128);
}

}  // namespace dynrt::cuda
