// Attention fusion at the IR level (backends/fuse_attention.h): the chains
// both PyTorch exporters emit become one Attention node with the combined
// scale and the mask, K^T's Transpose is retargeted to give K, and chains
// that are not attention are left alone. The numbers are checked on the GPU
// (tests/python/test_cuda_fusion.py) and by the zoo.
#include <gtest/gtest.h>

#include "backends/fuse_attention.h"
#include "graph_builder.h"
#include "passes/pass.h"

namespace dynrt::testing {
namespace {

bool f32(DType t) { return t == DType::kFloat32; }

Tensor scalar(float v) {
  Tensor t(DType::kFloat32, {});
  t.data_as<float>()[0] = v;
  return t;
}

ir::Attribute ints(std::vector<int64_t> v) {
  ir::Attribute a;
  a.type = ir::Attribute::Type::kInts;
  a.ints = std::move(v);
  return a;
}

struct Case {
  bool scale_q_and_k = false;  // the dynamo exporter's q * sqrt(s), k * sqrt(s)
  bool mask = true;
  bool nan_guard = false;      // Where(IsNaN(p), 0, p) after the softmax
  const char* last = "MatMul";
};

// q [B, 2, S, 8], k as [B, S, 2, 8] transposed to K^T [B, 2, 8, S], v [B, 2, S, 8].
ir::Graph& attention_graph(GraphBuilder& b, const Case& c) {
  Expr batch = Expr::symbol(b.symbol("B", 1, 2, 4)), seq = Expr::symbol(b.symbol("S", 1, 8, 16));
  Expr two = Expr::constant(2), eight = Expr::constant(8);
  int q = b.input("q", DType::kFloat32, {batch, two, seq, eight});
  int kx = b.input("k", DType::kFloat32, {batch, seq, two, eight});
  int v = b.input("v", DType::kFloat32, {batch, two, seq, eight});
  int m = b.input("mask", DType::kFloat32, {batch, Expr::constant(1), Expr::constant(1), seq});
  int kt = b.node("Transpose", {kx}, "kt");
  b.g.nodes.back().attrs["perm"] = ints({0, 2, 3, 1});
  int s;
  if (c.scale_q_and_k) {
    int root = b.constant("root_scale", scalar(0.5f));
    int qs = b.node("Mul", {q, root}, "qs");
    int ks = b.node("Mul", {kt, root}, "ks");
    s = b.node("MatMul", {qs, ks}, "scores");
  } else {
    int raw = b.node("MatMul", {q, kt}, "raw");
    s = b.node("Div", {raw, b.constant("d", scalar(4.f))}, "scores");
  }
  if (c.mask) s = b.node("Add", {s, m}, "masked");
  int p = b.node("Softmax", {s}, "p");
  b.g.nodes.back().attrs["axis"].i = -1;
  if (c.nan_guard) {
    int nan = b.node("IsNaN", {p}, "nan");
    p = b.node("Where", {nan, b.constant("zero", scalar(0.f)), p}, "p0");
  }
  b.output(b.node(c.last, {p, v}, "out"));
  return b.infer();
}

const ir::Node* find(const ir::Graph& g, const std::string& op) {
  for (const ir::Node& n : g.nodes)
    if (n.op == op) return &n;
  return nullptr;
}

TEST(FuseAttention, TorchScriptChainBecomesOneNodeWithTheMask) {
  GraphBuilder b;
  ir::Graph& g = attention_graph(b, {});
  ASSERT_TRUE(fuse_attention(g, 0, f32));
  passes::eliminate_dead_code(g);
  ASSERT_EQ(g.nodes.size(), 2u);  // Transpose(k) -> Attention
  const ir::Node* t = find(g, "Transpose");
  const ir::Node* a = find(g, "Attention");
  ASSERT_TRUE(t && a);
  EXPECT_EQ(t->attrs.at("perm").ints, (std::vector<int64_t>{0, 2, 1, 3}));  // now gives K
  EXPECT_FLOAT_EQ(a->attrs.at("scale").f, 0.25f);
  ASSERT_EQ(a->inputs.size(), 4u);
  EXPECT_EQ(g.values[static_cast<size_t>(a->inputs[0])].name, "q");
  EXPECT_EQ(a->inputs[1], t->outputs[0]);
  EXPECT_EQ(g.values[static_cast<size_t>(a->inputs[3])].name, "mask");
  EXPECT_EQ(g.values[static_cast<size_t>(a->outputs[0])].name, "out");
  const ir::Value& k = g.values[static_cast<size_t>(t->outputs[0])];
  EXPECT_EQ(k.shape[2], g.values[static_cast<size_t>(g.find_value("v"))].shape[2]);  // [B, 2, S, 8]
}

TEST(FuseAttention, DynamoChainWithScaledOperandsAndNanGuard) {
  GraphBuilder b;
  ir::Graph& g = attention_graph(b, {.scale_q_and_k = true, .mask = true, .nan_guard = true});
  ASSERT_TRUE(fuse_attention(g, 0, f32));
  passes::eliminate_dead_code(g);
  const ir::Node* a = find(g, "Attention");
  ASSERT_TRUE(a);
  EXPECT_FLOAT_EQ(a->attrs.at("scale").f, 0.25f);  // 0.5 on each side
  EXPECT_EQ(find(g, "IsNaN"), nullptr);
  EXPECT_EQ(find(g, "Softmax"), nullptr);
  EXPECT_EQ(find(g, "Mul"), nullptr);
}

TEST(FuseAttention, WithoutMask) {
  GraphBuilder b;
  ir::Graph& g = attention_graph(b, {.mask = false});
  ASSERT_TRUE(fuse_attention(g, 0, f32));
  passes::eliminate_dead_code(g);
  const ir::Node* a = find(g, "Attention");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->inputs.size(), 3u);
}

TEST(FuseAttention, DynamoKeyTransposedIn3dNeedsNoTranspose) {
  // K^T = Reshape(Transpose(0, 2, 1)(Reshape(k, [B*2, S, 8])), [B, 2, 8, S]): K is k itself.
  GraphBuilder b;
  Expr batch = Expr::symbol(b.symbol("B", 1, 2, 4)), seq = Expr::symbol(b.symbol("S", 1, 8, 16));
  Expr two = Expr::constant(2), eight = Expr::constant(8);
  int q = b.input("q", DType::kFloat32, {batch, two, seq, eight});
  int k = b.input("k", DType::kFloat32, {batch, two, seq, eight});
  int v = b.input("v", DType::kFloat32, {batch, two, seq, eight});
  int k3 = b.node("Reshape", {k, b.shape_tensor("s3", {batch * two, seq, eight})}, "k3");
  int kt3 = b.node("Transpose", {k3}, "kt3");
  b.g.nodes.back().attrs["perm"] = ints({0, 2, 1});
  int kt = b.node("Reshape", {kt3, b.shape_tensor("s4", {batch, two, eight, seq})}, "kt");
  int raw = b.node("MatMul", {q, kt}, "raw");
  int s = b.node("Div", {raw, b.constant("d", scalar(4.f))}, "scores");
  int p = b.node("Softmax", {s}, "p");
  b.g.nodes.back().attrs["axis"].i = -1;
  b.output(b.node("MatMul", {p, v}, "out"));
  ir::Graph& g = b.infer();
  ASSERT_TRUE(fuse_attention(g, 0, f32));
  passes::eliminate_dead_code(g);
  const ir::Node* a = find(g, "Attention");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->inputs[1], k);
  EXPECT_EQ(find(g, "Transpose"), nullptr);
  EXPECT_EQ(find(g, "Reshape"), nullptr);
}

TEST(FuseAttention, OtherChainsAndOtherProvidersAreLeftAlone) {
  {
    GraphBuilder b;  // softmax(...) + v is not attention
    ir::Graph& g = attention_graph(b, {.last = "Add"});
    EXPECT_FALSE(fuse_attention(g, 0, f32));
  }
  {
    GraphBuilder b;  // nodes of another provider
    ir::Graph& g = attention_graph(b, {});
    EXPECT_FALSE(fuse_attention(g, 1, f32));
  }
  {
    GraphBuilder b;  // a type the provider does not take
    ir::Graph& g = attention_graph(b, {});
    EXPECT_FALSE(fuse_attention(g, 0, [](DType) { return false; }));
  }
}

}  // namespace
}  // namespace dynrt::testing
