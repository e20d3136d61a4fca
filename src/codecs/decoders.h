// One function per image format (decode_<format>.cpp). Each reads the whole
// encoded stream, checks the size against kDynrtMaxImageSide, asks the sink
// for the rows and fills them with 8-bit RGB, or throws DecodeError.
#pragma once

#include <span>
#include <stdexcept>

#include "codecs/image_codecs.h"

namespace dynrt::codecs {

struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The sink's rows for a height x width image, after checking the size.
uint8_t* rows_for(const DynrtImageSink& sink, int64_t height, int64_t width);

void decode_jpeg(std::span<const uint8_t> data, const DynrtImageSink& sink);
void decode_png(std::span<const uint8_t> data, const DynrtImageSink& sink);
void decode_tiff(std::span<const uint8_t> data, const DynrtImageSink& sink);
void decode_webp(std::span<const uint8_t> data, const DynrtImageSink& sink);
void decode_jpeg2000(std::span<const uint8_t> data, const DynrtImageSink& sink);
void decode_bmp_pnm(std::span<const uint8_t> data, const DynrtImageSink& sink);

}  // namespace dynrt::codecs
