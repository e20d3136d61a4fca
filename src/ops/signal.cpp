// Inference for signal ops: DFT, STFT, HannWindow, HammingWindow,
// BlackmanWindow, MelWeightMatrix. Lengths fed as tensors become run-time
// dims when their values are not known at build time.
#include "ops/families.h"
#include "ops/registry.h"
#include "ops/runtime_shape.h"

namespace dynrt {
namespace {

bool is_float(DType t) { return t == DType::kFloat32 || t == DType::kFloat64; }

std::optional<Expr> scalar_value(InferContext& c, size_t i) {
  if (!c.has_input(i)) return std::nullopt;
  auto v = c.values(i);
  if (!v || v->size() != 1) return std::nullopt;
  return (*v)[0];
}

void infer_dft(InferContext& c) {
  if (!is_float(c.dtype(0))) c.unsupported(std::string("input type ") + dtype_name(c.dtype(0)));
  const std::vector<Expr>& x = c.shape(0);
  if (x.size() < 2) c.fail("input must have rank >= 2");
  const Expr& comp = x.back();
  if (comp.is_const() && comp.const_value() != 1 && comp.const_value() != 2) c.fail("last dim must be 1 or 2");
  bool inverse = c.attr_int("inverse", 0) != 0, onesided = c.attr_int("onesided", 0) != 0;
  if (onesided && !inverse && comp.is_const() && comp.const_value() == 2)
    c.fail("onesided output requires a real input");
  std::optional<int64_t> axis;
  if (c.opset() < 20) {
    axis = c.attr_int("axis", 1);
  } else if (!c.has_input(2)) {
    axis = -2;
  } else if (auto a = scalar_value(c, 2); a && a->is_const()) {
    axis = a->const_value();
  }
  std::vector<Expr> out = x;
  out.back() = Expr::constant(inverse && onesided ? 1 : 2);
  auto r = static_cast<int64_t>(x.size());
  if (axis) {
    int64_t ax = c.axis(*axis, x.size());
    if (ax == r - 1) c.fail("axis cannot be the last (complex) dim");
    auto a = static_cast<size_t>(ax);
    Expr n = inverse && onesided ? Expr::constant(2) * (x[a] - Expr::constant(1)) : x[a];
    if (c.has_input(1)) {
      auto v = scalar_value(c, 1);
      n = v ? *v : runtime_dim(c);
    }
    out[a] = !inverse && onesided ? floordiv(n, Expr::constant(2)) + Expr::constant(1) : n;
  } else if (c.has_input(1) || onesided) {
    for (size_t i = 0; i + 1 < x.size(); ++i) out[i] = runtime_dim(c);  // which dim changes is known at run time
  }
  c.set_output(0, c.dtype(0), out);
}

void infer_stft(InferContext& c) {
  if (!is_float(c.dtype(0))) c.unsupported(std::string("signal type ") + dtype_name(c.dtype(0)));
  const std::vector<Expr>& x = c.shape(0);
  if (x.size() != 3) c.fail("signal must be 3-D [batch, length, 1 or 2]");
  bool onesided = c.attr_int("onesided", 1) != 0;
  std::optional<Expr> len;
  if (auto v = scalar_value(c, 3)) len = *v;
  else if (!c.has_input(3) && c.has_input(2)) len = c.shape(2)[0];
  else if (!c.has_input(3)) len = x[1];
  if (c.has_input(2)) {
    if (c.rank(2) != 1) c.fail("window must be 1-D");
    if (c.dtype(2) != c.dtype(0)) c.fail("window must have the signal's type");
    if (len) c.require_equal(c.shape(2)[0], *len, "window length vs frame_length");
  }
  auto step = scalar_value(c, 1);
  Expr frames = step && len ? floordiv(x[1] - *len, *step) + Expr::constant(1) : runtime_dim(c);
  Expr bins = len ? (onesided ? floordiv(*len, Expr::constant(2)) + Expr::constant(1) : *len) : runtime_dim(c);
  c.set_output(0, c.dtype(0), {x[0], frames, bins, Expr::constant(2)});
}

DType window_type(InferContext& c) {
  auto t = static_cast<DType>(c.attr_int("output_datatype", 1));
  if (!is_float(t)) c.unsupported(std::string("output_datatype ") + dtype_name(t) + " (float32 and float64 are supported)");
  return t;
}

void infer_window(InferContext& c) {
  if (c.rank(0) != 0 && !(c.rank(0) == 1 && c.shape(0)[0] == Expr::constant(1))) c.fail("size must be a scalar");
  auto v = scalar_value(c, 0);
  c.set_output(0, window_type(c), {v ? *v : runtime_dim(c)});
}

void infer_mel(InferContext& c) {
  DType t = window_type(c);
  auto bins = scalar_value(c, 0), len = scalar_value(c, 1);
  Expr rows = len ? floordiv(*len, Expr::constant(2)) + Expr::constant(1) : runtime_dim(c);
  c.set_output(0, t, {rows, bins ? *bins : runtime_dim(c)});
}

}  // namespace

void register_signal_ops(OpRegistry& r) {
  r.add("DFT", infer_dft);
  r.add("STFT", infer_stft);
  r.add("HannWindow", infer_window);
  r.add("HammingWindow", infer_window);
  r.add("BlackmanWindow", infer_window);
  r.add("MelWeightMatrix", infer_mel);
}

}  // namespace dynrt
