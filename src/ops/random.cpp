// Inference for the ops whose outputs are random: RandomUniform,
// RandomNormal, RandomUniformLike, RandomNormalLike, Bernoulli, Multinomial,
// and Dropout (random in training mode, the identity otherwise). All carry
// the `random` trait: constant folding never evaluates them at build time.
#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

bool is_real(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16 || t == DType::kBFloat16;
}

DType real_type(InferContext& c, DType def) {
  DType t = c.has_attr("dtype") ? static_cast<DType>(c.attr_int("dtype")) : def;
  if (!is_real(t)) c.unsupported(std::string("random values of type ") + dtype_name(t) + " (a float type is needed)");
  return t;
}

void infer_random(InferContext& c) {
  DType t = real_type(c, DType::kFloat32);
  std::vector<Expr> shape;
  for (int64_t d : c.attr_ints("shape")) {
    if (d < 0) c.fail("shape has a negative dim");
    shape.push_back(Expr::constant(d));
  }
  if (!c.has_attr("shape")) c.fail("the shape attribute is required");
  c.set_output(0, t, shape);
}

void infer_random_like(InferContext& c) {
  DType t = real_type(c, c.dtype(0));
  c.set_output(0, t, c.shape(0));
}

void infer_bernoulli(InferContext& c) {
  if (!is_real(c.dtype(0))) c.fail("input must be a floating type");
  DType t = c.has_attr("dtype") ? static_cast<DType>(c.attr_int("dtype")) : c.dtype(0);
  if (!dtype_is_supported(t) || t == DType::kString) c.unsupported(std::string("output type ") + dtype_name(t));
  c.set_output(0, t, c.shape(0));
}

void infer_multinomial(InferContext& c) {
  if (!is_real(c.dtype(0))) c.fail("input must be a floating type");
  const std::vector<Expr>& s = c.shape(0);
  if (s.size() != 2) c.fail("input must be 2-D [batch, classes]");
  DType t = static_cast<DType>(c.attr_int("dtype", static_cast<int64_t>(DType::kInt32)));
  if (t != DType::kInt32 && t != DType::kInt64) c.fail("dtype must be int32 or int64");
  int64_t n = c.attr_int("sample_size", 1);
  if (n < 1) c.fail("sample_size must be at least 1");
  c.set_output(0, t, {s[0], Expr::constant(n)});
}

// Dropout: the identity unless training_mode is true; the kernel reads the
// ratio and the mode when they are known only at run time.
void infer_dropout(InferContext& c) {
  if (c.opset() < 7 && c.attr_int("is_test", 0) == 0)
    c.unsupported("Dropout before opset 7 in training mode (is_test = 0)");
  if (c.has_input(2) && c.dtype(2) != DType::kBool) c.fail("training_mode must be bool");
  if (c.has_input(1) && !is_real(c.dtype(1))) c.fail("ratio must be a floating type");
  if (c.has_output(1) && c.opset() < 10) c.unsupported("the mask output before opset 10 (typed like the input)");
  c.set_output(0, c.dtype(0), c.shape(0));
  if (c.has_output(1)) c.set_output(1, DType::kBool, c.shape(0));
  if (auto v = c.values(0); v && !c.has_input(2)) c.set_output_values(0, *v);
}

}  // namespace

void register_random_ops(OpRegistry& r) {
  r.add("RandomUniform", infer_random).random();
  r.add("RandomNormal", infer_random).random();
  r.add("RandomUniformLike", infer_random_like).random();
  r.add("RandomNormalLike", infer_random_like).random();
  r.add("Bernoulli", infer_bernoulli).random();
  r.add("Multinomial", infer_multinomial).random();
  r.add("Dropout", infer_dropout).random();
}

}  // namespace dynrt
