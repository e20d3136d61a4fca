// WebP (lossy or lossless; the first frame of an animation is not read)
// through libwebp, to RGB with its default upsampling, as Pillow decodes it.
#include <webp/decode.h>

#include "codecs/decoders.h"

namespace dynrt::codecs {

void decode_webp(std::span<const uint8_t> data, const DynrtImageSink& sink) {
  WebPBitstreamFeatures features{};
  if (WebPGetFeatures(data.data(), data.size(), &features) != VP8_STATUS_OK)
    throw DecodeError("WebP: the stream's header is not valid");
  if (features.has_animation) throw DecodeError("WebP: animated images are not decoded");
  uint8_t* rows = rows_for(sink, features.height, features.width);
  const size_t stride = static_cast<size_t>(features.width) * 3;
  if (!WebPDecodeRGBInto(data.data(), data.size(), rows, stride * static_cast<size_t>(features.height),
                         static_cast<int>(stride)))
    throw DecodeError("WebP: the stream is corrupt or truncated");
}

}  // namespace dynrt::codecs
