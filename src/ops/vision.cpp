// Inference for detection / image ops: RoiAlign, NonMaxSuppression, Col2Im,
// CenterCropPad, MaxUnpool, DeformConv, ImageDecoder. Sizes given as input tensors (shape,
// image_shape, output_shape) are used symbolically when known at build time
// and otherwise become run-time dims the kernel binds.
#include "codecs/image_codecs.h"
#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"
#include "ops/runtime_shape.h"
#include "ops/shape_fns.h"

namespace dynrt {
namespace {

bool is_real(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16 || t == DType::kBFloat16;
}

void require_real(InferContext& c, size_t i, const char* what) {
  if (!is_real(c.dtype(i)))
    c.unsupported(std::string(what) + " of type " + dtype_name(c.dtype(i)) + " (floating types are supported)");
}

void infer_roi_align(InferContext& c) {
  require_real(c, 0, "X");
  const std::vector<Expr>&x = c.shape(0), &rois = c.shape(1), &idx = c.shape(2);
  if (x.size() != 4) c.fail("X must be 4-D");
  if (rois.size() != 2) c.fail("rois must be 2-D");
  if (idx.size() != 1) c.fail("batch_indices must be 1-D");
  if (c.dtype(1) != c.dtype(0)) c.fail("rois must have X's type");
  if (c.dtype(2) != DType::kInt64 && c.dtype(2) != DType::kInt32) c.fail("batch_indices must be an integer tensor");
  c.require_equal(rois[1], Expr::constant(4), "rois columns");
  c.require_equal(idx[0], rois[0], "batch_indices length vs rois");
  RoiAlignAttrs attrs = RoiAlignAttrs::parse(c);
  const std::string& mode = attrs.mode;
  if (mode != "avg" && mode != "max") c.fail("unknown mode '" + mode + "'");
  const std::string& ct = attrs.coordinate_transformation_mode;
  if (ct != "half_pixel" && ct != "output_half_pixel") c.fail("unknown coordinate_transformation_mode '" + ct + "'");
  int64_t oh = attrs.output_height, ow = attrs.output_width;
  if (oh < 1 || ow < 1) c.fail("output_height and output_width must be positive");
  c.set_output(0, c.dtype(0), {rois[0], x[1], Expr::constant(oh), Expr::constant(ow)});
}

void infer_nms(InferContext& c) {
  if (c.dtype(0) != DType::kFloat32 && c.dtype(0) != DType::kFloat64)
    c.unsupported(std::string("boxes of type ") + dtype_name(c.dtype(0)));
  if (c.dtype(1) != c.dtype(0)) c.fail("scores must have boxes' type");
  const std::vector<Expr>&boxes = c.shape(0), &scores = c.shape(1);
  if (boxes.size() != 3 || scores.size() != 3) c.fail("boxes and scores must be 3-D");
  c.require_equal(boxes[2], Expr::constant(4), "boxes last dim");
  c.require_equal(scores[0], boxes[0], "scores batch vs boxes");
  c.require_equal(scores[2], boxes[1], "scores boxes vs boxes");
  if (c.has_input(2) && c.dtype(2) != DType::kInt64) c.fail("max_output_boxes_per_class must be int64");
  Expr n = c.new_data_dependent_symbol("nms", boxes[0] * scores[1] * boxes[1]);
  c.set_output(0, DType::kInt64, {n, Expr::constant(3)});
}

// Spatial rank of Col2Im: the length of image_shape, or of an attribute.
size_t col2im_spatial(InferContext& c) {
  const std::vector<Expr>& s = c.shape(1);
  if (s.size() == 1 && s[0].is_const()) return static_cast<size_t>(s[0].const_value());
  Col2ImAttrs attrs = Col2ImAttrs::parse(c);
  if (!attrs.dilations.empty()) return attrs.dilations.size();
  if (!attrs.strides.empty()) return attrs.strides.size();
  if (!attrs.pads.empty()) return attrs.pads.size() / 2;
  return static_length(c, 1, "image_shape");
}

// Col2Im's output dims: [N, C / prod(block_shape), image_shape...].
template <class T, class Ctx>
std::vector<T> col2im_shape(Ctx& c, const std::vector<T>& x, const std::vector<T>& image, const std::vector<T>& block) {
  if (block.size() != image.size()) c.fail("block_shape and image_shape lengths differ");
  T kprod = shapefn::product_of(block);
  c.require_divisible(x[1], kprod, "input channels by prod(block_shape)");
  std::vector<T> out = {x[0], shapefn::fdiv(x[1], kprod)};
  out.insert(out.end(), image.begin(), image.end());
  return out;
}

// CenterCropPad's output dims: `shape` on the listed axes (normalized).
template <class T, class Ctx>
std::vector<T> center_crop_pad_shape(Ctx& c, const std::vector<T>& x, const std::vector<int64_t>& axes,
                                     const std::vector<T>& shape) {
  if (shape.size() != axes.size()) c.fail("shape length differs from the number of axes");
  std::vector<T> out = x;
  for (size_t i = 0; i < axes.size(); ++i) {
    if (shapefn::negative(shape[i])) c.fail("negative target size");
    out[static_cast<size_t>(axes[i])] = shape[i];
  }
  return out;
}

template <class Ctx>
std::vector<int64_t> crop_axes(const Ctx& c, size_t rank) {
  std::vector<int64_t> axes = CenterCropPadAttrs::parse(c).axes;
  if (axes.empty())
    for (size_t i = 0; i < rank; ++i) axes.push_back(static_cast<int64_t>(i));
  for (int64_t& a : axes) a = c.axis(a, rank, "axes");
  return axes;
}

// Shapes given as graph inputs: decided here, while running.
void run_shape_col2im(RunShapeContext& c) {
  std::vector<int64_t> x = c.shape(0);
  if (x.size() != 3) c.fail("input must be 3-D [N, C*prod(block_shape), L]");
  c.set_output(0, col2im_shape(c, x, c.values(1), c.values(2)));
}
void run_shape_center_crop_pad(RunShapeContext& c) {
  std::vector<int64_t> x = c.shape(0);
  c.set_output(0, center_crop_pad_shape(c, x, crop_axes(c, x.size()), c.values(1)));
}
void run_shape_max_unpool(RunShapeContext& c) {
  std::vector<int64_t> x = c.shape(0), out = c.values(2);
  if (out.size() != x.size()) c.fail("output_shape must have X's rank");
  c.set_output(0, out);
}

void infer_col2im(InferContext& c) {
  const std::vector<Expr>& x = c.shape(0);
  if (x.size() != 3) c.fail("input must be 3-D [N, C*prod(block_shape), L]");
  DType t = c.dtype(0);
  if (t == DType::kFloat16 || t == DType::kBFloat16 || t == DType::kBool || t == DType::kString)
    c.unsupported(std::string("input type ") + dtype_name(t));
  size_t k = col2im_spatial(c);
  if (k < 1) c.fail("image_shape must not be empty");
  std::vector<Expr> out = {x[0]};
  auto image = c.values(1), block = c.values(2);
  if (block && block->size() != k) c.fail("block_shape and image_shape lengths differ");
  if (image && image->size() != k) c.fail("image_shape length differs from the attributes");
  if (block && image) {
    c.set_output(0, c.dtype(0), col2im_shape(c, x, *image, *block));
    return;
  }
  if (block) {
    Expr kprod = Expr::constant(1);
    for (const Expr& b : *block) kprod = kprod * b;
    c.require_divisible(x[1], kprod, "input channels by prod(block_shape)");
    out.push_back(floordiv(x[1], kprod));
  } else {
    out.push_back(runtime_dim(c, x[1]));
  }
  for (size_t i = 0; i < k; ++i) out.push_back(image ? (*image)[i] : runtime_dim(c));
  c.set_output(0, c.dtype(0), out);
}

void infer_center_crop_pad(InferContext& c) {
  const std::vector<Expr>& x = c.shape(0);
  std::vector<int64_t> axes = crop_axes(c, x.size());
  if (c.dtype(1) != DType::kInt64 && c.dtype(1) != DType::kInt32) c.fail("shape must be an integer tensor");
  if (auto v = c.values(1)) {
    c.set_output(0, c.dtype(0), center_crop_pad_shape(c, x, axes, *v));
    return;
  }
  std::vector<Expr> out = x;  // the cropped/padded dims come while running
  for (int64_t a : axes) out[static_cast<size_t>(a)] = runtime_dim(c);
  c.set_output(0, c.dtype(0), out);
}

void infer_max_unpool(InferContext& c) {
  const std::vector<Expr>& x = c.shape(0);
  if (x.size() < 3) c.fail("X must have rank >= 3");
  if (c.dtype(1) != DType::kInt64) c.fail("I must be int64");
  size_t n = x.size() - 2;
  MaxUnpoolAttrs attrs = MaxUnpoolAttrs::parse(c, n);
  const std::vector<int64_t>&k = attrs.kernel_shape, &s = attrs.strides, &p = attrs.pads;
  if (k.size() != n) c.fail("kernel_shape must have one entry per spatial dim");
  if (s.size() != n || p.size() != 2 * n) c.fail("strides/pads have the wrong length");
  const std::vector<Expr>& ind = c.shape(1);
  if (ind.size() != x.size()) c.fail("I must have X's rank");
  for (size_t i = 0; i < x.size(); ++i) c.require_equal(ind[i], x[i], "I shape vs X");
  std::vector<Expr> out = {x[0], x[1]};
  if (c.has_input(2)) {
    auto v = c.values(2);
    if (v && v->size() != x.size()) c.fail("output_shape must have X's rank");
    for (size_t i = 2; i < x.size(); ++i) out.push_back(v ? (*v)[i] : runtime_dim(c));
  } else {
    for (size_t i = 0; i < n; ++i)
      out.push_back((x[i + 2] - Expr::constant(1)) * Expr::constant(s[i]) - Expr::constant(p[i] + p[n + i]) +
                    Expr::constant(k[i]));
  }
  c.set_output(0, c.dtype(0), out);
}

void infer_deform_conv(InferContext& c) {
  require_real(c, 0, "X");
  const std::vector<Expr>&x = c.shape(0), &w = c.shape(1), &off = c.shape(2);
  if (x.size() != 4) c.unsupported("DeformConv on " + std::to_string(x.size() - 2) + "-D images (2-D is supported)");
  if (w.size() != 4 || off.size() != 4) c.fail("W and offset must be 4-D");
  DeformConvAttrs attrs = DeformConvAttrs::parse(c);
  int64_t group = attrs.group, og = attrs.offset_group;
  std::vector<int64_t> k = attrs.kernel_shape;
  if (k.empty()) {
    if (!w[2].is_const() || !w[3].is_const()) c.unsupported("kernel_shape must be known at build time");
    k = {w[2].const_value(), w[3].const_value()};
  }
  const std::vector<int64_t>&s = attrs.strides, &d = attrs.dilations, &p = attrs.pads;
  if (k.size() != 2 || s.size() != 2 || d.size() != 2 || p.size() != 4) c.fail("attribute lengths must match 2-D");
  c.require_equal(w[1] * Expr::constant(group), x[1], "W channels * group vs X channels");
  c.require_divisible(w[0], Expr::constant(group), "output channels by group");
  c.require_divisible(x[1], Expr::constant(og), "input channels by offset_group");
  c.require_equal(w[2], Expr::constant(k[0]), "kernel height");
  c.require_equal(w[3], Expr::constant(k[1]), "kernel width");
  Expr oh = floordiv(x[2] + Expr::constant(p[0] + p[2] - ((k[0] - 1) * d[0] + 1)), Expr::constant(s[0])) + Expr::constant(1);
  Expr ow = floordiv(x[3] + Expr::constant(p[1] + p[3] - ((k[1] - 1) * d[1] + 1)), Expr::constant(s[1])) + Expr::constant(1);
  c.require_equal(off[0], x[0], "offset batch");
  c.require_equal(off[1], Expr::constant(og * k[0] * k[1] * 2), "offset channels");
  c.require_equal(off[2], oh, "offset height vs output height");
  c.require_equal(off[3], ow, "offset width vs output width");
  if (c.has_input(3)) {
    if (c.rank(3) != 1) c.fail("B must be 1-D");
    c.require_equal(c.shape(3)[0], w[0], "B length vs output channels");
  }
  if (c.has_input(4)) {
    const std::vector<Expr>& m = c.shape(4);
    if (m.size() != 4) c.fail("mask must be 4-D");
    c.require_equal(m[0], x[0], "mask batch");
    c.require_equal(m[1], Expr::constant(og * k[0] * k[1]), "mask channels");
    c.require_equal(m[2], oh, "mask height");
    c.require_equal(m[3], ow, "mask width");
  }
  c.set_output(0, c.dtype(0), {x[0], w[0], oh, ow});
}

}  // namespace

// The image's size is known once it is decoded.
void infer_image_decoder(InferContext& c) {
  if (c.dtype(0) != DType::kUInt8) c.fail("encoded_stream must be uint8");
  if (c.rank(0) != 1) c.fail("encoded_stream must be 1-D");
  ImageDecoderAttrs attrs = ImageDecoderAttrs::parse(c);
  if (!attrs.valid()) c.fail("unknown pixel_format '" + attrs.pixel_format + "' (RGB, BGR or Grayscale)");
  Expr h = c.new_data_dependent_symbol("image_height", Expr::constant(kDynrtMaxImageSide));
  Expr w = c.new_data_dependent_symbol("image_width", Expr::constant(kDynrtMaxImageSide));
  c.set_output(0, DType::kUInt8, {h, w, Expr::constant(attrs.channels())});
}

void register_vision_ops(OpRegistry& r) {
  r.add("RoiAlign", infer_roi_align);
  r.add("NonMaxSuppression", infer_nms).data_dependent();
  r.add("Col2Im", infer_col2im).host_inputs({1, 2}).shape_at_run_time(run_shape_col2im);
  r.add("CenterCropPad", infer_center_crop_pad).host_inputs({1}).shape_at_run_time(run_shape_center_crop_pad);
  r.add("MaxUnpool", infer_max_unpool).host_inputs({2}).shape_at_run_time(run_shape_max_unpool);
  r.add("DeformConv", infer_deform_conv);
  r.add("ImageDecoder", infer_image_decoder).data_dependent();
}

}  // namespace dynrt
