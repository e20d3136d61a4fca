// Inference for indexing ops: Gather, GatherElements, GatherND, ScatterND,
// ScatterElements, CumSum, NonZero, Compress, Unique, TopK, OneHot.
// Gather on a shape vector propagates the selected dims as expressions
// (Gather(Shape(x), 0) is the batch symbol), the core of the
// Shape -> Gather -> Concat -> Reshape pattern exporters emit.
#include <algorithm>

#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/movement_util.h"
#include "ops/registry.h"
#include "ops/shape_fns.h"
#include "ops/runtime_shape.h"

namespace dynrt {
namespace {

using infer_util::is_index_type;

void infer_gather(InferContext& c) {
  const std::vector<Expr>& data = c.shape(0);
  const std::vector<Expr>& ind = c.shape(1);
  if (data.empty()) c.fail("data must have rank >= 1");
  if (!is_index_type(c.dtype(1))) c.fail("indices must be int32 or int64");
  auto axis = static_cast<size_t>(c.axis(AxisAttrs::parse(c).axis, data.size()));
  std::vector<Expr> out(data.begin(), data.begin() + static_cast<long>(axis));
  out.insert(out.end(), ind.begin(), ind.end());
  out.insert(out.end(), data.begin() + static_cast<long>(axis) + 1, data.end());
  c.set_output(0, c.dtype(0), out);
  if (data.size() != 1) return;
  auto dv = c.values(0), iv = c.values(1);
  if (!dv || !iv) return;
  auto n = static_cast<int64_t>(dv->size());
  std::vector<Expr> vals;
  for (const Expr& e : *iv) {
    if (!e.is_const()) return;
    int64_t k = e.const_value();
    if (k < -n || k >= n) c.fail("index " + std::to_string(k) + " is out of range for a dim of " + std::to_string(n));
    vals.push_back((*dv)[static_cast<size_t>(k < 0 ? k + n : k)]);
  }
  c.set_output_values(0, vals);
}

void infer_gather_elements(InferContext& c) {
  const std::vector<Expr>& data = c.shape(0);
  const std::vector<Expr>& ind = c.shape(1);
  if (data.empty()) c.fail("data must have rank >= 1");
  if (ind.size() != data.size()) c.fail("data and indices ranks differ");
  if (!is_index_type(c.dtype(1))) c.fail("indices must be int32 or int64");
  c.axis(AxisAttrs::parse(c).axis, data.size());
  c.set_output(0, c.dtype(0), ind);
}

void infer_gather_nd(InferContext& c) {
  const std::vector<Expr>& data = c.shape(0);
  const std::vector<Expr>& ind = c.shape(1);
  if (c.dtype(1) != DType::kInt64) c.fail("indices must be int64");
  int64_t b = GatherNDAttrs::parse(c).batch_dims;
  auto r = static_cast<int64_t>(data.size()), q = static_cast<int64_t>(ind.size());
  if (r < 1 || q < 1) c.fail("data and indices must have rank >= 1");
  if (b < 0 || b >= std::min(r, q)) c.fail("batch_dims out of range");
  const Expr& lastd = ind.back();
  if (!lastd.is_const()) c.needs_constant(lastd, "the last dim of indices must be known at build time");
  int64_t last = lastd.const_value();
  if (last < 1 || last > r - b) c.fail("last dim of indices out of range");
  for (int64_t i = 0; i < b; ++i)
    c.require_equal(data[static_cast<size_t>(i)], ind[static_cast<size_t>(i)], "batch dim " + std::to_string(i));
  std::vector<Expr> out(ind.begin(), ind.end() - 1);
  out.insert(out.end(), data.begin() + b + last, data.end());
  c.set_output(0, c.dtype(0), out);
}

std::string reduction_of(InferContext& c) {
  std::string red = ScatterAttrs::parse(c).reduction;
  if (red != "none" && red != "add" && red != "mul" && red != "max" && red != "min")
    c.unsupported("reduction '" + red + "' is not supported");
  return red;
}

void infer_scatter_nd(InferContext& c) {
  const std::vector<Expr>& data = c.shape(0);
  const std::vector<Expr>& ind = c.shape(1);
  const std::vector<Expr>& upd = c.shape(2);
  reduction_of(c);
  if (c.dtype(1) != DType::kInt64) c.fail("indices must be int64");
  if (ind.empty()) c.fail("indices must have rank >= 1");
  // The ranks fix the last dim of indices: rank(updates) = rank(indices) - 1 + rank(data) - last.
  auto last = static_cast<int64_t>(ind.size() - 1 + data.size()) - static_cast<int64_t>(upd.size());
  if (last < 1 || last > static_cast<int64_t>(data.size())) c.fail("last dim of indices out of range");
  c.require_equal(ind.back(), Expr::constant(last), "last dim of indices (from the ranks of data and updates)");
  // updates: indices.shape[:-1] + data.shape[last:]
  size_t want = ind.size() - 1 + data.size() - static_cast<size_t>(last);
  if (upd.size() != want) c.fail("updates rank is wrong");
  for (size_t i = 0; i + 1 < ind.size(); ++i) c.require_equal(upd[i], ind[i], "updates vs indices dim");
  for (size_t i = static_cast<size_t>(last); i < data.size(); ++i)
    c.require_equal(upd[ind.size() - 1 + i - static_cast<size_t>(last)], data[i], "updates vs data dim");
  c.set_output(0, c.dtype(0), data);
}

void infer_scatter_elements(InferContext& c) {
  const std::vector<Expr>& data = c.shape(0);
  const std::vector<Expr>& ind = c.shape(1);
  const std::vector<Expr>& upd = c.shape(2);
  reduction_of(c);
  if (!is_index_type(c.dtype(1))) c.fail("indices must be int32 or int64");
  if (ind.size() != data.size() || upd.size() != ind.size()) c.fail("data, indices and updates ranks differ");
  c.axis(AxisAttrs::parse(c).axis, data.size());
  for (size_t i = 0; i < ind.size(); ++i) c.require_equal(upd[i], ind[i], "updates vs indices dim");
  c.set_output(0, c.dtype(0), data);
}

void infer_cumsum(InferContext& c) {
  if (c.rank(1) > 1) c.fail("axis must be a scalar");
  if (auto a = c.values(1)) {
    if (a->size() != 1) c.fail("axis must have one element");
    if ((*a)[0].is_const()) c.axis((*a)[0].const_value(), c.rank(0));
  }
  c.set_output(0, c.dtype(0), c.shape(0));
}

void infer_nonzero(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  Expr n = c.new_data_dependent_symbol("nnz", product(in));
  // A scalar counts as one coordinate, as in ONNX Runtime.
  c.set_output(0, DType::kInt64, {Expr::constant(std::max<int64_t>(1, static_cast<int64_t>(in.size()))), n});
}

void infer_compress(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  if (c.dtype(1) != DType::kBool) c.fail("condition must be bool");
  if (c.rank(1) != 1) c.fail("condition must be 1-D");
  OptionalAxisAttrs attrs = OptionalAxisAttrs::parse(c);
  if (attrs.has_axis) {
    auto a = static_cast<size_t>(c.axis(attrs.axis, in.size()));
    std::vector<Expr> out = in;
    out[a] = c.new_data_dependent_symbol("compress", in[a]);
    c.set_output(0, c.dtype(0), out);
  } else {
    c.set_output(0, c.dtype(0), {c.new_data_dependent_symbol("compress", product(in))});
  }
}

void infer_unique(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  Expr items = product(in), n;
  std::vector<Expr> y;
  OptionalAxisAttrs attrs = OptionalAxisAttrs::parse(c);
  if (attrs.has_axis) {
    auto a = static_cast<size_t>(c.axis(attrs.axis, in.size()));
    items = in[a];
    n = c.new_data_dependent_symbol("unique", items);
    y = in;
    y[a] = n;
  } else {
    n = c.new_data_dependent_symbol("unique", items);
    y = {n};
  }
  c.set_output(0, c.dtype(0), y);
  c.set_output(1, DType::kInt64, {n});
  c.set_output(2, DType::kInt64, {items});
  c.set_output(3, DType::kInt64, {n});
}

void infer_topk(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  if (in.empty()) c.fail("input must have rank >= 1");
  auto axis = static_cast<size_t>(c.axis(AxisAttrs::parse(c, -1).axis, in.size()));
  Expr k;
  if (c.opset() < 10) {
    k = Expr::constant(c.attr_int("k"));
  } else {
    auto v = c.values(1);
    if (!v) {
      k = runtime_dim(c, in[axis]);  // read at run time
    } else {
      if (v->size() != 1) c.fail("k must have one element");
      k = (*v)[0];
    }
  }
  std::vector<Expr> out = shapefn::topk(c, in, static_cast<int64_t>(axis), k);
  c.set_output(0, c.dtype(0), out);
  c.set_output(1, DType::kInt64, out);
}

void run_shape_topk(RunShapeContext& c) {
  std::vector<int64_t> in = c.shape(0);
  if (in.empty()) c.fail("input must have rank >= 1");
  int64_t axis = c.axis(AxisAttrs::parse(c, -1).axis, in.size());
  std::vector<int64_t> k = c.values(1);
  if (k.size() != 1) c.fail("k must have one element");
  std::vector<int64_t> out = shapefn::topk(c, in, axis, k[0]);
  c.set_output(0, out);
  c.set_output(1, out);
}

// OneHot's output dims: the indices' with `depth` inserted at `axis`.
template <class T, class Ctx>
std::vector<T> onehot_shape(Ctx& c, const std::vector<T>& in, const T& depth) {
  if (shapefn::negative(depth) || shapefn::is(depth, 0)) c.fail("depth must be positive");
  auto axis = static_cast<size_t>(c.axis(AxisAttrs::parse(c, -1).axis, in.size() + 1));
  std::vector<T> out = in;
  out.insert(out.begin() + static_cast<long>(axis), depth);
  return out;
}

// Depth known only while running (a graph input, of any numeric type).
void run_shape_onehot(RunShapeContext& c) {
  double depth = c.scalar(1);
  if (!(depth >= 1)) c.fail("depth must be positive");
  c.set_output(0, onehot_shape(c, c.shape(0), c.to_size(std::trunc(depth), "depth")));
}

void infer_onehot(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  Expr depth;
  if (auto v = c.values(1)) {
    if (v->size() != 1) c.fail("depth must have one element");
    depth = (*v)[0];
  } else if (const Tensor* t = c.constant(1); t && t->numel() == 1 && t->dtype() == DType::kFloat32) {
    depth = Expr::constant(static_cast<int64_t>(t->data_as<float>()[0]));
  } else if (t && t->numel() == 1 && t->dtype() == DType::kFloat64) {
    depth = Expr::constant(static_cast<int64_t>(t->data_as<double>()[0]));
  } else {
    depth = runtime_dim(c);  // read at run time
  }
  if (c.rank(2) != 1) c.fail("values must be a 2-element vector");
  c.set_output(0, c.dtype(2), onehot_shape(c, in, depth));
}

}  // namespace

void register_indexing_ops(OpRegistry& r) {
  r.add("Gather", infer_gather);
  r.add("GatherElements", infer_gather_elements);
  r.add("GatherND", infer_gather_nd);
  r.add("ScatterND", infer_scatter_nd);
  r.add("ScatterElements", infer_scatter_elements);
  r.add("Scatter", infer_scatter_elements);  // deprecated alias of ScatterElements
  r.add("CumSum", infer_cumsum).host_inputs({1});
  r.add("NonZero", infer_nonzero).data_dependent();
  r.add("Compress", infer_compress).data_dependent();
  r.add("Unique", infer_unique).data_dependent();
  r.add("TopK", infer_topk).host_inputs({1}).shape_at_run_time(run_shape_topk);
  r.add("OneHot", infer_onehot).host_inputs({1}).shape_at_run_time(run_shape_onehot);
}

}  // namespace dynrt
