// libdynrt_image_codecs.so's entry: finds the format by its leading bytes and
// hands the stream to that format's decoder (decoders.h).
#include <cstring>
#include <string>

#include "codecs/decoders.h"

namespace dynrt::codecs {

uint8_t* rows_for(const DynrtImageSink& sink, int64_t height, int64_t width) {
  if (height < 1 || width < 1 || height > kDynrtMaxImageSide || width > kDynrtMaxImageSide)
    throw DecodeError("the image is " + std::to_string(height) + " x " + std::to_string(width) +
                      " pixels; each side must be between 1 and " + std::to_string(kDynrtMaxImageSide));
  if (height * width > kDynrtMaxImagePixels)
    throw DecodeError("the image is " + std::to_string(height) + " x " + std::to_string(width) + " pixels, over " +
                      std::to_string(kDynrtMaxImagePixels) + " in all");
  uint8_t* rows = sink.rgb(sink.user, height, width);
  if (!rows) throw DecodeError("no memory for its pixels");
  return rows;
}

namespace {

bool starts_with(std::span<const uint8_t> d, const char* magic, size_t n, size_t at = 0) {
  return d.size() >= at + n && std::memcmp(d.data() + at, magic, n) == 0;
}

void decode(std::span<const uint8_t> d, const DynrtImageSink& sink) {
  if (starts_with(d, "\xFF\xD8\xFF", 3)) return decode_jpeg(d, sink);
  if (starts_with(d, "\x89PNG\r\n\x1A\n", 8)) return decode_png(d, sink);
  if (starts_with(d, "II*\0", 4) || starts_with(d, "MM\0*", 4)) return decode_tiff(d, sink);
  if (starts_with(d, "RIFF", 4) && starts_with(d, "WEBP", 4, 8)) return decode_webp(d, sink);
  if (starts_with(d, "\0\0\0\x0CjP  \r\n\x87\n", 12) || starts_with(d, "\xFF\x4F\xFF\x51", 4))
    return decode_jpeg2000(d, sink);
  if (starts_with(d, "BM", 2) || (d.size() >= 2 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7'))
    return decode_bmp_pnm(d, sink);
  throw DecodeError("its first bytes are not those of a BMP, JPEG, JPEG 2000, PNG, PNM, TIFF or WebP image");
}

}  // namespace
}  // namespace dynrt::codecs

extern "C" __attribute__((visibility("default"))) const char* dynrt_decode_image(const uint8_t* data, size_t size,
                                                                                 const DynrtImageSink* sink) {
  thread_local std::string why;
  try {
    dynrt::codecs::decode({data, size}, *sink);
    return nullptr;
  } catch (const std::exception& e) {
    why = e.what();
  } catch (...) {
    why = "the decoder failed";
  }
  return why.c_str();
}
