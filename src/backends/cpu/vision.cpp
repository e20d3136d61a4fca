// CPU kernels for RoiAlign, NonMaxSuppression, Col2Im, CenterCropPad,
// MaxUnpool and DeformConv, following the ONNX reference implementations
// (which match ONNX Runtime, e.g. RoiAlign's max mode takes the max of the
// weighted corner values).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/half.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"
#include "ops/runtime_shape.h"

namespace dynrt::cpu {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

[[noreturn]] void bad(const std::string& op, const std::string& msg) {
  throw Error(ErrorCode::kInvalidInput, op + ": " + msg);
}

// ---- RoiAlign ----------------------------------------------------------------

struct RoiAttrs {
  bool max_mode = false, half_pixel = true;
  int64_t oh = 1, ow = 1, sampling = 0;
  float scale = 1.f;
};

template <class T>
void roi_align(const RoiAttrs& a, KernelContext& c) {
  const TensorView &x = c.in(0), &rois = c.in(1), &bi = c.in(2), &y = c.out(0);
  int64_t n = x.dim(0), ch = x.dim(1), h = x.dim(2), w = x.dim(3), nr = rois.dim(0);
  const T* px = x.as<const T>();
  const T* pr = rois.as<const T>();
  T* py = y.as<T>();
  parallel_for(nr, 1, [&](int64_t r0, int64_t r1) {
    struct Pre {
      int64_t pos[4];
      T w[4];
    };
    std::vector<Pre> pre;
    for (int64_t r = r0; r < r1; ++r) {
      int64_t b = index_at(bi, r);
      if (b < 0 || b >= n) bad("RoiAlign", "batch index " + std::to_string(b) + " is out of range");
      T off = a.half_pixel ? T(0.5) : T(0);
      T sw = pr[r * 4] * static_cast<T>(a.scale) - off, sh = pr[r * 4 + 1] * static_cast<T>(a.scale) - off;
      T ew = pr[r * 4 + 2] * static_cast<T>(a.scale) - off, eh = pr[r * 4 + 3] * static_cast<T>(a.scale) - off;
      T rw = ew - sw, rh = eh - sh;
      if (!a.half_pixel) rw = std::max(rw, T(1)), rh = std::max(rh, T(1));
      T bh = rh / static_cast<T>(a.oh), bw = rw / static_cast<T>(a.ow);
      int64_t gh = a.sampling > 0 ? a.sampling : static_cast<int64_t>(std::ceil(rh / static_cast<T>(a.oh)));
      int64_t gw = a.sampling > 0 ? a.sampling : static_cast<int64_t>(std::ceil(rw / static_cast<T>(a.ow)));
      T count = static_cast<T>(std::max<int64_t>(gh * gw, 1));
      pre.assign(sz(a.oh * a.ow * gh * gw), Pre{});
      size_t k = 0;
      for (int64_t ph = 0; ph < a.oh; ++ph)
        for (int64_t pw = 0; pw < a.ow; ++pw)
          for (int64_t iy = 0; iy < gh; ++iy) {
            T yy = sh + static_cast<T>(ph) * bh + (static_cast<T>(iy) + T(0.5)) * bh / static_cast<T>(gh);
            for (int64_t ix = 0; ix < gw; ++ix, ++k) {
              T xx = sw + static_cast<T>(pw) * bw + (static_cast<T>(ix) + T(0.5)) * bw / static_cast<T>(gw);
              Pre& p = pre[k];
              if (yy < -1 || yy > static_cast<T>(h) || xx < -1 || xx > static_cast<T>(w)) continue;  // zeros
              T yv = std::max(yy, T(0)), xv = std::max(xx, T(0));
              int64_t yl = static_cast<int64_t>(yv), xl = static_cast<int64_t>(xv), yh2 = 0, xh2 = 0;
              if (yl >= h - 1) yh2 = yl = h - 1, yv = static_cast<T>(yl);
              else yh2 = yl + 1;
              if (xl >= w - 1) xh2 = xl = w - 1, xv = static_cast<T>(xl);
              else xh2 = xl + 1;
              T ly = yv - static_cast<T>(yl), lx = xv - static_cast<T>(xl), hy = 1 - ly, hx = 1 - lx;
              p = Pre{{yl * w + xl, yl * w + xh2, yh2 * w + xl, yh2 * w + xh2}, {hy * hx, hy * lx, ly * hx, ly * lx}};
            }
          }
      for (int64_t cc = 0; cc < ch; ++cc) {
        const T* img = px + (b * ch + cc) * h * w;
        T* out = py + (r * ch + cc) * a.oh * a.ow;
        size_t q = 0;
        for (int64_t o = 0; o < a.oh * a.ow; ++o) {
          T acc = 0;
          bool first = true;
          for (int64_t s = 0; s < gh * gw; ++s, ++q) {
            const Pre& p = pre[q];
            if (!a.max_mode) {
              acc += p.w[0] * img[p.pos[0]] + p.w[1] * img[p.pos[1]] + p.w[2] * img[p.pos[2]] + p.w[3] * img[p.pos[3]];
            } else {
              T v = std::max(std::max(p.w[0] * img[p.pos[0]], p.w[1] * img[p.pos[1]]),
                             std::max(p.w[2] * img[p.pos[2]], p.w[3] * img[p.pos[3]]));
              acc = first ? v : std::max(acc, v);
              first = false;
            }
          }
          out[o] = a.max_mode ? acc : acc / count;
        }
      }
    }
  });
}

std::unique_ptr<Kernel> make_roi_align(const KernelInit& init) {
  RoiAttrs a;
  RoiAlignAttrs attrs = RoiAlignAttrs::parse(init);
  a.max_mode = attrs.mode == "max";
  a.half_pixel = attrs.coordinate_transformation_mode == "half_pixel";
  a.oh = attrs.output_height;
  a.ow = attrs.output_width;
  a.sampling = attrs.sampling_ratio;
  a.scale = attrs.spatial_scale;
  return make_kernel([a](KernelContext& c) { DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "RoiAlign", roi_align<T>(a, c)); });
}

