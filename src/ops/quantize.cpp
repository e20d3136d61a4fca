// Inference for the quantization ops: QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, MatMulInteger, QLinearMatMul, ConvInteger and
// QLinearConv (8/16-bit integers; QuantizeLinear and DequantizeLinear also
// take the narrow types: float8, float4, int4, int2).
#include "core/narrow_types.h"
#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/nn_shape.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

bool is_float(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16 || t == DType::kBFloat16;
}
// The integer types, and the narrow ones QuantizeLinear defines (float8, float4, int4, int2).
bool is_quant(DType t) {
  return t == DType::kUInt8 || t == DType::kInt8 || t == DType::kUInt16 || t == DType::kInt16 ||
         (narrow::is_narrow(t) && t != DType::kFloat8E8M0);
}

// Scale / zero point: per tensor (one element), per axis (1-D of the axis
// length) or blocked (the input's rank, the axis dim split into blocks).
void check_scale(InferContext& c, size_t i, const std::vector<Expr>& x, const char* what) {
  if (!c.has_input(i)) return;
  const std::vector<Expr>& s = c.shape(i);
  QuantizeAttrs attrs = QuantizeAttrs::parse(c);
  int64_t block = attrs.block_size;
  if (s.empty() || (s.size() == 1 && s[0].is_const() && s[0].const_value() == 1)) return;
  // A 1-D length known only at run time may be 1 (per tensor) or the axis
  // length: the kernel checks which when it runs.
  if (s.size() == 1 && !s[0].is_const() && block <= 0) return;
  if (x.empty()) c.fail(std::string(what) + " must be a scalar for a scalar input");
  auto axis = static_cast<size_t>(c.axis(attrs.axis, x.size()));
  if (block > 0) {
    if (s.size() != x.size()) c.fail(std::string(what) + " must have the input's rank for blocked quantization");
    for (size_t k = 0; k < x.size(); ++k) {
      Expr want = k == axis ? floordiv(x[k] + Expr::constant(block - 1), Expr::constant(block)) : x[k];
      c.require_equal(s[k], want, std::string(what) + " dim " + std::to_string(k));
    }
    return;
  }
  if (s.size() != 1) c.fail(std::string(what) + " must be a scalar or 1-D (per-axis)");
  c.require_equal(s[0], x[axis], std::string(what) + " length vs the axis");
}

void infer_quantize(InferContext& c) {
  DType t = c.dtype(0);
  if (!is_float(t) && t != DType::kInt32) c.unsupported(std::string("input type ") + dtype_name(t));
  DType out = DType::kUInt8;
  if (c.has_input(2)) out = c.dtype(2);
  else if (c.has_attr("output_dtype") && c.attr_int("output_dtype", 0) != 0) out = static_cast<DType>(c.attr_int("output_dtype"));
  if (!is_quant(out)) c.unsupported(std::string("quantizing to ") + dtype_name(out));
  check_scale(c, 1, c.shape(0), "y_scale");
  check_scale(c, 2, c.shape(0), "y_zero_point");
  c.set_output(0, out, c.shape(0));
}

void infer_dequantize(InferContext& c) {
  DType t = c.dtype(0);
  if (!is_quant(t) && t != DType::kInt32) c.unsupported(std::string("input type ") + dtype_name(t));
  if (c.has_input(2) && c.dtype(2) != t) c.fail("x_zero_point type differs from x");
  DType out = c.dtype(1);
  if (c.has_attr("output_dtype") && c.attr_int("output_dtype", 0) != 0) out = static_cast<DType>(c.attr_int("output_dtype"));
  if (!is_float(out)) c.fail("the scale must be a float type");
  check_scale(c, 1, c.shape(0), "x_scale");
  check_scale(c, 2, c.shape(0), "x_zero_point");
  c.set_output(0, out, c.shape(0));
}

void infer_dynamic_quantize(InferContext& c) {
  if (c.dtype(0) != DType::kFloat32) c.unsupported(std::string("input type ") + dtype_name(c.dtype(0)));
  c.set_output(0, DType::kUInt8, c.shape(0));
  c.set_output(1, DType::kFloat32, {});
  c.set_output(2, DType::kUInt8, {});
}

