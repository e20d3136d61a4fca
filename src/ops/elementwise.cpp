// Inference for elementwise ops: unary math and activations, binary arithmetic
// with numpy broadcasting, comparisons, logic, Where, Cast, Clip.
// Arithmetic on small integer tensors propagates their values as expressions,
// so shape arithmetic (dim * 2, seq - 1, ...) stays symbolic.
#include <optional>

#include "core/narrow_types.h"
#include "ops/attrs.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

bool is_float(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16 || t == DType::kBFloat16;
}

void infer_same(InferContext& c) { c.set_output(0, c.dtype(0), c.shape(0)); }

void infer_float_unary(InferContext& c) {
  if (!is_float(c.dtype(0)))
    c.unsupported(std::string("input type ") + dtype_name(c.dtype(0)) + " (expected a floating type)");
  infer_same(c);
}

void infer_identity(InferContext& c) {
  if (c.kind(0) != ValueKind::kTensor) {  // a sequence or an optional passes through (runtime/boxed_ops.cpp)
    c.set_output_boxed(0, c.kind(0), c.dtype(0), c.elem_rank(0));
    return;
  }
  infer_same(c);
  if (auto v = c.values(0)) c.set_output_values(0, *v);
}

// Elementwise combination of two value lists with broadcasting (values are
// 1-D or scalars in practice).
std::optional<std::vector<Expr>> combine(const std::optional<std::vector<Expr>>& a,
                                         const std::optional<std::vector<Expr>>& b,
                                         Expr (*f)(Expr, Expr)) {
  if (!a || !b) return std::nullopt;
  if (a->size() != b->size() && a->size() != 1 && b->size() != 1) return std::nullopt;
  if (a->empty() || b->empty()) return std::vector<Expr>{};  // [0] with [0] or [1]: empty (found by fuzz_model)
  size_t n = std::max(a->size(), b->size());
  std::vector<Expr> out;
  for (size_t i = 0; i < n; ++i) out.push_back(f((*a)[a->size() == 1 ? 0 : i], (*b)[b->size() == 1 ? 0 : i]));
  return out;
}

Expr add_e(Expr a, Expr b) { return a + b; }
Expr sub_e(Expr a, Expr b) { return a - b; }
Expr mul_e(Expr a, Expr b) { return a * b; }
Expr div_e(Expr a, Expr b) {
  // ONNX integer Div truncates; it equals floor-div for the non-negative
  // values shape arithmetic deals with. Negative constants are computed exactly.
  if (a.is_const() && b.is_const() && b.const_value() != 0) return Expr::constant(a.const_value() / b.const_value());
  return floordiv(a, b);
}
Expr mod_e(Expr a, Expr b) { return mod(a, b); }
Expr min_e(Expr a, Expr b) { return min(a, b); }
Expr max_e(Expr a, Expr b) { return max(a, b); }

// Comparisons propagate only when decidable at build time.
std::optional<std::vector<Expr>> compare(InferContext& c, const std::string& op) {
  auto a = c.values(0), b = c.values(1);
  if (!a || !b) return std::nullopt;
  if (a->size() != b->size() && a->size() != 1 && b->size() != 1) return std::nullopt;
  if (a->empty() || b->empty()) return std::vector<Expr>{};  // [0] with [0] or [1]: empty (found by fuzz_model)
  size_t n = std::max(a->size(), b->size());
  std::vector<Expr> out;
  for (size_t i = 0; i < n; ++i) {
    Expr x = (*a)[a->size() == 1 ? 0 : i], y = (*b)[b->size() == 1 ? 0 : i];
    Interval d = (x - y).bounds(c.names());
    int r;
    if (op == "Equal") r = (x == y) ? 1 : (d.lo > 0 || d.hi < 0) ? 0 : -1;
    else if (op == "Less") r = d.hi < 0 ? 1 : d.lo >= 0 ? 0 : -1;
    else if (op == "LessOrEqual") r = d.hi <= 0 ? 1 : d.lo > 0 ? 0 : -1;
    else if (op == "Greater") r = d.lo > 0 ? 1 : d.hi <= 0 ? 0 : -1;
    else r = d.lo >= 0 ? 1 : d.hi < 0 ? 0 : -1;  // GreaterOrEqual
    if (r < 0) return std::nullopt;
    out.push_back(Expr::constant(r));
  }
  return out;
}

