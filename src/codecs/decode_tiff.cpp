// TIFF (the first page) through libtiff's RGBA reader, which takes every
// photometric interpretation, bit depth, compression and tiling it knows.
#include <tiffio.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "codecs/decoders.h"

namespace dynrt::codecs {
namespace {

// libtiff reads the stream through these client procedures.
tmsize_t read_proc(thandle_t h, void* buf, tmsize_t n) {
  auto* s = static_cast<StreamReader*>(h);
  if (n < 0 || s->left() == 0) return 0;
  size_t k = std::min<size_t>(static_cast<size_t>(n), s->left());
  std::memcpy(buf, s->data.data() + s->at, k);
  s->at += k;
  return static_cast<tmsize_t>(k);
}
tmsize_t write_proc(thandle_t, void*, tmsize_t) { return 0; }
toff_t seek_proc(thandle_t h, toff_t off, int whence) {
  auto* s = static_cast<StreamReader*>(h);
  toff_t base = whence == SEEK_CUR ? s->at : whence == SEEK_END ? s->data.size() : 0;
  if (off > SIZE_MAX - base) return static_cast<toff_t>(-1);
  s->at = static_cast<size_t>(base + off);  // past the end reads nothing
  return s->at;
}
int close_proc(thandle_t) { return 0; }
toff_t size_proc(thandle_t h) { return static_cast<StreamReader*>(h)->data.size(); }
int map_proc(thandle_t, void**, toff_t*) { return 0; }
void unmap_proc(thandle_t, void*, toff_t) {}

int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  auto* s = static_cast<StreamReader*>(user);
  if (s->error.empty()) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    s->error = buf;
  }
  return 1;
}
int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

struct TiffCloser {
  void operator()(TIFF* t) const { TIFFClose(t); }
};
struct OptionsFree {
  void operator()(TIFFOpenOptions* o) const { TIFFOpenOptionsFree(o); }
};

}  // namespace

void decode_tiff(std::span<const uint8_t> data, const DynrtImageSink& sink) {
  StreamReader s{data, 0, {}};
  std::unique_ptr<TIFFOpenOptions, OptionsFree> opts(TIFFOpenOptionsAlloc());
  TIFFOpenOptionsSetErrorHandlerExtR(opts.get(), on_error, &s);
  TIFFOpenOptionsSetWarningHandlerExtR(opts.get(), on_warning, &s);
  // No one buffer libtiff makes while reading may be larger than the largest image's RGBA raster.
  TIFFOpenOptionsSetMaxSingleMemAlloc(opts.get(), static_cast<tmsize_t>(kDynrtMaxImagePixels * 4));
  std::unique_ptr<TIFF, TiffCloser> tif(TIFFClientOpenExt("stream", "rm", &s, read_proc, write_proc, seek_proc,
                                                          close_proc, size_proc, map_proc, unmap_proc, opts.get()));
  if (!tif) throw DecodeError("TIFF: " + (s.error.empty() ? std::string("not a readable TIFF stream") : s.error));
  char why[1024] = {};
  if (!TIFFRGBAImageOK(tif.get(), why)) throw DecodeError(std::string("TIFF: ") + why);
  uint32_t width = 0, height = 0;
  TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &width);
  TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &height);
  uint8_t* rows = rows_for(sink, height, width);
  const size_t n = size_t{width} * height;
  std::vector<uint32_t> raster(n);
  if (!TIFFReadRGBAImageOriented(tif.get(), width, height, raster.data(), ORIENTATION_TOPLEFT, 1))
    throw DecodeError("TIFF: " + (s.error.empty() ? std::string("its pixels could not be read") : s.error));
  for (size_t i = 0; i < n; ++i) {
    rows[3 * i] = static_cast<uint8_t>(TIFFGetR(raster[i]));
    rows[3 * i + 1] = static_cast<uint8_t>(TIFFGetG(raster[i]));
    rows[3 * i + 2] = static_cast<uint8_t>(TIFFGetB(raster[i]));
  }
}

}  // namespace dynrt::codecs