// numpy matmul shapes of A [.., M, K] and B [.., K, N] (1-D operands promoted).
std::vector<Expr> matmul_shape(InferContext& c, size_t ia, size_t ib) {
  std::vector<Expr> a = c.shape(ia), b = c.shape(ib);
  if (a.empty() || b.empty()) c.fail("matmul operands must have rank >= 1");
  bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a.insert(a.begin(), Expr::constant(1));
  if (b1) b.push_back(Expr::constant(1));
  c.require_equal(a.back(), b[b.size() - 2], "matmul inner dims");
  std::vector<Expr> ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  std::vector<Expr> out = c.broadcast_shapes(ba, bb);
  if (!a1) out.push_back(a[a.size() - 2]);
  if (!b1) out.push_back(b.back());
  return out;
}

void infer_matmul_integer(InferContext& c) {
  for (size_t i : {0, 1})
    if (c.dtype(i) != DType::kUInt8 && c.dtype(i) != DType::kInt8)
      c.unsupported(std::string("input type ") + dtype_name(c.dtype(i)));
  c.set_output(0, DType::kInt32, matmul_shape(c, 0, 1));
}

void infer_qlinear_matmul(InferContext& c) {
  for (size_t i : {0, 3})
    if (c.dtype(i) != DType::kUInt8 && c.dtype(i) != DType::kInt8)
      c.unsupported(std::string("input type ") + dtype_name(c.dtype(i)));
  DType out = c.has_input(7) ? c.dtype(7) : c.dtype(0);
  if (out != DType::kUInt8 && out != DType::kInt8) c.unsupported(std::string("output type ") + dtype_name(out));
  c.set_output(0, out, matmul_shape(c, 0, 3));
}

// ConvInteger (x, w, x_zp, w_zp) and QLinearConv (x, x_s, x_zp, w, w_s, w_zp, y_s, y_zp, B).
void infer_qconv(InferContext& c) {
  bool qlinear = c.node().op == "QLinearConv";
  size_t wi = qlinear ? 3 : 1;
  for (size_t i : {size_t{0}, wi})
    if (c.dtype(i) != DType::kUInt8 && c.dtype(i) != DType::kInt8)
      c.unsupported(std::string("input type ") + dtype_name(c.dtype(i)));
  const std::vector<Expr>&x = c.shape(0), &w = c.shape(wi);
  if (x.size() < 3 || w.size() != x.size()) c.fail("X and W must have the same rank >= 3");
  size_t n = x.size() - 2;
  // Kernel dims may be symbolic (the weight is a graph input): the output
  // size formula is then built over them.
  std::vector<int64_t> kernel(n, 1);
  for (size_t i = 0; i < n; ++i)
    if (w[i + 2].is_const()) kernel[i] = w[i + 2].const_value();
  nnshape::Spatial p = nnshape::read_spatial(c, n, kernel);
  if (!p.error.empty()) c.fail(p.error);
  int64_t group = ConvAttrs::parse(c, n).group;
  if (group < 1) c.fail("group must be positive");
  c.require_equal(x[1], w[1] * Expr::constant(group), "input channels vs weight channels * group");
  std::vector<Expr> out = {x[0], w[0]};
  for (size_t i = 0; i < n; ++i) {
    if (w[i + 2].is_const() || p.same()) {
      out.push_back(nnshape::forward_out_size(p, i, x[i + 2]));
      continue;
    }
    Expr eff = Expr::constant(p.dilations[i]) * (w[i + 2] - Expr::constant(1)) + Expr::constant(1);
    Expr num = x[i + 2] + Expr::constant(p.pads[i] + p.pads[i + n]) - eff;
    out.push_back(floordiv(num, Expr::constant(p.strides[i])) + Expr::constant(1));
  }
  DType t = DType::kInt32;
  if (qlinear) t = c.has_input(7) ? c.dtype(7) : c.dtype(0);
  c.set_output(0, t, out);
}

}  // namespace

void register_quantize_ops(OpRegistry& r) {
  r.add("QuantizeLinear", infer_quantize).narrow_types();
  r.add("DequantizeLinear", infer_dequantize).narrow_types();
  r.add("DynamicQuantizeLinear", infer_dynamic_quantize);
  r.add("MatMulInteger", infer_matmul_integer);
  r.add("QLinearMatMul", infer_qlinear_matmul);
  r.add("ConvInteger", infer_qconv);
  r.add("QLinearConv", infer_qconv);
}

}  // namespace dynrt
