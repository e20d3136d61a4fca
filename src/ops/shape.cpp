// Inference for ops that produce or consume shapes: Shape, Size, Reshape,
// Flatten, Expand, ConstantOfShape, Range, Constant. These carry shape values
// as expressions, so `x.view(x.size(0), -1)` compiles with a symbolic batch.
#include <cmath>
#include <limits>

#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"
#include "ops/runtime_shape.h"
#include "ops/shape_fns.h"

namespace dynrt {
namespace {

void infer_shape(InferContext& c) {
  const std::vector<Expr>& s = c.shape(0);
  auto r = static_cast<int64_t>(s.size());
  ShapeAttrs attrs = ShapeAttrs::parse(c);
  int64_t start = attrs.start, end = attrs.has_end ? attrs.end : r;
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, start, r);
  std::vector<Expr> v(s.begin() + start, s.begin() + end);
  c.set_output(0, DType::kInt64, {Expr::constant(static_cast<int64_t>(v.size()))});
  c.set_output_values(0, v);
}

void infer_size(InferContext& c) {
  c.set_output(0, DType::kInt64, {});
  c.set_output_values(0, {product(c.shape(0))});
}

void infer_reshape(InferContext& c) {
  if (c.dtype(1) != DType::kInt64) c.fail("the target shape must be int64, not " + std::string(dtype_name(c.dtype(1))));
  auto target = c.values(1);
  if (!target) {
    // Target computed at run time: the rank is its length, the dims come at run time.
    const size_t rank = static_length(c, 1, "the target shape");
    // A scalar has no run-time dim through which to check the count later: check it here.
    if (rank == 0) c.require_equal(product(c.shape(0)), Expr::constant(1), "reshape to a scalar: element count");
    c.set_output(0, c.dtype(0), runtime_dims(c, rank));
    return;
  }
  c.set_output(0, c.dtype(0), shapefn::reshape(c, c.shape(0), *target, shapefn::ReshapeAttrs::parse(c)));
  if (auto v = c.values(0)) c.set_output_values(0, *v);
}

void run_shape_reshape(RunShapeContext& c) {
  c.set_output(0, shapefn::reshape(c, c.shape(0), c.values(1), shapefn::ReshapeAttrs::parse(c)));
}

void infer_flatten(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  int64_t axis = c.attr_int("axis", 1);
  if (axis < 0) axis += static_cast<int64_t>(in.size());
  if (axis < 0 || axis > static_cast<int64_t>(in.size())) c.fail("axis out of range");
  std::span<const Expr> all(in);
  c.set_output(0, c.dtype(0),
               {product(all.subspan(0, static_cast<size_t>(axis))), product(all.subspan(static_cast<size_t>(axis)))});
}

void infer_expand(InferContext& c) {
  auto target = c.values(1);
  if (!target) {
    size_t n = std::max(static_length(c, 1, "the target shape"), c.rank(0));
    c.set_output(0, c.dtype(0), runtime_dims(c, n));
    return;
  }
  c.set_output(0, c.dtype(0), shapefn::expand(c, c.shape(0), *target));
}

void run_shape_expand(RunShapeContext& c) { c.set_output(0, shapefn::expand(c, c.shape(0), c.values(1))); }

void infer_constant_of_shape(InferContext& c) {
  auto target = c.values(0);
  const Tensor* v = c.attr_tensor("value");
  DType t = v ? v->dtype() : DType::kFloat32;
  if (!target) {
    c.set_output(0, t, runtime_dims(c, static_length(c, 0, "the shape input")));
    return;
  }
  c.set_output(0, t, shapefn::constant_of_shape(c, *target));
  if ((t == DType::kInt64 || t == DType::kInt32) && v && v->numel() == 1 && target->size() == 1 && (*target)[0].is_const() &&
      (*target)[0].const_value() <= 64) {
    std::vector<Expr> vals(static_cast<size_t>((*target)[0].const_value()), Expr::constant(v->to_int64_vector()[0]));
    c.set_output_values(0, vals);
  }
}

void run_shape_constant_of_shape(RunShapeContext& c) {
  c.set_output(0, shapefn::constant_of_shape(c, c.values(0)));
}

// Range's length when start, limit or delta are known only while running:
// ceil((limit - start) / delta), at least 0, in double as ONNX defines it.
void run_shape_range(RunShapeContext& c) {
  double start = c.scalar(0), limit = c.scalar(1), delta = c.scalar(2);
  if (delta == 0) c.fail("delta is 0");
  double n = std::ceil((limit - start) / delta);
  if (std::isnan(n)) c.fail("start, limit or delta is NaN");
  c.set_output(0, {c.to_size(std::max(0.0, n), "Range length")});
}

void infer_range(InferContext& c) {
  DType t = c.dtype(0);
  if (c.dtype(1) != t || c.dtype(2) != t) c.fail("start, limit and delta types differ");
  for (size_t i = 0; i < 3; ++i)
    if (const Tensor* k = c.constant(i); k && k->numel() != 1)
      c.fail(std::string(i == 0 ? "start" : i == 1 ? "limit" : "delta") + " must be a scalar, not " +
             std::to_string(k->numel()) + " values");
  if (t == DType::kFloat16 || t == DType::kBFloat16) {
    c.set_output(0, t, {runtime_dim(c)});  // sized by the kernel
    return;
  }
  if (t == DType::kFloat32 || t == DType::kFloat64) {
    const Tensor *s = c.constant(0), *l = c.constant(1), *d = c.constant(2);
    if (!s || !l || !d) {
      c.set_output(0, t, {runtime_dim(c)});
      return;
    }
    auto get = [&](const Tensor* x) { return t == DType::kFloat32 ? double(x->data_as<float>()[0]) : x->data_as<double>()[0]; };
    if (get(d) == 0) c.fail("delta is 0");
    double n = std::ceil((get(l) - get(s)) / get(d));
    if (!std::isfinite(n) || n > 4.6e18) c.fail("the range's length " + std::to_string(n) + " is not a valid size");
    c.set_output(0, t, {Expr::constant(std::max<int64_t>(0, static_cast<int64_t>(n)))});
    return;
  }
  auto s = c.values(0), l = c.values(1), d = c.values(2);
  if ((s && s->size() != 1) || (l && l->size() != 1) || (d && d->size() != 1)) c.fail("start, limit and delta must be scalars");
  if (!s || !l || !d || !(*d)[0].is_const()) {
    c.set_output(0, t, {runtime_dim(c)});
    return;
  }
  Expr start = (*s)[0], limit = (*l)[0];
  int64_t delta = (*d)[0].const_value();
  if (delta == 0) c.fail("delta is 0");
  if (delta == std::numeric_limits<int64_t>::min()) c.fail("delta is the most negative int64");
  Expr n = delta > 0 ? floordiv(limit - start + Expr::constant(delta - 1), Expr::constant(delta))
                     : floordiv(start - limit + Expr::constant(-delta - 1), Expr::constant(-delta));
  n = max(n, Expr::constant(0));
  c.set_output(0, t, {n});
  if (n.is_const() && n.const_value() <= 64) {
    std::vector<Expr> vals;
    for (int64_t i = 0; i < n.const_value(); ++i) vals.push_back(start + Expr::constant(i * delta));
    c.set_output_values(0, vals);
  }
}

void infer_constant(InferContext& c) {
  // The importer turns Constant nodes into constants; this covers leftovers.
  c.unsupported("Constant node with this attribute form");
}

}  // namespace

void register_shape_ops(OpRegistry& r) {
  r.add("Shape", infer_shape).metadata_inputs({0}).narrow_types();
  r.add("Size", infer_size).metadata_inputs({0}).narrow_types();
  r.add("Reshape", infer_reshape).view().host_inputs({1}).shape_at_run_time(run_shape_reshape).narrow_types();
  r.add("Flatten", infer_flatten).view().narrow_types();
  r.add("Expand", infer_expand).host_inputs({1}).shape_at_run_time(run_shape_expand).narrow_types();
  r.add("ConstantOfShape", infer_constant_of_shape).host_inputs({0}).shape_at_run_time(run_shape_constant_of_shape);
  r.add("Range", infer_range).host_inputs({0, 1, 2}).shape_at_run_time(run_shape_range);
  r.add("Constant", infer_constant).narrow_types();
}

}  // namespace dynrt
