// Arithmetic C++ leaves undefined, given defined results: floating values
// outside an integer type's range, converted by Cast and by Pow with an
// integer base (saturated, NaN as 0), and integer Pow that overflows (wraps,
// as numpy's), both found by fuzz_model under UBSan; integer Add, Sub, Mul,
// Neg, Abs, Div and Mod that overflow (wrap as numpy's; the most negative
// value / -1 and % -1 trapped), found the same way in session 8. The sanitizer build runs
// this test (scripts/fuzz.sh), so a regression is a UBSan report.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "builder/build.h"
#include "dynrt/dynrt.h"
#include "graph_builder.h"
#include "runtime/engine_impl.h"

namespace dynrt::testing {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
const float kInf = std::numeric_limits<float>::infinity(), kNan = std::numeric_limits<float>::quiet_NaN();

std::shared_ptr<Engine> build(GraphBuilder& b) {
  BuildConfig cfg;
  cfg.profiles.push_back(Profile{{}, {{"N", {1, 6, 8}}}});
  return EngineAccess::wrap(build_engine(std::move(b.g), cfg));
}

Tensor float_tensor(std::vector<float> v) {
  Tensor t(DType::kFloat32, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data_as<float>()[i] = v[i];
  return t;
}

TEST(FloatToInt, CastSaturatesAndMapsNanToZero) {
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 6, 8));
  int x = b.input("x", DType::kFloat32, {n});
  int y = b.node("Cast", {x}, "y");
  ir::Attribute to;
  to.i = 7;  // ONNX TensorProto.INT64
  b.g.nodes.back().attrs["to"] = to;
  b.output(y);
  auto out = build(b)->create_context()->run({{"x", float_tensor({kInf, -kInf, kNan, 1e30f, 3.7f, -2.5f})}}).at("y");
  ASSERT_EQ(out.dtype(), DType::kInt64);
  const int64_t* v = out.data_as<int64_t>();
  EXPECT_EQ(v[0], kMax);
  EXPECT_EQ(v[1], kMin);
  EXPECT_EQ(v[2], 0);
  EXPECT_EQ(v[3], kMax);
  EXPECT_EQ(v[4], 3);   // in range: truncation toward zero, as numpy and ONNX Runtime
  EXPECT_EQ(v[5], -2);
}

TEST(FloatToInt, PowOfAnIntegerBaseByAFloatExponentSaturates) {
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 6, 8));
  int base = b.input("a", DType::kInt64, {n});
  int exponent = b.input("e", DType::kFloat32, {n});
  b.output(b.node("Pow", {base, exponent}, "y"));
  Tensor a(DType::kInt64, {4});
  const int64_t av[] = {10, -10, 0, 3};
  for (int i = 0; i < 4; ++i) a.data_as<int64_t>()[i] = av[i];
  auto out = build(b)->create_context()->run({{"a", a}, {"e", float_tensor({400.f, 401.f, -1.f, 2.f})}}).at("y");
  const int64_t* v = out.data_as<int64_t>();
  EXPECT_EQ(v[0], kMax);  // 10^400 = inf
  EXPECT_EQ(v[1], kMin);  // -10^401 = -inf
  EXPECT_EQ(v[2], kMax);  // 0^-1 = inf
  EXPECT_EQ(v[3], 9);
}

TEST(IntegerPow, WrapsLikeNumpyAndTakesHugeExponentsInLogTime) {
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 6, 8));
  int base = b.input("a", DType::kInt64, {n});
  int exponent = b.input("e", DType::kInt64, {n});
  b.output(b.node("Pow", {base, exponent}, "y"));
  Tensor a(DType::kInt64, {5}), e(DType::kInt64, {5});
  const int64_t av[] = {-4111785218627600334, 3, 2, -1, 7}, ev[] = {2, 40, 64, kMax, -1};
  for (int i = 0; i < 5; ++i) {
    a.data_as<int64_t>()[i] = av[i];
    e.data_as<int64_t>()[i] = ev[i];
  }
  auto out = build(b)->create_context()->run({{"a", a}, {"e", e}}).at("y");
  const int64_t* v = out.data_as<int64_t>();
  // The values numpy's np.power gives for these int64 operands.
  EXPECT_EQ(v[0], 7771366748170750404);
  EXPECT_EQ(v[1], -6289078614652622815);  // 3^40 wraps
  EXPECT_EQ(v[2], 0);   // 2^64 wraps to 0
  EXPECT_EQ(v[3], -1);  // (-1)^odd, an exponent of 2^63 - 1 in 63 squarings
  EXPECT_EQ(v[4], 0);   // a negative exponent: 0 unless the base is 1
}

