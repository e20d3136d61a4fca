// Inference for data-movement ops: Transpose, Concat, Split, Slice, Squeeze,
// Unsqueeze, Tile, Pad, Trilu, DepthToSpace, SpaceToDepth.
// On small integer tensors (shape values) these propagate element values as
// expressions, so Shape -> Slice/Gather -> Concat -> Reshape stays symbolic.
#include <algorithm>

#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/movement_util.h"
#include "ops/registry.h"
#include "ops/runtime_shape.h"
#include "ops/shape_fns.h"

namespace dynrt {
namespace {

using infer_util::const_ints;
using infer_util::norm_axes;
using infer_util::smax;
using infer_util::smin;

void infer_transpose(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  size_t r = in.size();
  std::vector<int64_t> perm = TransposeAttrs::parse(c).perm;
  if (perm.empty())
    for (size_t i = 0; i < r; ++i) perm.push_back(static_cast<int64_t>(r - 1 - i));
  if (perm.size() != r) c.fail("perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(r));
  perm = norm_axes(c, perm, r, "perm");
  std::vector<Expr> out;
  for (int64_t p : perm) out.push_back(in[static_cast<size_t>(p)]);
  c.set_output(0, c.dtype(0), out);
  if (r <= 1)
    if (auto v = c.values(0)) c.set_output_values(0, *v);
}

void infer_concat(InferContext& c) {
  if (c.num_inputs() == 0) c.fail("no inputs");
  size_t r = c.rank(0);
  if (r == 0) c.fail("cannot concatenate scalars");
  if (!c.has_attr("axis")) c.fail("required attribute 'axis' is missing");
  int64_t axis = c.axis(AxisAttrs::parse(c).axis, r);
  std::vector<Expr> out = c.shape(0);
  for (size_t i = 1; i < c.num_inputs(); ++i) {
    if (c.dtype(i) != c.dtype(0)) c.fail("input types differ");
    const std::vector<Expr>& s = c.shape(i);
    if (s.size() != r) c.fail("input ranks differ");
    for (size_t k = 0; k < r; ++k) {
      if (static_cast<int64_t>(k) == axis) {
        out[k] = out[k] + s[k];
      } else {
        c.require_equal(out[k], s[k], "concat input " + std::to_string(i) + " dim " + std::to_string(k));
        if (!out[k].is_const() && s[k].is_const()) out[k] = s[k];
      }
    }
  }
  c.set_output(0, c.dtype(0), out);
  if (r != 1) return;
  std::vector<Expr> vals;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    auto v = c.values(i);
    if (!v) return;
    vals.insert(vals.end(), v->begin(), v->end());
  }
  c.set_output_values(0, vals);
}

void infer_split(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  int64_t axis = c.axis(AxisAttrs::parse(c).axis, in.size());
  Expr d = in[static_cast<size_t>(axis)];
  size_t n = c.num_outputs();
  std::vector<Expr> sizes;
  bool given = false;
  if (c.opset() >= 13 && c.has_input(1)) {
    auto v = c.values(1);
    if (!v) {
      // Sizes read at run time: the split dim of every output comes then.
      for (size_t i = 0; i < n; ++i) {
        std::vector<Expr> s = in;
        s[static_cast<size_t>(axis)] = runtime_dim(c, d);
        c.set_output(i, c.dtype(0), s);
      }
      return;
    }
    sizes = *v;
    given = true;
  } else if (c.opset() < 13 && c.has_attr("split")) {
    for (int64_t s : c.attr_ints("split")) sizes.push_back(Expr::constant(s));
    given = true;
  }
  if (given) {
    shapefn::split(c, in, axis, sizes, n);  // checks the sizes against the dim
  } else {
    if (c.opset() >= 18 && c.has_attr("num_outputs")) {
      if (c.attr_int("num_outputs") != static_cast<int64_t>(n)) c.fail("num_outputs differs from the number of outputs");
      // Chunks of ceil(d / n); the last one takes the remainder.
      auto k = static_cast<int64_t>(n);
      Expr chunk = floordiv(d + Expr::constant(k - 1), Expr::constant(k));
      for (size_t i = 0; i + 1 < n; ++i) sizes.push_back(chunk);
      sizes.push_back(d - chunk * Expr::constant(k - 1));
      Expr rest = sizes.back();
      if (rest.is_const() && rest.const_value() < 0) c.fail("dimension too small for num_outputs");
      if (rest.bounds(c.names()).lo < 0)  // guard: rest >= 0
        c.require_equal(max(rest, Expr::constant(0)), rest, "dimension large enough for num_outputs");
    } else {
      c.require_divisible(d, Expr::constant(static_cast<int64_t>(n)), "split into equal parts");
      sizes.assign(n, floordiv(d, Expr::constant(static_cast<int64_t>(n))));
    }
  }
  auto vals = in.size() == 1 ? c.values(0) : std::nullopt;
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    std::vector<Expr> s = in;
    s[static_cast<size_t>(axis)] = sizes[i];
    c.set_output(i, c.dtype(0), s);
    if (vals && sizes[i].is_const()) {
      auto len = static_cast<size_t>(sizes[i].const_value());
      if (at + len <= vals->size()) c.set_output_values(i, std::vector<Expr>(vals->begin() + static_cast<long>(at),
                                                                            vals->begin() + static_cast<long>(at + len)));
      at += len;
    } else {
      vals.reset();
    }
  }
}

// Slice: an index clamped ONNX-style, max(lo, min(n, hi)), kept in parts so
// differences of two clamps can be distributed and simplified by bounds.
struct Clamped {
  Expr n, lo, hi, value;
};

Clamped clamp_slice_index(InferContext& c, Expr v, Expr d, int64_t step, bool is_start) {
  constexpr int64_t kBig = int64_t{1} << 50;  // beyond any dim; keeps INT64_MAX arithmetic safe
  if (v.is_const()) v = Expr::constant(std::clamp(v.const_value(), -kBig, kBig));
  Interval b = v.bounds(c.names());
  Expr n;
  if (b.lo >= 0) n = v;
  else if (b.hi < 0) n = v + d;
  else c.needs_constant(v, "slice index " + v.str(&c.names()) + " may be negative or not; its sign must be known at build time");
  Clamped r;
  r.n = n;
  r.lo = Expr::constant(step > 0 || is_start ? 0 : -1);
  r.hi = step > 0 ? d : d - Expr::constant(1);
  r.value = smax(c, r.lo, smin(c, n, r.hi));
  return r;
}

// a - b for clamps, as min/max of plain differences: a - max(lo, min(n, hi))
// = min(a - lo, max(a - n, a - hi)), with a - x = max(lo_a - x, min(n_a - x, hi_a - x)).
Expr clamp_diff(InferContext& c, const Clamped& a, const Clamped& b) {
  auto sub = [&](Expr x) { return smax(c, a.lo - x, smin(c, a.n - x, a.hi - x)); };
  Expr dist = smin(c, sub(b.lo), smax(c, sub(b.n), sub(b.hi)));
  Expr plain = a.value - b.value;
  return dist.str().size() <= plain.str().size() ? dist : plain;  // keep the simpler form
}

void infer_slice(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  std::vector<Expr> starts, ends;
  std::vector<int64_t> axes, steps;
  if (c.opset() < 10) {
    SliceAttrs attrs = SliceAttrs::parse(c);
    for (int64_t v : attrs.starts) starts.push_back(Expr::constant(v));
    for (int64_t v : attrs.ends) ends.push_back(Expr::constant(v));
    axes = attrs.axes;
  } else {
    auto s = c.values(1), e = c.values(2), ax = c.values(3), st = c.values(4);
    auto all_const = [](const std::optional<std::vector<Expr>>& v) {
      if (!v) return false;
      for (const Expr& k : *v)
        if (!k.is_const()) return false;
      return true;
    };
    bool known = s && e && (!c.has_input(3) || all_const(ax)) && (!c.has_input(4) || all_const(st));
    if (!known) {
      // Read at run time: sliced dims (all, unless the axes are constant) come then.
      std::vector<Expr> out = in;
      std::vector<bool> sliced(in.size(), true);
      if (c.has_input(3) && all_const(ax)) {
        {
          sliced.assign(in.size(), false);
          for (int64_t a : norm_axes(c, const_ints(c, 3, "axes"), in.size())) sliced[static_cast<size_t>(a)] = true;
        }
      }
      for (size_t i = 0; i < in.size(); ++i)
        if (sliced[i]) out[i] = runtime_dim(c, in[i]);
      c.set_output(0, c.dtype(0), out);
      return;
    }
    starts = *s;
    ends = *e;
    if (c.has_input(3)) axes = const_ints(c, 3, "axes");
    if (c.has_input(4)) steps = const_ints(c, 4, "steps");
  }
  if (starts.size() != ends.size()) c.fail("starts and ends have different lengths");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size()) c.fail("starts, ends, axes, steps lengths differ");
  axes = norm_axes(c, axes, in.size());
  std::vector<Expr> out = in;
  std::vector<Expr> first(in.size(), Expr::constant(0));
  std::vector<int64_t> stride(in.size(), 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    auto a = static_cast<size_t>(axes[i]);
    int64_t k = steps[i];
    if (k == 0) c.fail("step is 0");
    Expr d = in[a];
    Clamped s = clamp_slice_index(c, starts[i], d, k, true);
    Clamped e = clamp_slice_index(c, ends[i], d, k, false);
    Expr diff = k > 0 ? clamp_diff(c, e, s) : clamp_diff(c, s, e);
    int64_t ak = k > 0 ? k : -k;
    Expr size = floordiv(diff + Expr::constant(ak - 1), Expr::constant(ak));
    size = smax(c, Expr::constant(0), size);
    if (k < 0 && d.bounds(c.names()).lo < 1) size = smin(c, size, d);  // start clamps to 0 on an empty dim
    out[a] = size;
    first[a] = s.value;
    stride[a] = k;
  }
  c.set_output(0, c.dtype(0), out);
  // Values of a sliced shape vector.
  auto v = c.values(0);
  if (!v || in.size() != 1 || !out[0].is_const() || !first[0].is_const()) return;
  std::vector<Expr> vals;
  for (int64_t i = 0; i < out[0].const_value(); ++i) {
    int64_t idx = first[0].const_value() + i * stride[0];
    if (idx < 0 || idx >= static_cast<int64_t>(v->size())) return;
    vals.push_back((*v)[static_cast<size_t>(idx)]);
  }
  c.set_output_values(0, vals);
}

