#include <gtest/gtest.h>

#include "core/expr.h"
#include "dynrt/error.h"

using dynrt::Expr;

namespace {

struct Names : dynrt::SymbolNames {
  std::string symbol_name(int id) const override { return id == 0 ? "b" : id == 1 ? "s" : "x"; }
  dynrt::Interval symbol_range(int id) const override { return id == 0 ? dynrt::Interval{1, 8} : dynrt::Interval{1, 128}; }
};

TEST(Expr, CanonicalFormMakesEqualExpressionsIdentical) {
  Expr s = Expr::symbol(1);
  EXPECT_EQ(Expr::constant(2) * (s + Expr::constant(1)), Expr::constant(2) * s + Expr::constant(2));
  EXPECT_EQ(s + s, Expr::constant(2) * s);
  EXPECT_EQ(s - s, Expr::constant(0));
  Expr b = Expr::symbol(0);
  EXPECT_EQ(b * s, s * b);
  EXPECT_EQ((b + s) * (b + s), b * b + Expr::constant(2) * b * s + s * s);
}

TEST(Expr, ExactDivisionSimplifies) {
  Expr b = Expr::symbol(0), s = Expr::symbol(1);
  Expr total = b * s * Expr::constant(768);
  EXPECT_EQ(floordiv(total, s * Expr::constant(768)), b);
  EXPECT_EQ(floordiv(total, Expr::constant(12) * Expr::constant(64) * b), s);
  EXPECT_EQ(mod(total, Expr::constant(768)), Expr::constant(0));
  EXPECT_FALSE(floordiv(s, Expr::constant(2)).is_const());
}

TEST(Expr, EvaluatesAndBounds) {
  Expr b = Expr::symbol(0), s = Expr::symbol(1);
  Expr e = floordiv(s + Expr::constant(1), Expr::constant(2)) * b - min(b, s);
  std::vector<int64_t> binding = {3, 7};
  EXPECT_EQ(e.eval(binding), (7 + 1) / 2 * 3 - 3);
  Names names;
  dynrt::Interval iv = (Expr::constant(2) * b + Expr::constant(1)).bounds(names);
  EXPECT_EQ(iv.lo, 3);
  EXPECT_EQ(iv.hi, 17);
  EXPECT_EQ(max(b, b), b);
  EXPECT_EQ(max(Expr::constant(3), Expr::constant(5)), Expr::constant(5));
}

TEST(Expr, PrintsReadably) {
  Names names;
  Expr b = Expr::symbol(0), s = Expr::symbol(1);
  EXPECT_EQ((Expr::constant(2) * s + Expr::constant(1)).str(&names), "2*s + 1");
  EXPECT_EQ((b * s).str(&names), "b*s");
  EXPECT_EQ(floordiv(s + Expr::constant(1), Expr::constant(2)).str(&names), "(s + 1)/2");
}

TEST(Expr, SerializationRoundTrips) {
  Expr b = Expr::symbol(0), s = Expr::symbol(1);
  std::vector<Expr> exprs = {b * s * Expr::constant(3) - Expr::constant(1), floordiv(s, Expr::constant(4)),
                             mod(b + s, Expr::constant(3)), min(b, s), max(b * Expr::constant(2), s), Expr::constant(-7)};
  std::vector<int64_t> code;
  for (const Expr& e : exprs) e.serialize(code);
  size_t pos = 0;
  for (const Expr& e : exprs) EXPECT_EQ(Expr::deserialize(code, pos), e);
  EXPECT_EQ(pos, code.size());
  std::vector<int64_t> bad = {5, 0, 1};
  pos = 0;
  EXPECT_THROW(Expr::deserialize(bad, pos), dynrt::Error);
}

TEST(Expr, ParsesRelations) {
  auto lookup = [](const std::string& n) {
    if (n == "enc") return 0;
    if (n == "dec") return 1;
    throw dynrt::Error(dynrt::ErrorCode::kInvalidConfig, "no " + n);
  };
  Expr enc = Expr::symbol(0), dec = Expr::symbol(1);
  EXPECT_EQ(dynrt::parse_expr("2*enc + 1", lookup), Expr::constant(2) * enc + Expr::constant(1));
  EXPECT_EQ(dynrt::parse_expr("max(enc, dec) / 2", lookup), floordiv(max(enc, dec), Expr::constant(2)));
  EXPECT_THROW(dynrt::parse_expr("2*foo", lookup), dynrt::Error);
  EXPECT_THROW(dynrt::parse_expr("2*(enc", lookup), dynrt::Error);
}

}  // namespace

TEST(Expr, SimplifiesWithRanges) {
  Names names;  // b in [1, 8], s in [1, 128]
  Expr b = Expr::symbol(0), s = Expr::symbol(1);
  EXPECT_EQ(max(Expr::constant(0), b).simplify(names), b);
  EXPECT_EQ(min(b, Expr::constant(8)).simplify(names), b);
  EXPECT_EQ(max(b, max(Expr::constant(0), b)).simplify(names), b);
  EXPECT_EQ(min(b, s).simplify(names), min(b, s));
  EXPECT_EQ(floordiv(b, Expr::constant(16)).simplify(names), Expr::constant(0));
}