Tensor int64_tensor(std::vector<int64_t> v) {
  Tensor t(DType::kInt64, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data_as<int64_t>()[i] = v[i];
  return t;
}

std::vector<int64_t> binary_int64(const char* op, const Tensor& a, const Tensor& c) {
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 6, 8));
  b.output(b.node(op, {b.input("a", DType::kInt64, {n}), b.input("b", DType::kInt64, {n})}, "y"));
  Tensor y = build(b)->create_context()->run({{"a", a}, {"b", c}}).at("y");
  return {y.data_as<int64_t>(), y.data_as<int64_t>() + y.numel()};
}

std::vector<int64_t> unary_int64(const char* op, const Tensor& a) {
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 6, 8));
  b.output(b.node(op, {b.input("a", DType::kInt64, {n})}, "y"));
  Tensor y = build(b)->create_context()->run({{"a", a}}).at("y");
  return {y.data_as<int64_t>(), y.data_as<int64_t>() + y.numel()};
}

TEST(IntegerArithmetic, OverflowWrapsLikeNumpy) {
  // Expected values: numpy 2 on the same int64 arrays (np.errstate(all="ignore")).
  const Tensor a = int64_tensor({int64_t{1} << 62, kMin, kMax, -220675140579491790, 7, kMin});
  const Tensor c = int64_tensor({4, -1, 1, 2420403324734947337, -1, -1});
  EXPECT_EQ(binary_int64("Add", a, c),
            (std::vector<int64_t>{4611686018427387908, kMax, kMin, 2199728184155455547, 6, kMax}));
  EXPECT_EQ(binary_int64("Sub", a, c),
            (std::vector<int64_t>{4611686018427387900, -kMax, 9223372036854775806, -2641078465314439127, 8, -kMax}));
  EXPECT_EQ(binary_int64("Mul", a, c), (std::vector<int64_t>{0, kMin, kMax, 8373960721952440770, -7, kMin}));
  EXPECT_EQ(unary_int64("Neg", a),
            (std::vector<int64_t>{-(int64_t{1} << 62), kMin, -kMax, 220675140579491790, -7, kMin}));
  EXPECT_EQ(unary_int64("Abs", a), (std::vector<int64_t>{int64_t{1} << 62, kMin, kMax, 220675140579491790, 7, kMin}));
  // Division truncates toward zero (ONNX Runtime's); kMin / -1 wraps to kMin instead of trapping.
  EXPECT_EQ(binary_int64("Div", a, c), (std::vector<int64_t>{int64_t{1} << 60, kMin, kMax, 0, -7, kMin}));
  EXPECT_EQ(binary_int64("Mod", a, c), (std::vector<int64_t>{0, 0, 0, -220675140579491790 + 2420403324734947337, 0, 0}));
}

TEST(IntegerArithmetic, SixteenBitProductsDoNotOverflowInt) {
  // int16 operands promote to int in C++; 300 * 300 wraps to 24464 in int16 (numpy's answer).
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 6, 8));
  b.output(b.node("Mul", {b.input("a", DType::kInt16, {n}), b.input("b", DType::kInt16, {n})}, "y"));
  Tensor a(DType::kInt16, {2}), c(DType::kInt16, {2});
  a.data_as<int16_t>()[0] = 300, a.data_as<int16_t>()[1] = -32768;
  c.data_as<int16_t>()[0] = 300, c.data_as<int16_t>()[1] = -1;
  Tensor y = build(b)->create_context()->run({{"a", a}, {"b", c}}).at("y");
  EXPECT_EQ(y.data_as<int16_t>()[0], 24464);
  EXPECT_EQ(y.data_as<int16_t>()[1], -32768);
}

}  // namespace
}  // namespace dynrt::testing