std::vector<int64_t> squeeze_axes(InferContext& c, bool& given) {
  given = false;
  if (c.opset() < 13) {
    given = c.has_attr("axes");
    return c.attr_ints("axes");
  }
  if (!c.has_input(1)) return {};
  given = true;
  return const_ints(c, 1, "axes");
}

void infer_squeeze(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  if (c.opset() >= 13 && c.has_input(1) && !c.values(1)) {
    size_t k = static_length(c, 1, "axes");
    if (k > in.size()) c.fail("more axes than input dims");
    c.set_output(0, c.dtype(0), runtime_dims(c, in.size() - k));
    return;
  }
  bool given;
  std::vector<int64_t> raw = squeeze_axes(c, given);
  std::vector<Expr> out;
  if (given) {
    out = shapefn::squeeze(c, in, raw);
  } else {
    for (size_t i = 0; i < in.size(); ++i) {
      Interval b = in[i].bounds(c.names());
      if (b.lo == 1 && b.hi == 1) continue;
      if (b.lo > 1 || b.hi < 1) {
        out.push_back(in[i]);
        continue;
      }
      c.unsupported("Squeeze without axes on dim " + std::to_string(i) + " (" + in[i].str(&c.names()) +
                    ") that may or may not be 1: the output rank would depend on the input shape");
    }
  }
  c.set_output(0, c.dtype(0), out);
  if (auto v = c.values(0)) c.set_output_values(0, *v);
}

