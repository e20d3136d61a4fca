// The C interface of libdynrt_image_codecs.so, the image decoders that the
// CPU provider's ImageDecoder kernel loads on first use (dlopen), so that
// libdynrt_runtime itself needs no image libraries. Shared by both sides.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {

// Where a decoder writes: `rgb` is called once, with the image's size, and
// returns height * width * 3 bytes of rows (or null, when the caller refuses
// that size; the decoder then stops).
struct DynrtImageSink {
  void* user;
  uint8_t* (*rgb)(void* user, int64_t height, int64_t width);
};

// The most pixels along either side, and in all (2^27, 134 million: Pillow
// refuses about 179 million): larger images are refused before any pixel is
// decoded, so a small file cannot claim gigabytes.
inline constexpr int64_t kDynrtMaxImageSide = int64_t{1} << 16;
inline constexpr int64_t kDynrtMaxImagePixels = int64_t{1} << 27;

// Decodes one BMP, JPEG, JPEG 2000, PNG, PNM, TIFF or WebP image (found by its
// leading bytes) into 8-bit RGB. Returns null on success, else why not; the
// text lives until the calling thread's next call.
using DynrtDecodeImageFn = const char* (*)(const uint8_t* data, size_t size, const DynrtImageSink* sink);
const char* dynrt_decode_image(const uint8_t* data, size_t size, const DynrtImageSink* sink);
}
