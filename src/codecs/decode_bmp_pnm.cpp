// BMP and binary PNM (P5, P6) through stb_image, built here with only those
// two formats (Debian's libstb-dev header).
#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <string>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#define STBI_NO_STDIO
#define STBI_MAX_DIMENSIONS (1 << 16)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

#include "codecs/decoders.h"

namespace dynrt::codecs {
namespace {

struct StbFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

// stb_image reads zeros past the end of a stream; reading through these
// callbacks tells a truncated stream (a read asked for after the last byte)
// from a whole one, which Pillow also refuses.
struct Reader {
  std::span<const uint8_t> data;
  size_t at = 0;
  bool starved = false;
};

int read_cb(void* user, char* out, int n) {
  auto* r = static_cast<Reader*>(user);
  if (r->at >= r->data.size()) {
    r->starved = true;
    return 0;
  }
  size_t k = std::min(static_cast<size_t>(std::max(n, 0)), r->data.size() - r->at);
  std::memcpy(out, r->data.data() + r->at, k);
  r->at += k;
  return static_cast<int>(k);
}
void skip_cb(void* user, int n) {
  auto* r = static_cast<Reader*>(user);
  if (n < 0) {
    r->at -= std::min(r->at, static_cast<size_t>(-static_cast<int64_t>(n)));
    return;
  }
  if (static_cast<size_t>(n) > r->data.size() - r->at) r->starved = true;
  r->at += std::min(static_cast<size_t>(n), r->data.size() - r->at);
}
int eof_cb(void* user) {
  auto* r = static_cast<Reader*>(user);
  return r->at >= r->data.size();
}

// A binary PNM's header, read before stb_image reads it: its parser
// overflows an int on long numbers (undefined behaviour, found by fuzz_image),
// so each of width, height and maximum value must be 1 to 9 digits. Also where
// the samples begin (after one whitespace byte): stb_image reads zeros for
// samples missing at the end, so their count is checked against the stream.
struct PnmHeader {
  size_t raster = 0;
  uint64_t maxval = 0;
};

PnmHeader pnm_header(std::span<const uint8_t> d) {
  if (d.size() < 2 || (d[1] != '5' && d[1] != '6'))
    throw DecodeError("PNM: only binary greymaps and pixmaps (P5, P6) are decoded");
  PnmHeader hdr;
  size_t at = 2;
  for (int token = 0; token < 3; ++token) {
    while (at < d.size() && (std::isspace(d[at]) || d[at] == '#')) {
      if (d[at] == '#')
        while (at < d.size() && d[at] != '\n' && d[at] != '\r') ++at;
      else
        ++at;
    }
    uint64_t v = 0;
    size_t digits = 0;
    for (; at < d.size() && std::isdigit(d[at]); ++at, ++digits) v = v * 10 + static_cast<uint64_t>(d[at] - '0');
    if (digits == 0 || digits > 9) throw DecodeError("PNM: its header's numbers must be 1 to 9 digits long");
    if (token == 2) hdr.maxval = v;
  }
  hdr.raster = at + 1;
  return hdr;
}

}  // namespace

void decode_bmp_pnm(std::span<const uint8_t> data, const DynrtImageSink& sink) {
  const std::string format = data.size() >= 2 && data[0] == 'B' ? "BMP" : "PNM";
  // 16-bit BMP channels (5 or 6 bits) scale to 8 bits one way in stb_image and another in Pillow
  // (bit replication), one unit apart: refused, not guessed.
  if (format == "BMP" && data.size() >= 30 && data[28] == 16 && data[29] == 0)
    throw DecodeError("BMP: 16-bit pixels are not decoded (1, 4, 8, 24 and 32-bit ones are)");
  PnmHeader pnm;
  if (format == "PNM") {
    // Other maximum values need their samples scaled to 0..255, which stb_image
    // does not do and Pillow does differently for P5 and P6: refused, not guessed.
    pnm = pnm_header(data);
    if (pnm.maxval != 255)
      throw DecodeError("PNM: its maximum value is " + std::to_string(pnm.maxval) + " (8-bit samples, 255, are decoded)");
  }
  const stbi_io_callbacks io{read_cb, skip_cb, eof_cb};
  Reader header{data};
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_callbacks(&io, &header, &width, &height, &channels))
    throw DecodeError(format + ": " + stbi_failure_reason());
  // The size is checked before stb_image allocates for it.
  uint8_t* rows = rows_for(sink, height, width);
  Reader body{data};
  int w = 0, h = 0;
  std::unique_ptr<stbi_uc, StbFree> pixels(stbi_load_from_callbacks(&io, &body, &w, &h, &channels, 3));
  if (!pixels) throw DecodeError(format + ": " + stbi_failure_reason());
  bool truncated = body.starved;
  if (format == "PNM")
    truncated = pnm.raster > data.size() || data.size() - pnm.raster < size_t(w) * size_t(h) * size_t(channels);
  if (truncated) throw DecodeError(format + ": the stream ends before its last pixel");
  if (w != width || h != height) throw DecodeError(format + ": its size changed between reads");
  std::memcpy(rows, pixels.get(), static_cast<size_t>(w) * static_cast<size_t>(h) * 3);
}

}  // namespace dynrt::codecs