void infer_binary(InferContext& c) {
  const std::string& op = c.node().op;
  if (c.dtype(0) != c.dtype(1) && op != "Pow")
    c.fail(std::string("input types differ: ") + dtype_name(c.dtype(0)) + " vs " + dtype_name(c.dtype(1)));
  std::vector<Expr> shape = c.broadcast_shapes(c.shape(0), c.shape(1));
  bool cmp = op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" || op == "GreaterOrEqual";
  bool logic = op == "And" || op == "Or" || op == "Xor";
  if (logic && c.dtype(0) != DType::kBool) c.fail("logical ops take bool inputs");
  c.set_output(0, cmp || logic ? DType::kBool : c.dtype(0), shape);
  if (is_float(c.dtype(0)) || shape.size() > 1) return;
  std::optional<std::vector<Expr>> v;
  if (op == "Add") v = combine(c.values(0), c.values(1), add_e);
  else if (op == "Sub") v = combine(c.values(0), c.values(1), sub_e);
  else if (op == "Mul") v = combine(c.values(0), c.values(1), mul_e);
  else if (op == "Div") v = combine(c.values(0), c.values(1), div_e);
  else if (op == "Mod" && !ModAttrs::parse(c).fmod) v = combine(c.values(0), c.values(1), mod_e);
  else if (cmp) v = compare(c, op);
  if (v) c.set_output_values(0, *v);
}

// Max, Min, Sum, Mean: any number of inputs, broadcast together.
void infer_variadic(InferContext& c) {
  std::vector<Expr> shape = c.shape(0);
  for (size_t i = 1; i < c.num_inputs(); ++i) {
    if (c.dtype(i) != c.dtype(0)) c.fail("input types differ");
    shape = c.broadcast_shapes(shape, c.shape(i));
  }
  c.set_output(0, c.dtype(0), shape);
  const std::string& op = c.node().op;
  if (is_float(c.dtype(0)) || shape.size() > 1 || op == "Mean") return;
  std::optional<std::vector<Expr>> v = c.values(0);
  for (size_t i = 1; i < c.num_inputs() && v; ++i)
    v = combine(v, c.values(i), op == "Max" ? max_e : op == "Min" ? min_e : add_e);
  if (v) c.set_output_values(0, *v);
}

void infer_not(InferContext& c) {
  if (c.dtype(0) != DType::kBool) c.fail("Not takes a bool input");
  infer_same(c);
}

void infer_is(InferContext& c) {
  if (!is_float(c.dtype(0))) c.unsupported(std::string("input type ") + dtype_name(c.dtype(0)));
  c.set_output(0, DType::kBool, c.shape(0));
}

void infer_where(InferContext& c) {
  if (c.dtype(0) != DType::kBool) c.fail("condition must be bool");
  if (c.dtype(1) != c.dtype(2)) c.fail("X and Y types differ");
  std::vector<Expr> shape = c.broadcast_shapes(c.broadcast_shapes(c.shape(0), c.shape(1)), c.shape(2));
  c.set_output(0, c.dtype(1), shape);
  auto cond = c.values(0), x = c.values(1), y = c.values(2);
  if (cond && x && y && shape.size() <= 1) {
    size_t n = shape.empty() ? 1 : 0;
    if (!shape.empty() && shape[0].is_const()) n = static_cast<size_t>(shape[0].const_value());
    if (n == 0) return;
    std::vector<Expr> out;
    for (size_t i = 0; i < n; ++i) {
      auto pick = [&](const std::vector<Expr>& v) { return v[v.size() == 1 ? 0 : i]; };
      if (cond->size() != 1 && cond->size() != n) return;
      if (x->size() != 1 && x->size() != n) return;
      if (y->size() != 1 && y->size() != n) return;
      out.push_back(pick(*cond).const_value() ? pick(*x) : pick(*y));
    }
    c.set_output_values(0, out);
  }
}