// ---- NonMaxSuppression ----------------------------------------------------------

template <class T>
bool suppress(const T* b1, const T* b2, bool center, T iou_threshold) {
  T x1lo, x1hi, x2lo, x2hi, y1lo, y1hi, y2lo, y2hi;
  if (!center) {
    x1lo = std::min(b1[1], b1[3]), x1hi = std::max(b1[1], b1[3]);
    x2lo = std::min(b2[1], b2[3]), x2hi = std::max(b2[1], b2[3]);
    y1lo = std::min(b1[0], b1[2]), y1hi = std::max(b1[0], b1[2]);
    y2lo = std::min(b2[0], b2[2]), y2hi = std::max(b2[0], b2[2]);
  } else {
    x1lo = b1[0] - b1[2] / 2, x1hi = b1[0] + b1[2] / 2, x2lo = b2[0] - b2[2] / 2, x2hi = b2[0] + b2[2] / 2;
    y1lo = b1[1] - b1[3] / 2, y1hi = b1[1] + b1[3] / 2, y2lo = b2[1] - b2[3] / 2, y2hi = b2[1] + b2[3] / 2;
  }
  T ixlo = std::max(x1lo, x2lo), ixhi = std::min(x1hi, x2hi);
  if (ixhi <= ixlo) return false;
  T iylo = std::max(y1lo, y2lo), iyhi = std::min(y1hi, y2hi);
  if (iyhi <= iylo) return false;
  T inter = (ixhi - ixlo) * (iyhi - iylo);
  T a1 = (x1hi - x1lo) * (y1hi - y1lo), a2 = (x2hi - x2lo) * (y2hi - y2lo), uni = a1 + a2 - inter;
  if (inter <= 0 || a1 <= 0 || a2 <= 0 || uni <= 0) return false;
  return inter / uni > iou_threshold;
}

template <class T>
void nms(bool center, KernelContext& c) {
  const TensorView &boxes = c.in(0), &scores = c.in(1);
  int64_t nb = boxes.dim(0), n = boxes.dim(1), nc = scores.dim(1);
  int64_t max_out = c.has_in(2) && c.in(2).numel() > 0 ? std::max<int64_t>(index_at(c.in(2), 0), 0) : 0;
  T iou = c.has_in(3) && c.in(3).numel() > 0 ? c.in(3).as<const T>()[0] : T(0);
  bool has_st = c.has_in(4) && c.in(4).numel() > 0;
  T st = has_st ? c.in(4).as<const T>()[0] : T(0);
  std::vector<int64_t> sel;
  std::vector<int64_t> cand, kept;
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t k = 0; k < nc; ++k) {
      const T* sc = scores.as<const T>() + (b * nc + k) * n;
      const T* bx = boxes.as<const T>() + b * n * 4;
      cand.clear();
      kept.clear();
      for (int64_t i = 0; i < n; ++i)
        if (!has_st || sc[i] > st) cand.push_back(i);
      // Highest score first; ties by lower index.
      std::stable_sort(cand.begin(), cand.end(), [&](int64_t l, int64_t r) { return sc[l] > sc[r]; });
      for (int64_t i : cand) {
        if (static_cast<int64_t>(kept.size()) >= max_out) break;
        bool ok = true;
        for (int64_t j : kept)
          if (suppress(bx + i * 4, bx + j * 4, center, iou)) {
            ok = false;
            break;
          }
        if (!ok) continue;
        kept.push_back(i);
        sel.insert(sel.end(), {b, k, i});
      }
    }
  int64_t dims[2] = {static_cast<int64_t>(sel.size() / 3), 3};
  c.allocate_output(0, dims);
  if (!sel.empty()) std::memcpy(c.out(0).data, sel.data(), sel.size() * sizeof(int64_t));
}

