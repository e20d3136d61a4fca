// Epilogue fusion at the IR level (backends/fuse_epilogue.h): the residual
// rule for MatMul (a transformer's output projection, x W + b + residual),
// with and without the bias, and the cases it must leave alone. The numbers
// are checked on the GPU (tests/python/test_cuda_fusion.py).
#include <gtest/gtest.h>

#include "backends/fuse_epilogue.h"
#include "graph_builder.h"

namespace dynrt::testing {
namespace {

EpilogueRules residual_rules() {
  EpilogueRules r;
  r.dtype_ok = [](DType t) { return t == DType::kFloat32; };
  r.activation_ok = [](const std::string&, const std::string& act, DType) { return act == "Relu"; };
  r.matmul_residual = true;
  return r;
}

struct Chain {
  GraphBuilder b;
  int x, r, w, bias;
  Chain() {
    Expr n = Expr::symbol(b.symbol("N", 1, 4, 8));
    x = b.input("x", DType::kFloat32, {n, Expr::constant(16)});
    r = b.input("r", DType::kFloat32, {n, Expr::constant(8)});
    w = b.constant("W", floats({16, 8}));
    bias = b.constant("B", floats({8}));
  }
};

const ir::Node& only_node(const ir::Graph& g) {
  EXPECT_EQ(g.nodes.size(), 1u);
  return g.nodes.front();
}

TEST(FuseEpilogue, MatMulBiasResidualReluIsOneNode) {
  Chain c;
  int m = c.b.node("MatMul", {c.x, c.w}, "m");
  int s = c.b.node("Add", {m, c.bias}, "s");
  int t = c.b.node("Add", {c.r, s}, "t");  // the residual on the left
  c.b.output(c.b.node("Relu", {t}, "y"));
  ir::Graph& g = c.b.infer();
  ASSERT_TRUE(fuse_epilogues(g, 0, residual_rules()));
  const ir::Node& n = only_node(g);
  EXPECT_EQ(n.inputs, (std::vector<int>{c.x, c.w, c.bias, c.r}));
  EXPECT_EQ(n.attrs.at("dynrt.fused").s, "MatMul+Add+Add+Relu");
  EXPECT_EQ(n.attrs.at("dynrt.activation").s, "Relu");
  EXPECT_EQ(g.values[static_cast<size_t>(n.outputs[0])].name, "y");
}

TEST(FuseEpilogue, MatMulResidualWithoutBiasLeavesInputTwoEmpty) {
  Chain c;
  int m = c.b.node("MatMul", {c.x, c.w}, "m");
  c.b.output(c.b.node("Add", {m, c.r}, "y"));
  ir::Graph& g = c.b.infer();
  ASSERT_TRUE(fuse_epilogues(g, 0, residual_rules()));
  EXPECT_EQ(only_node(g).inputs, (std::vector<int>{c.x, c.w, -1, c.r}));
}

TEST(FuseEpilogue, ResidualComputedAfterTheMatMulIsNotFused) {
  Chain c;
  int m = c.b.node("MatMul", {c.x, c.w}, "m");
  int late = c.b.node("Sigmoid", {c.r}, "late");  // after the MatMul in node order
  c.b.output(c.b.node("Add", {m, late}, "y"));
  ir::Graph& g = c.b.infer();
  EXPECT_FALSE(fuse_epilogues(g, 0, residual_rules()));
  EXPECT_EQ(g.nodes.size(), 3u);
}

TEST(FuseEpilogue, BroadcastResidualIsNotFused) {
  Chain c;
  int m = c.b.node("MatMul", {c.x, c.w}, "m");
  int row = c.b.input("row", DType::kFloat32, {Expr::constant(1), Expr::constant(8)});
  c.b.output(c.b.node("Add", {m, row}, "y"));
  ir::Graph& g = c.b.infer();
  EXPECT_FALSE(fuse_epilogues(g, 0, residual_rules()));
}

TEST(FuseEpilogue, ResidualRuleOffKeepsTheAdd) {
  Chain c;
  int m = c.b.node("MatMul", {c.x, c.w}, "m");
  c.b.output(c.b.node("Add", {m, c.r}, "y"));
  ir::Graph& g = c.b.infer();
  EpilogueRules rules = residual_rules();
  rules.matmul_residual = false;  // the CPU provider's rules
  EXPECT_FALSE(fuse_epilogues(g, 0, rules));
}

}  // namespace
}  // namespace dynrt::testing