void infer_cast(InferContext& c) {
  auto to = static_cast<DType>(c.node().op == "CastLike" ? static_cast<int64_t>(c.dtype(1)) : c.attr_int("to"));
  // Strings to and from numbers run in the runtime (runtime/string_ops.cpp); not to or from the narrow types.
  const bool strings = to == DType::kString || c.dtype(0) == DType::kString;
  if (!dtype_is_supported(to) && to != DType::kString) c.unsupported(std::string("cast to ") + dtype_name(to));
  if (strings && (narrow::is_narrow(to) || narrow::is_narrow(c.dtype(0))))
    c.unsupported(std::string("cast from ") + dtype_name(c.dtype(0)) + " to " + dtype_name(to));
  const std::string mode = CastAttrs::parse(c).round_mode;
  if (mode != "up" && mode != "down" && mode != "nearest")
    c.fail("round_mode '" + mode + "' is not one of up, down, nearest");
  c.set_output(0, to, c.shape(0));
  bool int_to = to == DType::kInt64 || to == DType::kInt32;
  if (int_to && !is_float(c.dtype(0)))
    if (auto v = c.values(0)) c.set_output_values(0, *v);
}

void infer_clip(InferContext& c) { infer_same(c); }

// BitCast (opset 26): reinterpret the bytes as another type of the same size.
void infer_bitcast(InferContext& c) {
  auto to = static_cast<DType>(c.attr_int("to"));
  if (!dtype_is_supported(to)) c.unsupported(std::string("bitcast to ") + dtype_name(to));
  if (dtype_size(to) != dtype_size(c.dtype(0)))
    c.unsupported(std::string("bitcast between types of different sizes (") + dtype_name(c.dtype(0)) + " to " +
                  dtype_name(to) + ")");
  c.set_output(0, to, c.shape(0));
}

bool is_integer(DType t) {
  return t == DType::kInt8 || t == DType::kInt16 || t == DType::kInt32 || t == DType::kInt64 || t == DType::kUInt8 ||
         t == DType::kUInt16 || t == DType::kUInt32 || t == DType::kUInt64;
}

// BitShift, BitwiseAnd/Or/Xor/Not: integer types only.
void infer_bitwise(InferContext& c) {
  if (!is_integer(c.dtype(0))) c.fail(std::string("input type ") + dtype_name(c.dtype(0)) + " is not an integer type");
  if (c.num_inputs() == 1) return infer_same(c);
  if (c.dtype(1) != c.dtype(0)) c.fail("input types differ");
  c.set_output(0, c.dtype(0), c.broadcast_shapes(c.shape(0), c.shape(1)));
}

void infer_prelu(InferContext& c) {
  std::vector<Expr> shape = c.broadcast_shapes(c.shape(0), c.shape(1));
  c.set_output(0, c.dtype(0), shape);
}

}  // namespace

void register_elementwise_ops(OpRegistry& r) {
  for (const char* op : {"Relu", "Sigmoid", "Tanh", "Erf", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil",
                         "Round", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh",
                         "Atanh", "Gelu", "HardSigmoid", "HardSwish", "LeakyRelu", "Elu", "Selu", "Celu",
                         "Softplus", "Softsign", "Mish", "ThresholdedRelu", "Swish"})
    r.add(op, infer_float_unary).elementwise();
  for (const char* op : {"Abs", "Neg", "Sign", "Shrink"}) r.add(op, infer_same).elementwise();
  for (const char* op : {"BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot"}) r.add(op, infer_bitwise);
  r.add("Identity", infer_identity).view().narrow_types().boxed();
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "Less", "Greater", "LessOrEqual",
                         "GreaterOrEqual", "And", "Or", "Xor"})
    r.add(op, infer_binary).elementwise();
  r.add("Equal", infer_binary).elementwise().boxed();  // also on strings (runtime/string_ops.cpp)
  for (const char* op : {"Max", "Min", "Sum", "Mean"}) r.add(op, infer_variadic);
  r.add("Not", infer_not).elementwise();
  r.add("IsNaN", infer_is);
  r.add("IsInf", infer_is);
  r.add("Where", infer_where).elementwise();
  r.add("Cast", infer_cast).elementwise().narrow_types().boxed();  // and strings
  r.add("CastLike", infer_cast).narrow_types().boxed();
  r.add("Clip", infer_clip).elementwise().host_inputs({1, 2});
  r.add("BitCast", infer_bitcast);
  r.add("PRelu", infer_prelu);
}

}  // namespace dynrt
