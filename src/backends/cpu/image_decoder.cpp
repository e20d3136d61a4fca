// CPU kernel of ImageDecoder. The decoders live in a plug-in,
// libdynrt_image_codecs.so (src/codecs/), opened on first use, so that the
// runtime links no image library and engines without the op never need one.
// Grayscale is Pillow's conversion of the RGB pixels (ITU-R 601-2 luma in
// 16-bit fixed point), which is what ONNX's reference implementation runs.
#include <dlfcn.h>

#include <exception>
#include <utility>
#include <vector>

#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "backends/plugin.h"
#include "codecs/image_codecs.h"
#include "ops/attrs.h"

namespace dynrt::cpu {
namespace {

constexpr const char* kCodecs = "libdynrt_image_codecs.so";

DynrtDecodeImageFn decoder() {
  static const std::pair<DynrtDecodeImageFn, std::string> entry = [] {
    std::string why;
    void* handle = open_plugin(kCodecs, why);
    if (!handle) return std::pair<DynrtDecodeImageFn, std::string>{nullptr, why};
    auto fn = reinterpret_cast<DynrtDecodeImageFn>(dlsym(handle, "dynrt_decode_image"));
    return std::pair<DynrtDecodeImageFn, std::string>{fn, fn ? "" : "it does not export dynrt_decode_image"};
  }();
  if (!entry.first)
    throw Error(ErrorCode::kUnsupported,
                std::string("decoding images needs ") + kCodecs +
                    " beside libdynrt_runtime.so (built where libjpeg, libpng, libtiff, libwebp, OpenJPEG and stb's "
                    "headers are installed: scripts/install_deps.sh), which could not be loaded: " + entry.second);
  return entry.first;
}

// What the plug-in writes into: the output itself for RGB and BGR, a scratch
// buffer for Grayscale. Errors (a size over the context's limits) wait here
// until the decoder has returned: they must not cross its C interface.
struct Sink {
  const KernelContext* ctx;
  int64_t channels;
  std::vector<uint8_t> rgb;
  std::exception_ptr error;
};

uint8_t* rows(void* user, int64_t height, int64_t width) {
  auto* s = static_cast<Sink*>(user);
  try {
    int64_t dims[3] = {height, width, s->channels};
    s->ctx->allocate_output(0, dims);
    if (s->channels == 3) return s->ctx->out(0).as<uint8_t>();
    s->rgb.resize(static_cast<size_t>(height * width * 3));
    return s->rgb.data();
  } catch (...) {
    s->error = std::current_exception();
    return nullptr;
  }
}

std::unique_ptr<Kernel> make_image_decoder(const KernelInit& init) {
  ImageDecoderAttrs attrs = ImageDecoderAttrs::parse(init);
  return make_kernel([attrs](KernelContext& c) {
    const TensorView& in = c.in(0);
    Sink sink{&c, attrs.channels(), {}, nullptr};
    DynrtImageSink s{&sink, rows};
    const char* why = decoder()(in.as<const uint8_t>(), static_cast<size_t>(in.numel()), &s);
    if (sink.error) std::rethrow_exception(sink.error);
    if (why) throw Error(ErrorCode::kInvalidInput, std::string("its encoded stream could not be decoded: ") + why);
    const TensorView& out = c.out(0);
    auto* p = out.as<uint8_t>();
    const int64_t pixels = out.dims[0] * out.dims[1];
    if (attrs.pixel_format == "BGR") {
      for (int64_t i = 0; i < pixels; ++i) std::swap(p[3 * i], p[3 * i + 2]);
    } else if (attrs.channels() == 1) {
      const uint8_t* q = sink.rgb.data();
      for (int64_t i = 0; i < pixels; ++i, q += 3)
        p[i] = static_cast<uint8_t>((q[0] * 19595u + q[1] * 38470u + q[2] * 7471u + 0x8000u) >> 16);
    }
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {
void register_cpu_image_kernels(KernelRegistry& r) { r.add_kernel("ImageDecoder", cpu::make_image_decoder); }
}  // namespace dynrt