std::unique_ptr<Kernel> make_nms(const KernelInit& init) {
  bool center = init.attr_int("center_point_box", 0) != 0;
  return make_kernel([center](KernelContext& c) { DYNRT_DISPATCH_FLOAT(c.in(0).dtype, "NonMaxSuppression", nms<T>(center, c)); });
}

// ---- CenterCropPad -----------------------------------------------------------

std::unique_ptr<Kernel> make_center_crop_pad(const KernelInit& init) {
  std::vector<int64_t> axes_attr = CenterCropPadAttrs::parse(init).axes;
  return make_kernel([axes_attr](KernelContext& c) {
    const TensorView& x = c.in(0);
    std::vector<int64_t> axes = axes_attr, shape = read_ints(c.in(1));
    if (axes.empty())
      for (int i = 0; i < x.rank; ++i) axes.push_back(i);
    if (shape.size() != axes.size()) bad("CenterCropPad", "shape length differs from the number of axes");
    std::vector<int64_t> out(x.dims.begin(), x.dims.begin() + x.rank);
    std::vector<int64_t> src_off(sz(x.rank), 0), dst_off(sz(x.rank), 0), cnt = out;
    for (size_t i = 0; i < axes.size(); ++i) {
      int64_t a = axes[i] < 0 ? axes[i] + x.rank : axes[i], d = x.dim(static_cast<int>(a)), s = shape[i];
      if (s < 0) bad("CenterCropPad", "negative target size");
      out[sz(a)] = s;
      if (s < d) src_off[sz(a)] = (d - s) / 2, cnt[sz(a)] = s;
      else dst_off[sz(a)] = (s - d) / 2, cnt[sz(a)] = d;
    }
    const TensorView& y = c.out(0);  // shaped by the schema (run_shape_center_crop_pad while running)
    size_t es = dtype_size(x.dtype);
    std::memset(y.data, 0, y.nbytes());
    int64_t total = 1;
    for (int64_t v : cnt) total *= v;
    if (total == 0) return;
    int r = x.rank;
    int64_t inner = cnt[sz(r - 1)], rows = total / inner;
    std::vector<int64_t> xs(sz(r)), ys(sz(r));
    contiguous_strides(x, xs.data());
    contiguous_strides(y, ys.data());
    const auto* src = static_cast<const std::byte*>(x.data);
    auto* dst = static_cast<std::byte*>(y.data);
    for (int64_t row = 0; row < rows; ++row) {
      int64_t rem = row, so = src_off[sz(r - 1)], dof = dst_off[sz(r - 1)];
      for (int i = r - 2; i >= 0; --i) {
        int64_t idx = rem % cnt[sz(i)];
        rem /= cnt[sz(i)];
        so += (idx + src_off[sz(i)]) * xs[sz(i)];
        dof += (idx + dst_off[sz(i)]) * ys[sz(i)];
      }
      std::memcpy(dst + sz(dof) * es, src + sz(so) * es, sz(inner) * es);
    }
  });
}

}  // namespace

std::unique_ptr<Kernel> make_col2im_kernel(const KernelInit& init);       // vision_conv.cpp
std::unique_ptr<Kernel> make_max_unpool_kernel(const KernelInit& init);   // vision_conv.cpp
std::unique_ptr<Kernel> make_deform_conv_kernel(const KernelInit& init);  // vision_conv.cpp

}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_vision_kernels(KernelRegistry& r) {
  using namespace cpu;
  r.add_kernel("RoiAlign", widen_half(make_roi_align));
  r.add_kernel("NonMaxSuppression", make_nms);
  r.add_kernel("CenterCropPad", make_center_crop_pad);
  r.add_kernel("Col2Im", make_col2im_kernel);
  r.add_kernel("MaxUnpool", make_max_unpool_kernel);
  r.add_kernel("DeformConv", widen_half(make_deform_conv_kernel));
}

}  // namespace dynrt
