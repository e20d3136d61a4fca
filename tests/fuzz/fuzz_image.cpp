// libFuzzer target: the image decoders behind ImageDecoder
// (libdynrt_image_codecs.so), called directly. A failure is a returned
// message; sanitizers catch the rest.
#include <cstdint>
#include <vector>

#include "codecs/image_codecs.h"

namespace {
// 64 MiB of pixels at most, as the other targets cap tensors: larger images
// are refused through the sink, as a context's max_tensor_bytes would.
uint8_t* rows(void* user, int64_t height, int64_t width) {
  auto* buf = static_cast<std::vector<uint8_t>*>(user);
  if (height * width * 3 > (int64_t{1} << 26)) return nullptr;
  buf->assign(static_cast<size_t>(height * width * 3), 0);
  return buf->data();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> pixels;
  DynrtImageSink sink{&pixels, rows};
  (void)dynrt_decode_image(data, size, &sink);
  return 0;
}