void infer_unsqueeze(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  std::vector<int64_t> raw;
  if (c.opset() < 13) {
    raw = c.attr_ints("axes");
  } else if (!c.values(1)) {
    c.set_output(0, c.dtype(0), runtime_dims(c, in.size() + static_length(c, 1, "axes")));
    return;
  } else {
    raw = const_ints(c, 1, "axes");
  }
  c.set_output(0, c.dtype(0), shapefn::unsqueeze(c, in, raw));
  if (auto v = c.values(0)) c.set_output_values(0, *v);
}

// Axes given as a graph input: the same shape functions, on the host, while running.
void run_shape_squeeze(RunShapeContext& c) { c.set_output(0, shapefn::squeeze(c, c.shape(0), c.values(1))); }
void run_shape_unsqueeze(RunShapeContext& c) { c.set_output(0, shapefn::unsqueeze(c, c.shape(0), c.values(1))); }

// Starts, ends, axes or steps known only while running.
void run_shape_slice(RunShapeContext& c) {
  std::vector<int64_t> in = c.shape(0);
  auto opt = [&](size_t i) { return c.has_input(i) ? c.values(i) : std::vector<int64_t>{}; };
  c.set_output(0, shapefn::slice_plan(in, c.values(1), c.values(2), opt(3), opt(4)).dims);
}

