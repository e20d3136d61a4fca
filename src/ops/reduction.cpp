// Inference for the Reduce* ops and ArgMax/ArgMin.
// Axes come from the `axes` attribute (ReduceSum before opset 13, the others
// before 18) or from the optional second input, which must be known at build
// time because the output rank depends on it. Sum/Prod/Max/Min over a 1-D
// shape tensor propagate the result as an expression (ReduceProd(Shape(x))
// is the element count).
#include <optional>

#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"
#include "ops/shape_fns.h"
#include "ops/runtime_shape.h"

namespace dynrt {
namespace {

bool is_float(DType t) { return t == DType::kFloat32 || t == DType::kFloat64; }
bool is_int(DType t) { return t == DType::kInt32 || t == DType::kInt64; }

// Reduced axes (normalized, sorted); empty with `noop` means "reduce nothing".
std::vector<bool> reduced_axes(InferContext& c, size_t rank, bool& noop) {
  ReduceAttrs attrs = ReduceAttrs::parse(c);
  std::vector<int64_t> axes;
  if (c.has_input(1)) {
    if (c.dtype(1) != DType::kInt64) c.fail("the 'axes' input must be int64");
    auto v = c.values(1);
    if (!v) v = std::vector<Expr>{};  // a run-time input of length 0 (checked by the caller)
    for (Expr e : *v) {
      if (!e.is_const()) c.unsupported("the 'axes' input must be known at build time");
      axes.push_back(e.const_value());
    }
  } else {
    axes = attrs.axes;
  }
  noop = axes.empty() && attrs.noop_with_empty_axes;
  return shapefn::reduced_axes(c, rank, axes, noop);
}

// Axes given as a graph input: the output shape is decided here, while running.
void run_shape_reduce(RunShapeContext& c) {
  std::vector<int64_t> in = c.shape(0);
  ReduceAttrs a = ReduceAttrs::parse(c);
  std::vector<bool> red = shapefn::reduced_axes(c, in.size(), c.has_input(1) ? c.values(1) : a.axes, a.noop_with_empty_axes);
  c.set_output(0, shapefn::reduce(in, red, a.keep_dims));
}

void infer_reduce(InferContext& c) {
  const std::string& op = c.node().op;
  DType t = c.dtype(0);
  bool minmax = op == "ReduceMax" || op == "ReduceMin";
  // 16-bit floats are computed in float32 (the kernel widens them) when the
  // output size is known before running.
  bool half = (t == DType::kFloat16 || t == DType::kBFloat16) && (!c.has_input(1) || c.values(1));
  bool ok = is_float(t) || is_int(t) || half || (minmax && (t == DType::kInt8 || t == DType::kUInt8 || t == DType::kBool));
  if (!ok) c.unsupported(std::string("input type ") + dtype_name(t) + " is not supported");
  if (c.has_input(1) && c.dtype(1) != DType::kInt64) c.fail("the 'axes' input must be int64");
  const std::vector<Expr>& in = c.shape(0);
  bool keep_dims = ReduceAttrs::parse(c).keep_dims;
  if (c.has_input(1) && !c.values(1)) {
    // Axes read at run time: the kernel sizes the output.
    if (keep_dims) {  // rank kept whatever the number of axes
      std::vector<Expr> out;
      for (const Expr& d : in) out.push_back(runtime_dim(c, d));
      c.set_output(0, t, out);
      return;
    }
    size_t k = static_length(c, 1, "the 'axes' input");
    if (k > in.size()) c.fail("more axes than input dims");
    if (k > 0) {
      c.set_output(0, t, runtime_dims(c, in.size() - k));
      return;
    }
  }
  bool noop = false;
  std::vector<bool> red = reduced_axes(c, in.size(), noop);
  std::vector<Expr> out = shapefn::reduce(in, red, keep_dims);
  c.set_output(0, t, out);

  // Value propagation over small integer tensors of rank 1 (shape values).
  if (!is_int(t) || in.size() != 1) return;
  auto v = c.values(0);
  if (!v) return;
  if (noop || !red[0]) {
    if (op == "ReduceSum" || op == "ReduceProd" || op == "ReduceMax" || op == "ReduceMin") c.set_output_values(0, *v);
    return;
  }
  std::optional<Expr> r;
  if (op == "ReduceSum") {
    r = Expr::constant(0);
    for (Expr e : *v) r = *r + e;
  } else if (op == "ReduceProd") {
    r = product(*v);
  } else if ((op == "ReduceMax" || op == "ReduceMin") && !v->empty()) {
    r = (*v)[0];
    for (size_t i = 1; i < v->size(); ++i) r = op == "ReduceMax" ? max(*r, (*v)[i]) : min(*r, (*v)[i]);
  }
  if (r) c.set_output_values(0, {*r});
}

void infer_arg(InferContext& c) {
  DType t = c.dtype(0);
  if (!is_float(t) && !is_int(t) && t != DType::kInt8 && t != DType::kUInt8)
    c.unsupported(std::string("input type ") + dtype_name(t) + " is not supported");
  const std::vector<Expr>& in = c.shape(0);
  if (in.empty()) c.fail("input must have rank >= 1");
  ArgReduceAttrs attrs = ArgReduceAttrs::parse(c);
  auto axis = static_cast<size_t>(c.axis(attrs.axis, in.size()));
  Interval b = in[axis].bounds(c.names());
  if (b.hi <= 0) c.fail("cannot take the arg max/min of an empty axis");
  if (b.lo <= 0) c.require_equal(max(in[axis], Expr::constant(1)), in[axis], "reduced axis must be non-empty");
  bool keep = attrs.keep_dims;
  std::vector<Expr> out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (i != axis) out.push_back(in[i]);
    else if (keep) out.push_back(Expr::constant(1));
  }
  c.set_output(0, DType::kInt64, out);
}

}  // namespace

void register_reduction_ops(OpRegistry& r) {
  for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                         "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"})
    r.add(op, infer_reduce).host_inputs({1}).shape_at_run_time(run_shape_reduce);
  r.add("ArgMax", infer_arg);
  r.add("ArgMin", infer_arg);
}

}  // namespace dynrt
