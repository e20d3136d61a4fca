// PNG through libpng, with the transforms that give 8-bit RGB the way Pillow
// and OpenCV read it: palettes looked up, 1/2/4-bit grey scaled, grey
// replicated, 16-bit samples cut to their high byte, alpha dropped (not
// composed onto a background).
#include <png.h>

#include <csetjmp>
#include <cstring>
#include <string>
#include <vector>

#include "codecs/decoders.h"

namespace dynrt::codecs {
namespace {

void read_fn(png_structp png, png_bytep out, size_t n) {
  auto* r = static_cast<StreamReader*>(png_get_io_ptr(png));
  if (n > r->left()) png_error(png, "the stream ends early");
  std::memcpy(out, r->data.data() + r->at, n);
  r->at += n;
}

void on_error(png_structp png, png_const_charp msg) {
  auto* r = static_cast<StreamReader*>(png_get_error_ptr(png));
  if (r->error.empty()) r->error = msg;
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

// libpng reports errors by jumping back here: no objects with destructors in this function.
void read_png(png_structp png, png_infop info, const DynrtImageSink& sink, std::vector<png_bytep>& row_ptrs,
              std::string& failure) {
  if (setjmp(png_jmpbuf(png))) return;  // the error is in the reader
  png_set_read_fn(png, png_get_error_ptr(png), read_fn);
  png_set_user_limits(png, static_cast<png_uint_32>(kDynrtMaxImageSide), static_cast<png_uint_32>(kDynrtMaxImageSide));
  png_read_info(png, info);
  png_set_strip_16(png);
  png_set_palette_to_rgb(png);
  png_set_expand_gray_1_2_4_to_8(png);
  png_set_gray_to_rgb(png);
  png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
  if (png_get_rowbytes(png, info) != size_t{width} * 3) {
    failure = "libpng gave rows of " + std::to_string(png_get_rowbytes(png, info)) + " bytes for RGB";
    return;
  }
  uint8_t* rows = nullptr;
  try {
    rows = rows_for(sink, height, width);
    row_ptrs.resize(height);
  } catch (const std::exception& e) {
    failure = e.what();
    return;
  }
  for (png_uint_32 y = 0; y < height; ++y) row_ptrs[y] = rows + size_t{y} * width * 3;
  png_read_image(png, row_ptrs.data());
  png_read_end(png, nullptr);
}

}  // namespace

void decode_png(std::span<const uint8_t> data, const DynrtImageSink& sink) {
  StreamReader reader{data, 0, {}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, on_error, on_warning);
  if (!png) throw DecodeError("PNG: libpng could not start");
  png_infop info = png_create_info_struct(png);
  std::vector<png_bytep> row_ptrs;
  std::string failure;
  if (info) read_png(png, info, sink, row_ptrs, failure);
  png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  if (failure.empty()) failure = reader.error;
  if (!failure.empty()) throw DecodeError("PNG: " + failure);
}

}  // namespace dynrt::codecs
