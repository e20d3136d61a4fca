// CPU kernels for Col2Im, MaxUnpool and DeformConv (2-D).
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/kernel_util.h"
#include "ops/attrs.h"
#include "ops/runtime_shape.h"

namespace dynrt::cpu {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

[[noreturn]] void bad(const std::string& op, const std::string& msg) {
  throw Error(ErrorCode::kInvalidInput, op + ": " + msg);
}


template <class T>
void col2im(const TensorView& x, const TensorView& y, const std::vector<int64_t>& image,
            const std::vector<int64_t>& block, const std::vector<int64_t>& dil, const std::vector<int64_t>& pad,
            const std::vector<int64_t>& str, const std::vector<int64_t>& nblk) {
  size_t k = image.size();
  int64_t n = x.dim(0), ck = x.dim(1), len = x.dim(2), kp = ck / y.dim(1), ch = y.dim(1);
  int64_t img = 1;
  for (int64_t v : image) img *= v;
  const T* px = x.as<const T>();
  T* py = y.as<T>();
  std::memset(static_cast<void*>(py), 0, y.nbytes());
  parallel_for(n * ch, 1, [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> off(k), pos(k);
    for (int64_t r = r0; r < r1; ++r) {
      T* out = py + r * img;
      for (int64_t kk = 0; kk < kp; ++kk) {
        int64_t rem = kk;
        for (size_t i = k; i-- > 0;) off[i] = rem % block[i], rem /= block[i];
        const T* col = px + (r * kp + kk) * len;  // row (c * K + kk) of batch n
        for (int64_t l = 0; l < len; ++l) {
          int64_t lr = l, at = 0;
          bool inside = true;
          for (size_t i = k; i-- > 0;) {
            pos[i] = lr % nblk[i], lr /= nblk[i];
          }
          for (size_t i = 0; i < k; ++i) {
            int64_t p = pos[i] * str[i] - pad[i] + off[i] * dil[i];
            inside = inside && p >= 0 && p < image[i];
            at = at * image[i] + p;
          }
          if (inside) out[at] += col[l];
        }
      }
    }
  });
  (void)ck;
}

std::unique_ptr<Kernel> make_col2im(const KernelInit& init) {
  Col2ImAttrs a = Col2ImAttrs::parse(init);
  return make_kernel([a](KernelContext& c) {
    const TensorView& x = c.in(0);
    std::vector<int64_t> image = read_ints(c.in(1)), block = read_ints(c.in(2));
    size_t k = image.size();
    if (block.size() != k) bad("Col2Im", "block_shape and image_shape lengths differ");
    std::vector<int64_t> dil = a.dilations.empty() ? std::vector<int64_t>(k, 1) : a.dilations;
    std::vector<int64_t> pad = a.pads.empty() ? std::vector<int64_t>(2 * k, 0) : a.pads;
    std::vector<int64_t> str = a.strides.empty() ? std::vector<int64_t>(k, 1) : a.strides;
    if (dil.size() != k || pad.size() != 2 * k || str.size() != k) bad("Col2Im", "attribute lengths differ from image_shape");
    int64_t kp = 1, blocks = 1;
    std::vector<int64_t> nblk(k);
    for (size_t i = 0; i < k; ++i) {
      if (block[i] <= 0 || image[i] < 0 || str[i] <= 0) bad("Col2Im", "invalid block_shape, image_shape or strides");
      kp *= block[i];
      nblk[i] = (image[i] + pad[i] + pad[k + i] - dil[i] * (block[i] - 1) - 1) / str[i] + 1;
      if (nblk[i] < 1) bad("Col2Im", "no sliding blocks fit the image");
      blocks *= nblk[i];
    }
    if (x.dim(1) % kp != 0) bad("Col2Im", "input channels are not divisible by prod(block_shape)");
    if (x.dim(2) != blocks)
      bad("Col2Im", "input has " + std::to_string(x.dim(2)) + " blocks, the shapes give " + std::to_string(blocks));
    // The output [N, C / kp, image...] is shaped by the schema (run_shape_col2im while running).
    DYNRT_DISPATCH_NUMERIC(x.dtype, "Col2Im", col2im<T>(x, c.out(0), image, block, dil, pad, str, nblk));
  });
}

std::unique_ptr<Kernel> make_max_unpool(const KernelInit& init) {
  MaxUnpoolAttrs attrs = MaxUnpoolAttrs::parse(init, init.input_rank(0) - 2);
  std::vector<int64_t> k = attrs.kernel_shape, s = attrs.strides, p = attrs.pads;
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &ind = c.in(1);
    size_t n = sz(x.rank - 2);
    std::vector<int64_t> inferred = {x.dim(0), x.dim(1)};
    for (size_t i = 0; i < n; ++i)
      inferred.push_back((x.dim(static_cast<int>(i) + 2) - 1) * (s.empty() ? 1 : s[i]) -
                         (p.empty() ? 0 : p[i] + p[n + i]) + k[i]);
    std::vector<int64_t> out = inferred;
    if (c.has_in(2)) out = read_ints(c.in(2));
    if (out.size() != inferred.size()) bad("MaxUnpool", "output_shape has the wrong length");
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i] < inferred[i]) bad("MaxUnpool", "output_shape is smaller than the unpooled shape");
    const TensorView& y = c.out(0);  // shaped by the schema (run_shape_max_unpool while running)
    std::memset(y.data, 0, y.nbytes());
    int64_t total = 1;
    for (int64_t v : inferred) total *= v;
    size_t es = dtype_size(x.dtype);
    DYNRT_DISPATCH_BYTES(es, "MaxUnpool", {
      const E* src = x.as<const E>();
      E* dst = y.as<E>();
      for (int64_t e = 0; e < x.numel(); ++e) {
        int64_t at = index_at(ind, e);
        if (at < 0 || at >= total) bad("MaxUnpool", "index " + std::to_string(at) + " is out of range");
        // Position in the unpooled shape, placed at the same coordinates of the output.
        int64_t rem = at, o = 0, stride = 1;
        for (size_t i = inferred.size(); i-- > 0;) {
          o += (rem % inferred[i]) * stride;
          rem /= inferred[i];
          stride *= out[i];
        }
        dst[o] = src[e];
      }
    });
  });
}