void run_shape_tile(RunShapeContext& c) { c.set_output(0, shapefn::tile(c, c.shape(0), c.values(1))); }

void infer_tile(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  auto reps = c.values(1);
  if (!reps) {
    c.set_output(0, c.dtype(0), runtime_dims(c, in.size()));
    return;
  }
  std::vector<Expr> out = shapefn::tile(c, in, *reps);
  c.set_output(0, c.dtype(0), out);
  auto v = c.values(0);
  if (v && in.size() == 1 && (*reps)[0].is_const() && (*reps)[0].const_value() <= 64) {
    std::vector<Expr> vals;
    for (int64_t k = 0; k < (*reps)[0].const_value(); ++k) vals.insert(vals.end(), v->begin(), v->end());
    c.set_output_values(0, vals);
  }
}

void run_shape_split(RunShapeContext& c) {
  std::vector<int64_t> in = c.shape(0);
  int64_t axis = c.axis(AxisAttrs::parse(c).axis, in.size());
  std::vector<std::vector<int64_t>> out = shapefn::split(c, in, axis, c.values(1), c.num_outputs());
  for (size_t i = 0; i < out.size(); ++i) c.set_output(i, out[i]);
}

void infer_pad(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  size_t r = in.size();
  PadAttrs attrs = PadAttrs::parse(c);
  const std::string& mode = attrs.mode;
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    c.unsupported("mode '" + mode + "' is not supported");
  if (mode == "wrap" && c.opset() < 19) c.fail("mode 'wrap' needs opset 19");
  std::vector<Expr> pads;
  if (c.opset() < 11) {
    for (int64_t p : attrs.pads) pads.push_back(Expr::constant(p));
  } else {
    auto v = c.values(1);
    if (!v) {
      c.set_output(0, c.dtype(0), runtime_dims(c, r));
      return;
    }
    pads = *v;
  }
  std::vector<int64_t> axes;
  if (c.opset() >= 18 && c.has_input(3) && !c.values(3)) {
    c.set_output(0, c.dtype(0), runtime_dims(c, r));
    return;
  }
  if (c.opset() >= 18 && c.has_input(3)) axes = norm_axes(c, const_ints(c, 3, "axes"), r);
  else
    for (size_t i = 0; i < r; ++i) axes.push_back(static_cast<int64_t>(i));
  if (c.opset() >= 11 && c.has_input(2) && c.dtype(2) != c.dtype(0)) c.fail("constant_value type differs from data");
  if (mode != "constant")
    for (const Expr& p : pads)
      if (p.is_const() && p.const_value() < 0) c.unsupported("negative pads with mode '" + mode + "'");
  c.set_output(0, c.dtype(0), shapefn::pad(c, in, pads, axes));
}

