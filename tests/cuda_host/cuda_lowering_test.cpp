// The CUDA provider's lowering passes on a machine without a GPU:
//  - the bundled BERT-style encoder from both exporters, retyped to float16 as
//    a --precision fp16 build leaves it, through attention fusion, the layout
//    pass and epilogue fusion: bias, residual and GELU fold into the MatMuls,
//    and the plan passes engine validation (what loading an engine file
//    checks; a float16 plan once failed it and no GPU test could load an
//    engine);
//  - a TorchScript-style attention block (per-head Reshape + Transpose around
//    the products, a same-shape Reshape on the output): one Attention reading
//    and writing [B, S, H, D] ("ssss"), no Transpose left.
// The numbers are checked on the GPU (tests/python/test_cuda_fusion.py).
#include <gtest/gtest.h>

#include "backends/cuda/attention_launch.h"
#include "backends/cuda/passes/passes.h"
#include "backends/fuse_attention.h"
#include "builder/profiles.h"
#include "onnx/importer.h"
#include "passes/pass.h"
#include "runtime/engine_validate.h"
#include "shape/infer.h"

namespace dynrt::cuda {
namespace {

struct Lowered {
  ir::Graph g;
  std::vector<ProfileBox> profiles;
};

Lowered lower(const std::string& model) {
  Lowered l;
  l.g = onnx_import::import_model(std::string(DYNRT_SOURCE_DIR) + "/tests/models/" + model);
  BuildConfig cfg;
  Profile p;
  p.dims["batch"] = {1, 2, 4};
  p.dims["seq"] = {1, 16, 64};
  cfg.profiles.push_back(p);
  l.profiles = apply_profiles(l.g, cfg);
  infer_shapes(l.g, [](ir::Graph& g, size_t i) { passes::fold_node(g, i); });
  for (const passes::Pass& pass : passes::default_pipeline()) pass.run(l.g);
  // What lower_precision leaves for a provider that takes every node in float16.
  l.g.providers = {"cpu", "cuda"};
  for (ir::Value& v : l.g.values)
    if (v.dtype == DType::kFloat32) {
      v.dtype = DType::kFloat16;
      if (v.constant) v.constant = Tensor(DType::kFloat16, v.constant->shape());
    }
  for (ir::Node& n : l.g.nodes) n.provider = 1;
  l.g.recompute_producers();
  for (auto pass : {fuse_attention, attention_layout, fuse_epilogues})
    if (pass(l.g, 1)) passes::eliminate_dead_code(l.g);
  for (ProfileBox& b : l.profiles)  // symbols inference made get their full range, as the build does
    for (auto s = static_cast<int>(b.min.size()); s < l.g.symbols.size(); ++s) {
      b.min.push_back(l.g.symbols[s].min);
      b.opt.push_back(l.g.symbols[s].opt);
      b.max.push_back(l.g.symbols[s].max);
    }
  return l;
}

class CudaLowering : public ::testing::TestWithParam<const char*> {};

TEST_P(CudaLowering, BertInFloat16GivesAValidPlanWithFusedEpilogues) {
  ASSERT_TRUE(flash_attention_enabled()) << "DYNRT_CUDA_FLASH_ATTENTION=0 is set";
  Lowered l = lower(GetParam());
  int attention = 0, residual = 0, gelu = 0;
  for (const ir::Node& n : l.g.nodes) {
    if (n.op == "Attention") {
      ++attention;
      ASSERT_TRUE(n.attrs.count("dynrt.layout")) << l.g.node_label(n);
      EXPECT_EQ(n.attrs.at("dynrt.layout").s, "ssss") << l.g.node_label(n);
    }
    if (n.op == "MatMul" && n.inputs.size() == 4) ++residual;
    if (n.op == "MatMul" && n.attrs.count("dynrt.activation") && n.attrs.at("dynrt.activation").s == "Gelu") ++gelu;
  }
  // bert_tiny builds its mask with Where, which attention fusion does not match yet.
  EXPECT_EQ(attention, 0);
  EXPECT_EQ(residual, 4);  // attention output and FFN output projections
  EXPECT_EQ(gelu, 2);
  EXPECT_NO_THROW(validate_engine_graph(l.g, l.profiles, [](const std::string& why) {
    throw Error(ErrorCode::kInvalidEngine, why);
  }));
}

INSTANTIATE_TEST_SUITE_P(BothExporters, CudaLowering,
                         ::testing::Values("bert_tiny.torchscript.onnx", "bert_tiny.dynamo.onnx"));

// A shape tensor whose elements are expressions (what shape arithmetic leaves).
int shape_value(ir::Graph& g, const std::string& name, std::vector<Expr> dims) {
  int v = g.add_value(name);
  ir::Value& val = g.values[static_cast<size_t>(v)];
  val.dtype = DType::kInt64;
  val.rank_known = true;
  val.shape = {Expr::constant(static_cast<int64_t>(dims.size()))};
  val.sym_value = std::move(dims);
  return v;
}

TEST(CudaLowering, AttentionReadsAndWritesTheProjectionsLayout) {
  ir::Graph g;
  g.opset = 17;
  auto sym = [&](const char* name, int64_t lo, int64_t opt, int64_t hi) {
    ir::Symbol s;
    s.name = name;
    s.min = lo, s.opt = opt, s.max = hi;
    return Expr::symbol(g.symbols.add(s));
  };
  Expr b = sym("B", 1, 2, 4), sq = sym("S", 1, 16, 64), two = Expr::constant(2), d = Expr::constant(32);
  auto input = [&](const char* name, std::vector<Expr> shape) {
    int v = g.add_value(name);
    g.values[static_cast<size_t>(v)].dtype = DType::kFloat16;
    g.values[static_cast<size_t>(v)].rank_known = true;
    g.values[static_cast<size_t>(v)].shape = std::move(shape);
    g.inputs.push_back(v);
    return v;
  };
  auto node = [&](const char* op, std::vector<int> in, const std::string& out, std::vector<int64_t> perm = {}) {
    ir::Node n;
    n.op = op;
    n.name = out;
    n.provider = 1;
    n.inputs = std::move(in);
    n.outputs = {g.add_value(out)};
    if (!perm.empty()) {
      ir::Attribute a;
      a.type = ir::Attribute::Type::kInts;
      a.ints = std::move(perm);
      n.attrs["perm"] = a;
    }
    g.nodes.push_back(std::move(n));
    return g.nodes.back().outputs[0];
  };
  int heads_shape = shape_value(g, "bshd", {b, sq, two, d});
  int q = node("Transpose", {node("Reshape", {input("q", {b, sq, Expr::constant(64)}), heads_shape}, "q4")}, "qt", {0, 2, 1, 3});
  int kt = node("Transpose", {node("Reshape", {input("k", {b, sq, Expr::constant(64)}), heads_shape}, "k4")}, "kt", {0, 2, 3, 1});
  int v = node("Transpose", {node("Reshape", {input("v", {b, sq, Expr::constant(64)}), heads_shape}, "v4")}, "vt", {0, 2, 1, 3});
  int mask = input("mask", {b, Expr::constant(1), Expr::constant(1), sq});
  Tensor scale(DType::kFloat16, {});
  reinterpret_cast<uint16_t*>(scale.data())[0] = 0x45a8;  // 5.656 (sqrt(32)) in float16
  int c = g.add_value("sqrt_d");
  g.values[static_cast<size_t>(c)].dtype = DType::kFloat16;
  g.values[static_cast<size_t>(c)].rank_known = true;
  g.values[static_cast<size_t>(c)].constant = scale;
  int s = node("Add", {node("Div", {node("MatMul", {q, kt}, "raw"), c}, "scaled"), mask}, "masked");
  int p = node("Softmax", {s}, "p");
  g.nodes.back().attrs["axis"].i = -1;
  int ctx = node("MatMul", {p, v}, "ctx");
  int same = node("Reshape", {ctx, shape_value(g, "bhsd", {b, two, sq, d})}, "ctx_view");  // the TorchScript view
  int y = node("Reshape", {node("Transpose", {same}, "ctx_t", {0, 2, 1, 3}), shape_value(g, "bs64", {b, sq, Expr::constant(64)})}, "y");
  g.outputs.push_back(y);
  g.providers = {"cpu", "cuda"};
  g.recompute_producers();
  infer_shapes(g);
  for (auto pass : {fuse_attention, attention_layout})
    if (pass(g, 1)) passes::eliminate_dead_code(g);
  int attention = 0, transposes = 0;
  for (const ir::Node& n : g.nodes) {
    transposes += n.op == "Transpose";
    if (n.op != "Attention") continue;
    ++attention;
    ASSERT_TRUE(n.attrs.count("dynrt.layout"));
    EXPECT_EQ(n.attrs.at("dynrt.layout").s, "ssss");
  }
  EXPECT_EQ(attention, 1);
  EXPECT_EQ(transposes, 0);
}

}  // namespace
}  // namespace dynrt::cuda