struct DeformAttrs {
  int64_t group = 1, og = 1;
  int64_t kh = 0, kw = 0, sh = 1, sw = 1, dh = 1, dw = 1, ph = 0, pw = 0;
};

template <class T>
T bilinear_zero(const T* img, int64_t h, int64_t w, T y, T x) {
  T fy = std::floor(y), fx = std::floor(x);
  auto y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
  T ly = y - fy, lx = x - fx;
  auto at = [&](int64_t yy, int64_t xx) { return yy >= 0 && yy < h && xx >= 0 && xx < w ? img[yy * w + xx] : T(0); };
  return (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x0 + 1)) + ly * ((1 - lx) * at(y0 + 1, x0) + lx * at(y0 + 1, x0 + 1));
}

template <class T>
void deform_conv(const DeformAttrs& attrs, KernelContext& c) {
  const TensorView &x = c.in(0), &wt = c.in(1), &off = c.in(2), &y = c.out(0);
  int64_t n = x.dim(0), ic = x.dim(1), h = x.dim(2), w = x.dim(3), oc = wt.dim(0);
  DeformAttrs a = attrs;
  if (a.kh == 0) a.kh = wt.dim(2), a.kw = wt.dim(3);
  int64_t oh = y.dim(2), ow = y.dim(3), kk = a.kh * a.kw, sp = oh * ow;
  int64_t icg = ic / a.group, ocg = oc / a.group, ic_og = ic / a.og;
  const T *px = x.as<const T>(), *pw = wt.as<const T>(), *po = off.as<const T>();
  const T* pm = c.has_in(4) ? c.in(4).as<const T>() : nullptr;
  const T* pb = c.has_in(3) ? c.in(3).as<const T>() : nullptr;
  T* py = y.as<T>();
  std::vector<T> cols(sz(ic * kk * sp));
  for (int64_t b = 0; b < n; ++b) {
    // Sampled (and masked) input columns [ic, kh*kw, oh*ow].
    parallel_for(ic * kk, 1, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        int64_t ci = r / kk, k = r % kk, ki = k / a.kw, kj = k % a.kw, g = ci / ic_og;
        const T* img = px + (b * ic + ci) * h * w;
        const T* oy = po + ((b * a.og + g) * kk * 2 + k * 2) * sp;
        const T* ox = oy + sp;
        const T* m = pm ? pm + ((b * a.og + g) * kk + k) * sp : nullptr;
        T* col = cols.data() + r * sp;
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j) {
            int64_t s = i * ow + j;
            T yy = static_cast<T>(-a.ph + i * a.sh + ki * a.dh) + oy[s];
            T xx = static_cast<T>(-a.pw + j * a.sw + kj * a.dw) + ox[s];
            T v = bilinear_zero(img, h, w, yy, xx);
            col[s] = m ? v * m[s] : v;
          }
      }
    });
    parallel_for(oc, 1, [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        int64_t g = o / ocg;
        T* out = py + (b * oc + o) * sp;
        for (int64_t s = 0; s < sp; ++s) out[s] = pb ? pb[o] : T(0);
        for (int64_t ci = 0; ci < icg; ++ci)
          for (int64_t k = 0; k < kk; ++k) {
            T wv = pw[(o * icg + ci) * kk + k];
            const T* col = cols.data() + ((g * icg + ci) * kk + k) * sp;
            for (int64_t s = 0; s < sp; ++s) out[s] += wv * col[s];
          }
      }
    });
  }
}

std::unique_ptr<Kernel> make_deform_conv(const KernelInit& init) {
  DeformAttrs a;
  DeformConvAttrs attrs = DeformConvAttrs::parse(init);
  a.group = attrs.group;
  a.og = attrs.offset_group;
  std::vector<int64_t> k = attrs.kernel_shape, s = attrs.strides, d = attrs.dilations, p = attrs.pads;
  if (k.empty()) k = {0, 0};  // taken from W at run time
  a.kh = k[0], a.kw = k[1], a.sh = s[0], a.sw = s[1], a.dh = d[0], a.dw = d[1], a.ph = p[0], a.pw = p[1];
  return make_kernel([a](KernelContext& c) { DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "DeformConv", deform_conv<T>(a, c)); });
}

}  // namespace

std::unique_ptr<Kernel> make_col2im_kernel(const KernelInit& init) { return make_col2im(init); }
std::unique_ptr<Kernel> make_max_unpool_kernel(const KernelInit& init) { return make_max_unpool(init); }
std::unique_ptr<Kernel> make_deform_conv_kernel(const KernelInit& init) { return make_deform_conv(init); }

}  // namespace dynrt::cpu
