// One function per image format (decode_<format>.cpp). Each reads the whole
// encoded stream, checks the size against kDynrtMaxImageSide, asks the sink
// for the rows and fills them with 8-bit RGB, or throws DecodeError.
#pragma once

#include <span>
#include <stdexcept>
#include <string>

#include "codecs/image_codecs.h"

namespace dynrt::codecs {

struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An encoded stream a library reads through callbacks: how far it has read
// (possibly past the end, after a seek), and the first error it reported.
struct StreamReader {
  std::span<const uint8_t> data;
  size_t at = 0;
  std::string error;
  size_t left() const { return at < data.size() ? data.size() - at : 0; }
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
