// Inference for signal ops: DFT, STFT, HannWindow, HammingWindow,
// BlackmanWindow, MelWeightMatrix. Lengths fed as tensors become run-time
// dims when their values are not known at build time.
#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"
#include "ops/runtime_shape.h"
#include "ops/shape_fns.h"

namespace dynrt {
namespace {

bool is_float(DType t) { return t == DType::kFloat32 || t == DType::kFloat64; }

std::optional<Expr> scalar_value(InferContext& c, size_t i) {
  if (!c.has_input(i)) return std::nullopt;
  auto v = c.values(i);
  if (!v || v->size() != 1) return std::nullopt;
  return (*v)[0];
}

using shapefn::fdiv;
using shapefn::lit;

// DFT's output dims for a known axis: the transformed axis becomes the
// (possibly one-sided) length, the last dim real (1) or complex (2).
template <class T, class Ctx>
std::vector<T> dft_shape(Ctx& c, const std::vector<T>& x, int64_t axis, const std::optional<T>& length) {
  DftAttrs attrs = DftAttrs::parse(c);
  bool inverse = attrs.inverse, onesided = attrs.onesided;
  int64_t ax = c.axis(axis, x.size());
  if (ax == static_cast<int64_t>(x.size()) - 1) c.fail("axis cannot be the last (complex) dim");
  auto a = static_cast<size_t>(ax);
  T n = length ? *length : (inverse && onesided ? lit<T>(2) * (x[a] - lit<T>(1)) : x[a]);
  std::vector<T> out = x;
  out.back() = lit<T>(inverse && onesided ? 1 : 2);
  out[a] = !inverse && onesided ? fdiv(n, lit<T>(2)) + lit<T>(1) : n;
  return out;
}

// STFT's output dims: [batch, frames, bins, 2].
template <class T>
std::vector<T> stft_shape(const std::vector<T>& x, const T& frame_length, const T& step, bool onesided) {
  T frames = fdiv(x[1] - frame_length, step) + lit<T>(1);
  T bins = onesided ? fdiv(frame_length, lit<T>(2)) + lit<T>(1) : frame_length;
  return {x[0], frames, bins, lit<T>(2)};
}

// MelWeightMatrix's output dims: [dft_length / 2 + 1, num_mel_bins].
template <class T>
std::vector<T> mel_shape(const T& bins, const T& dft_length) {
  return {fdiv(dft_length, lit<T>(2)) + lit<T>(1), bins};
}

// Lengths, steps and axes known only while running.
void run_shape_dft(RunShapeContext& c) {
  std::vector<int64_t> x = c.shape(0);
  if (x.size() < 2) c.fail("input must have rank >= 2");
  DftAttrs attrs = DftAttrs::parse(c);
  int64_t axis = -2;
  if (!attrs.axis_from_input) axis = attrs.axis_attr;
  else if (c.has_input(2)) axis = c.values(2).at(0);
  std::optional<int64_t> n;
  if (c.has_input(1)) {
    double v = c.scalar(1);
    if (!(v >= 1)) c.fail("dft_length must be positive");
    n = c.to_size(v, "dft_length");
  }
  c.set_output(0, dft_shape(c, x, axis, n));
}

void run_shape_stft(RunShapeContext& c) {
  std::vector<int64_t> x = c.shape(0);
  if (x.size() != 3) c.fail("signal must be 3-D [batch, length, 1 or 2]");
  double step_v = c.scalar(1), len_v = c.has_input(3) ? c.scalar(3) : 1;
  if (!(step_v >= 1) || !(len_v >= 1)) c.fail("invalid frame_step or frame_length");
  int64_t step = c.to_size(step_v, "frame_step");
  int64_t len = c.has_input(3) ? c.to_size(len_v, "frame_length") : c.has_input(2) ? c.shape(2)[0] : x[1];
  if (c.has_input(2)) c.require_equal(c.shape(2)[0], len, "window length vs frame_length");
  if (step < 1 || len < 1 || len > x[1]) c.fail("invalid frame_step or frame_length");
  c.set_output(0, stft_shape(x, len, step, StftAttrs::parse(c).onesided));
}

void run_shape_window(RunShapeContext& c) {
  double v = c.scalar(0);
  if (v < 0) c.fail("negative size");
  int64_t n = c.to_size(v, "size");
  c.set_output(0, {n});
}

void run_shape_mel(RunShapeContext& c) {
  double bins_v = c.scalar(0), n_v = c.scalar(1);
  if (!(bins_v >= 1) || !(n_v >= 1) || !(c.scalar(2) >= 1)) c.fail("sizes must be positive");
  int64_t bins = c.to_size(bins_v, "num_mel_bins"), n = c.to_size(n_v, "dft_length");
  c.set_output(0, mel_shape(bins, n));
}

void infer_dft(InferContext& c) {
  if (!is_float(c.dtype(0))) c.unsupported(std::string("input type ") + dtype_name(c.dtype(0)));
  const std::vector<Expr>& x = c.shape(0);
  if (x.size() < 2) c.fail("input must have rank >= 2");
  const Expr& comp = x.back();
  if (comp.is_const() && comp.const_value() != 1 && comp.const_value() != 2) c.fail("last dim must be 1 or 2");
  DftAttrs attrs = DftAttrs::parse(c);
  bool inverse = attrs.inverse, onesided = attrs.onesided;
  if (onesided && !inverse && comp.is_const() && comp.const_value() == 2)
    c.fail("onesided output requires a real input");
  std::optional<int64_t> axis;
  if (c.opset() < 20) {
    axis = attrs.axis_attr;
  } else if (!c.has_input(2)) {
    axis = -2;
  } else if (auto a = scalar_value(c, 2); a && a->is_const()) {
    axis = a->const_value();
  }
  std::vector<Expr> out = x;
  out.back() = Expr::constant(inverse && onesided ? 1 : 2);
  if (axis) {
    std::optional<Expr> n;
    if (c.has_input(1)) n = scalar_value(c, 1);
    out = dft_shape(c, x, *axis, n);
    // A length known only while running: the axis's size comes then (a plain
    // symbol, which the runtime binds from run_shape_dft).
    if (c.has_input(1) && !n) out[static_cast<size_t>(c.axis(*axis, x.size()))] = runtime_dim(c);
  } else if (c.has_input(1) || onesided) {
    for (size_t i = 0; i + 1 < x.size(); ++i) out[i] = runtime_dim(c);  // which dim changes is known at run time
  }
  c.set_output(0, c.dtype(0), out);
}

void infer_stft(InferContext& c) {
  if (!is_float(c.dtype(0))) c.unsupported(std::string("signal type ") + dtype_name(c.dtype(0)));
  const std::vector<Expr>& x = c.shape(0);
  if (x.size() != 3) c.fail("signal must be 3-D [batch, length, 1 or 2]");
  bool onesided = StftAttrs::parse(c).onesided;
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
  // Unknown step or length: those dims come at run time (run_shape_stft).
  std::vector<Expr> out = stft_shape(x, len ? *len : Expr::constant(1), step ? *step : Expr::constant(1), onesided);
  if (!step || !len) out[1] = runtime_dim(c);
  if (!len) out[2] = runtime_dim(c);
  c.set_output(0, c.dtype(0), out);
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
  std::vector<Expr> out = mel_shape(bins ? *bins : Expr::constant(1), len ? *len : Expr::constant(1));
  if (!len) out[0] = runtime_dim(c);  // known while running (run_shape_mel)
  if (!bins) out[1] = runtime_dim(c);
  c.set_output(0, t, out);
}

}  // namespace

void register_signal_ops(OpRegistry& r) {
  r.add("DFT", infer_dft).host_inputs({1, 2}).shape_at_run_time(run_shape_dft);
  r.add("STFT", infer_stft).host_inputs({1, 3}).shape_at_run_time(run_shape_stft);
  for (const char* w : {"HannWindow", "HammingWindow", "BlackmanWindow"})
    r.add(w, infer_window).host_inputs({0}).shape_at_run_time(run_shape_window);
  r.add("MelWeightMatrix", infer_mel).host_inputs({0, 1, 2, 3, 4}).shape_at_run_time(run_shape_mel);
}

}  // namespace dynrt
