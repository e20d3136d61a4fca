// JPEG through libjpeg(-turbo), to RGB with its default (accurate integer)
// inverse DCT and fancy upsampling: what Pillow gets from the same library.
#include <csetjmp>
#include <cstdio>
#include <string>

#include <jpeglib.h>
#include <jerror.h>

#include "codecs/decoders.h"

namespace dynrt::codecs {
namespace {

// libjpeg reports errors by calling error_exit, which must not return: it
// jumps back to decode_jpeg, which throws from there.
struct ErrorManager {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr info) {
  auto* err = reinterpret_cast<ErrorManager*>(info->err);
  err->mgr.format_message(info, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings pass, except a stream that ends early: libjpeg would pad the
// image with grey, where Pillow refuses it as truncated.
void on_message(j_common_ptr info, int level) {
  if (level == -1 && info->err->msg_code == JWRN_JPEG_EOF) on_error(info);
}

// No objects with destructors live in this function: longjmp lands here.
void read_jpeg(std::span<const uint8_t> data, const DynrtImageSink& sink, jpeg_decompress_struct& info,
               ErrorManager& err, std::string& failure) {
  info.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = on_error;
  err.mgr.emit_message = on_message;
  err.message[0] = '\0';
  if (setjmp(err.jump)) {
    failure = err.message;
    return;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, data.data(), static_cast<unsigned long>(data.size()));
  jpeg_read_header(&info, TRUE);
  info.out_color_space = JCS_RGB;
  jpeg_calc_output_dimensions(&info);
  if (info.output_components != 3) {
    failure = "libjpeg gave " + std::to_string(info.output_components) + " channels for RGB";
    return;
  }
  // The size is checked before jpeg_start_decompress, which allocates for the
  // whole image (a progressive stream's coefficients: found by fuzz_image).
  uint8_t* rows = nullptr;
  try {
    rows = rows_for(sink, info.output_height, info.output_width);
  } catch (const DecodeError& e) {
    failure = e.what();
    return;
  }
  // libjpeg's own buffers: at most 64 bytes a pixel beyond 64 MiB (a 3-component progressive
  // stream needs about 6), so no header can make it allocate more than the image warrants.
  info.mem->max_memory_to_use = static_cast<long>(64 * int64_t{info.output_width} * info.output_height + (int64_t{1} << 26));
  jpeg_start_decompress(&info);
  const size_t stride = size_t{info.output_width} * 3;
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = rows + stride * info.output_scanline;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
}

}  // namespace

void decode_jpeg(std::span<const uint8_t> data, const DynrtImageSink& sink) {
  jpeg_decompress_struct info{};
  ErrorManager err{};
  std::string failure;
  read_jpeg(data, sink, info, err, failure);
  jpeg_destroy_decompress(&info);
  if (!failure.empty()) throw DecodeError("JPEG: " + failure);
}

}  // namespace dynrt::codecs
