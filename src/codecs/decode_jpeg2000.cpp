// JPEG 2000 (a JP2 file or a bare J2K codestream) through OpenJPEG: one, three
// or four components at full resolution, scaled to 8 bits.
#include <openjpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "codecs/decoders.h"

namespace dynrt::codecs {
namespace {

OPJ_SIZE_T read_fn(void* buf, OPJ_SIZE_T n, void* user) {
  auto* s = static_cast<StreamReader*>(user);
  if (s->left() == 0) return static_cast<OPJ_SIZE_T>(-1);  // the end of the stream
  OPJ_SIZE_T k = std::min<OPJ_SIZE_T>(n, s->left());
  std::memcpy(buf, s->data.data() + s->at, k);
  s->at += k;
  return k;
}
OPJ_OFF_T skip_fn(OPJ_OFF_T n, void* user) {  // forward or back, within the stream
  auto* s = static_cast<StreamReader*>(user);
  const size_t from = std::min(s->at, s->data.size());
  const size_t to = n >= 0 ? from + std::min<size_t>(static_cast<size_t>(n), s->data.size() - from)
                           : from - std::min<size_t>(static_cast<size_t>(-(n + 1)) + 1, from);
  s->at = to;
  return static_cast<OPJ_OFF_T>(to) - static_cast<OPJ_OFF_T>(from);
}
OPJ_BOOL seek_fn(OPJ_OFF_T to, void* user) {
  auto* s = static_cast<StreamReader*>(user);
  if (to < 0 || static_cast<uint64_t>(to) > s->data.size()) return OPJ_FALSE;
  s->at = static_cast<size_t>(to);
  return OPJ_TRUE;
}
void on_error(const char* msg, void* user) {
  auto* s = static_cast<StreamReader*>(user);
  if (s->error.empty()) {
    s->error = msg;
    while (!s->error.empty() && s->error.back() == '\n') s->error.pop_back();
  }
}
void on_quiet(const char*, void*) {}

struct CodecFree {
  void operator()(opj_codec_t* c) const { opj_destroy_codec(c); }
};
struct StreamFree {
  void operator()(opj_stream_t* s) const { opj_stream_destroy(s); }
};
struct ImageFree {
  void operator()(opj_image_t* i) const { opj_image_destroy(i); }
};

// A component's sample as 8 bits (a signed one shifted to unsigned first).
// In 64 bits: a corrupt stream's samples may lie outside the declared precision.
uint8_t to_8bit(const opj_image_comp_t& c, OPJ_INT32 sample) {
  int64_t v = sample;
  if (c.sgnd) v += int64_t{1} << (c.prec - 1);
  if (c.prec > 8) v >>= c.prec - 8;
  else if (c.prec < 8) v *= int64_t{1} << (8 - c.prec);
  return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}

}  // namespace

void decode_jpeg2000(std::span<const uint8_t> data, const DynrtImageSink& sink) {
  StreamReader s{data, 0, {}};
  const bool jp2 = data.size() >= 4 && data[0] == 0 && data[1] == 0;
  std::unique_ptr<opj_codec_t, CodecFree> codec(opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
  opj_set_error_handler(codec.get(), on_error, &s);
  opj_set_warning_handler(codec.get(), on_quiet, &s);
  opj_set_info_handler(codec.get(), on_quiet, &s);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  std::unique_ptr<opj_stream_t, StreamFree> stream(opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE));
  opj_stream_set_user_data(stream.get(), &s, nullptr);
  opj_stream_set_user_data_length(stream.get(), data.size());
  opj_stream_set_read_function(stream.get(), read_fn);
  opj_stream_set_skip_function(stream.get(), skip_fn);
  opj_stream_set_seek_function(stream.get(), seek_fn);
  auto fail = [&](const char* what) {
    throw DecodeError(std::string("JPEG 2000: ") + (s.error.empty() ? what : s.error));
  };
  opj_image_t* raw = nullptr;
  if (!opj_setup_decoder(codec.get(), &params) || !opj_read_header(stream.get(), codec.get(), &raw))
    fail("its header could not be read");
  std::unique_ptr<opj_image_t, ImageFree> image(raw);
  const OPJ_UINT32 n = image->numcomps;
  if (n != 1 && n != 3 && n != 4) throw DecodeError("JPEG 2000: " + std::to_string(n) + " components (1, 3 or 4 are decoded)");
  const int64_t width = int64_t{image->x1} - image->x0, height = int64_t{image->y1} - image->y0;
  // Checked before decoding: the header alone decides how much OpenJPEG allocates.
  uint8_t* rows = rows_for(sink, height, width);
  if (!opj_decode(codec.get(), stream.get(), image.get()) || !opj_end_decompress(codec.get(), stream.get()))
    fail("its pixels could not be decoded");
  for (OPJ_UINT32 c = 0; c < n; ++c) {
    const opj_image_comp_t& comp = image->comps[c];
    if (!comp.data || comp.w != static_cast<OPJ_UINT32>(width) || comp.h != static_cast<OPJ_UINT32>(height) ||
        comp.prec < 1 || comp.prec > 31)
      throw DecodeError("JPEG 2000: component " + std::to_string(c) +
                        " is subsampled or has no samples (full-resolution components are decoded)");
  }
  const size_t pixels = static_cast<size_t>(width * height);
  for (size_t i = 0; i < pixels; ++i)
    for (size_t ch = 0; ch < 3; ++ch) {
      const opj_image_comp_t& comp = image->comps[n == 1 ? 0 : ch];
      rows[3 * i + ch] = to_8bit(comp, comp.data[i]);
    }
}

}  // namespace dynrt::codecs