// Pads or axes given as graph inputs: the output shape is decided while running.
void run_shape_pad(RunShapeContext& c) {
  std::vector<int64_t> in = c.shape(0);
  std::vector<int64_t> axes;
  if (c.opset() >= 18 && c.has_input(3)) axes = shapefn::normalized_axes(c, c.values(3), in.size());
  else
    for (size_t i = 0; i < in.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  c.set_output(0, shapefn::pad(c, in, c.values(1), axes));
}

void infer_trilu(InferContext& c) {
  if (c.rank(0) < 2) c.fail("input rank must be at least 2");
  c.set_output(0, c.dtype(0), c.shape(0));
}

void infer_depth_to_space(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  if (in.size() != 4) c.unsupported("input rank other than 4");
  BlockAttrs a = BlockAttrs::parse(c);
  int64_t b = a.blocksize;
  if (b <= 0) c.fail("blocksize must be positive");
  if (a.mode != "DCR" && a.mode != "CRD") c.fail("unknown mode '" + a.mode + "'");
  Expr bb = Expr::constant(b * b), be = Expr::constant(b);
  c.require_divisible(in[1], bb, "channels divisible by blocksize^2");
  c.set_output(0, c.dtype(0), {in[0], floordiv(in[1], bb), in[2] * be, in[3] * be});
}

void infer_space_to_depth(InferContext& c) {
  const std::vector<Expr>& in = c.shape(0);
  if (in.size() != 4) c.unsupported("input rank other than 4");
  BlockAttrs a = BlockAttrs::parse(c);
  int64_t b = a.blocksize;
  if (b <= 0) c.fail("blocksize must be positive");
  if (a.mode != "DCR" && a.mode != "CRD") c.fail("unknown mode '" + a.mode + "'");
  Expr be = Expr::constant(b);
  c.require_divisible(in[2], be, "height divisible by blocksize");
  c.require_divisible(in[3], be, "width divisible by blocksize");
  c.set_output(0, c.dtype(0), {in[0], in[1] * Expr::constant(b * b), floordiv(in[2], be), floordiv(in[3], be)});
}

}  // namespace

void register_movement_ops(OpRegistry& r) {
  r.add("Transpose", infer_transpose).narrow_types();
  r.add("Concat", infer_concat).narrow_types();
  r.add("Split", infer_split).host_inputs({1}).shape_at_run_time(run_shape_split).narrow_types();
  r.add("Slice", infer_slice).host_inputs({1, 2, 3, 4}).shape_at_run_time(run_shape_slice).narrow_types();
  r.add("Squeeze", infer_squeeze).view().host_inputs({1}).shape_at_run_time(run_shape_squeeze).narrow_types();
  r.add("Unsqueeze", infer_unsqueeze).view().host_inputs({1}).shape_at_run_time(run_shape_unsqueeze).narrow_types();
  r.add("Tile", infer_tile).host_inputs({1}).shape_at_run_time(run_shape_tile).narrow_types();
  r.add("Pad", infer_pad).host_inputs({1, 3}).shape_at_run_time(run_shape_pad);
  r.add("Trilu", infer_trilu);
  r.add("DepthToSpace", infer_depth_to_space);
  r.add("SpaceToDepth", infer_space_to_depth);
}

}  // namespace dynrt
