// Inference for Resize (opsets 10-19+), Upsample (7, 9), GridSample and
// AffineGrid.
//
// Output dims come from `sizes` or from floor(dim * scale). With constant
// scales the dims stay symbolic: a float scale is an exact dyadic fraction
// m / 2^k, so floor(d * scale) = floordiv(d * m, 2^k). Scales or sizes that
// are computed at run time give run-time dims (the kernel allocates).
#include <cmath>

#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"
#include "ops/resize_shape.h"
#include "ops/runtime_shape.h"
#include "ops/shape_fns.h"

namespace dynrt {
namespace {

bool is_float(DType t) { return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16; }

// floor(d * s) for a float scale s > 0, exactly.
Expr scaled_dim(InferContext& c, Expr d, double s) {
  if (s <= 0 || !std::isfinite(s)) c.fail("scales must be positive");
  if (d.is_const()) return Expr::constant(static_cast<int64_t>(std::floor(static_cast<double>(d.const_value()) * s)));
  int k = 0;
  double m = s;
  while (m != std::floor(m) && k < 24) {
    m *= 2;
    ++k;
  }
  if (m != std::floor(m) || m > 1e9) return runtime_dim(c);
  return floordiv(d * Expr::constant(static_cast<int64_t>(m)), Expr::constant(int64_t{1} << k));
}

// The output rank is the input's, so a length known only at run time is
// checked by the kernel.
void check_length(InferContext& c, size_t i, size_t n, const std::string& what) {
  const std::vector<Expr>& s = c.shape(i);
  if (s.size() != 1) c.fail(what + " must be 1-D");
  if (s[0].is_const() && s[0].const_value() != static_cast<int64_t>(n))
    c.fail(what + " must have one value per resized axis");
}

void infer_resize(InferContext& c) {
  const std::string& op = c.node().op;
  bool upsample = op == "Upsample";
  int64_t opset = c.opset();
  if (!c.rank_known(0)) c.unsupported("input of unknown rank");
  const std::vector<Expr>& in = c.shape(0);
  size_t r = in.size();
  DType t = c.dtype(0);
  ResizeAttrs attrs = ResizeAttrs::parse(c, upsample);
  const std::string& mode = attrs.mode;
  if (mode != "nearest" && mode != "linear" && mode != "cubic") c.fail("unknown mode '" + mode + "'");
  if (mode != "nearest" && !is_float(t) && t != DType::kUInt8 && t != DType::kInt8 && t != DType::kInt32 &&
      t != DType::kInt64)
    c.unsupported(std::string("mode '") + mode + "' on " + dtype_name(t));
  const std::string& ct = attrs.ct;
  if (ct != "half_pixel" && ct != "half_pixel_symmetric" && ct != "pytorch_half_pixel" && ct != "align_corners" &&
      ct != "asymmetric" && ct != "tf_crop_and_resize" && ct != "tf_half_pixel_for_nn")
    c.fail("unknown coordinate_transformation_mode '" + ct + "'");
  const std::string& nm = attrs.nearest;
  if (nm != "round_prefer_floor" && nm != "round_prefer_ceil" && nm != "floor" && nm != "ceil")
    c.fail("unknown nearest_mode '" + nm + "'");
  const std::string& policy = attrs.policy;
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
    c.fail("unknown keep_aspect_ratio_policy '" + policy + "'");
  if (attrs.antialias && mode == "nearest") c.fail("antialias needs mode linear or cubic");

  std::vector<int64_t> axes;
  for (int64_t a : attrs.axes) axes.push_back(c.axis(a, r, "axes"));
  if (axes.empty())
    for (size_t i = 0; i < r; ++i) axes.push_back(static_cast<int64_t>(i));

  // Where scales and sizes come from.
  size_t scales_at = (upsample || opset < 11) ? 1 : 2;
  auto present = [&](size_t i) {
    if (!c.has_input(i)) return false;
    const std::vector<Expr>& s = c.shape(i);
    return !(s.size() == 1 && s[0].is_const() && s[0].const_value() == 0);  // empty = absent
  };
  std::vector<Expr> out = in;
  if (upsample && opset < 9) {
    const std::vector<float>& sc = attrs.attr_scales;
    if (sc.size() != r) c.fail("scales must have one value per input dim");
    for (size_t i = 0; i < r; ++i) out[i] = scaled_dim(c, in[i], sc[i]);
  } else if (!upsample && opset >= 11 && present(3)) {
    if (present(scales_at)) c.fail("only one of scales and sizes may be given");
    check_length(c, 3, axes.size(), "sizes");
    auto v = c.values(3);
    bool consts = true;
    for (size_t i = 0; i < axes.size(); ++i) consts = consts && in[static_cast<size_t>(axes[i])].is_const();
    if (v && policy == "stretch") {
      for (size_t i = 0; i < axes.size(); ++i) out[static_cast<size_t>(axes[i])] = (*v)[i];
    } else if (v && consts) {
      double scale = policy == "not_larger" ? INFINITY : 0;
      for (size_t i = 0; i < axes.size(); ++i) {
        if (!(*v)[i].is_const()) c.unsupported("sizes with keep_aspect_ratio_policy must be constant");
        double s = static_cast<double>((*v)[i].const_value()) /
                   static_cast<double>(in[static_cast<size_t>(axes[i])].const_value());
        scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
      }
      for (int64_t a : axes)
        out[static_cast<size_t>(a)] =
            Expr::constant(static_cast<int64_t>(scale * static_cast<double>(in[static_cast<size_t>(a)].const_value()) + 0.5));
    } else {
      for (int64_t a : axes) out[static_cast<size_t>(a)] = runtime_dim(c);
    }
  } else if (present(scales_at)) {
    check_length(c, scales_at, axes.size(), "scales");
    const Tensor* s = c.constant(scales_at);
    if (s && s->dtype() == DType::kFloat32) {
      for (size_t i = 0; i < axes.size(); ++i)
        out[static_cast<size_t>(axes[i])] = scaled_dim(c, in[static_cast<size_t>(axes[i])], s->data_as<float>()[i]);
    } else {
      for (int64_t a : axes) out[static_cast<size_t>(a)] = runtime_dim(c);
    }
  } else {
    c.fail("one of scales and sizes is required");
  }
  c.set_output(0, t, out);
}

// GridSample: X [N, C, D1..Dr] sampled at grid [N, O1..Or, r] -> [N, C, O1..Or].
void infer_grid_sample(InferContext& c) {
  DType t = c.dtype(0);
  if (t != DType::kFloat32 && t != DType::kFloat64) c.unsupported(std::string("input type ") + dtype_name(t));
  if (c.dtype(1) != DType::kFloat32 && c.dtype(1) != DType::kFloat64) c.fail("grid must be float");
  const std::vector<Expr>&x = c.shape(0), &g = c.shape(1);
  if (x.size() < 3) c.fail("X must have rank >= 3");
  if (g.size() != x.size()) c.fail("grid must have X's rank");
  c.require_equal(g[0], x[0], "grid batch");
  c.require_equal(g.back(), Expr::constant(static_cast<int64_t>(x.size() - 2)), "grid last dim (spatial rank)");
  GridSampleAttrs attrs = GridSampleAttrs::parse(c);
  const std::string& mode = attrs.mode;
  if (mode != "linear" && mode != "bilinear" && mode != "nearest" && mode != "cubic" && mode != "bicubic")
    c.fail("unknown mode '" + mode + "'");
  const std::string& pad = attrs.padding_mode;
  if (pad != "zeros" && pad != "border" && pad != "reflection") c.fail("unknown padding_mode '" + pad + "'");
  std::vector<Expr> out = {x[0], x[1]};
  out.insert(out.end(), g.begin() + 1, g.end() - 1);
  c.set_output(0, t, out);
}

// AffineGrid: theta [N, 2, 3] / [N, 3, 4] and size (N, C, H, W[, D]) -> grid [N, H, W, 2] / [N, D, H, W, 3].
// AffineGrid's output dims: [N, spatial dims of `size`..., spatial rank].
template <class T, class Ctx>
std::vector<T> affine_grid_shape(Ctx& c, const T& batch, const std::vector<T>& size) {
  c.require_equal(size[0], batch, "size[0] vs the batch of theta");
  std::vector<T> out = {batch};
  for (size_t i = 2; i < size.size(); ++i) out.push_back(size[i]);
  out.push_back(shapefn::lit<T>(static_cast<int64_t>(size.size()) - 2));
  return out;
}

void run_shape_affine_grid(RunShapeContext& c) {
  std::vector<int64_t> size = c.values(1);
  if (size.size() != 4 && size.size() != 5) c.fail("size must have 4 or 5 elements");
  c.set_output(0, affine_grid_shape(c, c.shape(0)[0], size));
}

// Scales or sizes known only while running: the same sizing the kernel uses.
void run_shape_resize(RunShapeContext& c) {
  bool upsample = c.node_op() == "Upsample";
  ResizeAttrs attrs = ResizeAttrs::parse(c, upsample);
  std::vector<int64_t> in = c.shape(0);
  size_t scales_at = (upsample || c.opset() < 11) ? 1 : 2;
  auto present = [&](size_t i) { return c.has_input(i) && shapefn::product_of(c.shape(i)) > 0; };
  bool has_sizes = !upsample && c.opset() >= 11 && present(3);
  bool attr_scales = upsample && c.opset() < 9;
  c.set_output(0, resize_sizing(in, attrs.axes, upsample, c.opset(), attrs.attr_scales, attrs.policy,
                                has_sizes || attr_scales ? std::vector<double>{} : c.numbers(scales_at),
                                has_sizes ? c.values(3) : std::vector<int64_t>{}, has_sizes)
                      .dims);
}

void infer_affine_grid(InferContext& c) {
  DType t = c.dtype(0);
  if (t != DType::kFloat32 && t != DType::kFloat64) c.unsupported(std::string("theta type ") + dtype_name(t));
  const std::vector<Expr>& th = c.shape(0);
  if (th.size() != 3) c.fail("theta must be 3-D");
  size_t n = static_length(c, 1, "size");
  if (n != 4 && n != 5) c.fail("size must have 4 or 5 elements");
  c.require_equal(th[1], Expr::constant(static_cast<int64_t>(n - 2)), "theta rows");
  c.require_equal(th[2], Expr::constant(static_cast<int64_t>(n - 1)), "theta columns");
  if (auto v = c.values(1)) {
    c.set_output(0, t, affine_grid_shape(c, th[0], *v));
    return;
  }
  std::vector<Expr> out = {th[0]};  // spatial dims known while running (run_shape_affine_grid)
  for (size_t i = 2; i < n; ++i) out.push_back(runtime_dim(c));
  out.push_back(Expr::constant(static_cast<int64_t>(n - 2)));
  c.set_output(0, t, out);
}

}  // namespace

void register_resize_ops(OpRegistry& r) {
  r.add("Resize", infer_resize).layout_sensitive().host_inputs({1, 2, 3}).shape_at_run_time(run_shape_resize);
  r.add("Upsample", infer_resize).layout_sensitive().host_inputs({1}).shape_at_run_time(run_shape_resize);
  r.add("GridSample", infer_grid_sample);
  r.add("AffineGrid", infer_affine_grid).host_inputs({1}).shape_at_run_time(run_shape_affine_grid);
}

}  // namespace dynrt
