// Engine validation (runtime/engine_validate.h) on plans a device provider
// rewrote: a float16 LayerNormalization placed on a device is a valid plan
// (the device's kernel checks its types when the engine loads), the same node
// on the CPU provider is a corrupt one (the CPU kernels take float32 only).
#include <gtest/gtest.h>

#include "graph_builder.h"
#include "runtime/engine_validate.h"

namespace dynrt::testing {
namespace {

ir::Graph layer_norm_in_fp16(int provider) {
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 2, 4)), c = Expr::constant(8);
  int x = b.input("x", DType::kFloat32, {n, c});
  int y = b.node("LayerNormalization", {x, b.constant("scale", floats({8})), b.constant("bias", floats({8}))}, "y");
  b.output(y);
  ir::Graph& g = b.infer();
  // What the precision pass leaves: every float value in float16.
  for (ir::Value& v : g.values)
    if (v.dtype == DType::kFloat32) {
      v.dtype = DType::kFloat16;
      if (v.constant) v.constant = Tensor(DType::kFloat16, v.constant->shape());
    }
  g.providers = {"cpu", "testdev"};
  g.nodes[0].provider = provider;
  return g;
}

std::vector<ProfileBox> one_profile() { return {ProfileBox{{1}, {2}, {4}}}; }

void validate(const ir::Graph& g) {
  validate_engine_graph(g, one_profile(), [](const std::string& why) { throw Error(ErrorCode::kInvalidEngine, why); });
}

TEST(EngineValidate, DeviceNodeInAPrecisionTheCpuSchemaLacksIsValid) {
  EXPECT_NO_THROW(validate(layer_norm_in_fp16(1)));
}

TEST(EngineValidate, CpuNodeInAnUnsupportedPrecisionIsCorrupt) {
  try {
    validate(layer_norm_in_fp16(0));
    FAIL() << "a float16 LayerNormalization on the CPU provider passed validation";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidEngine);
    EXPECT_NE(std::string(e.what()).find("LayerNormalization"), std::string::npos) << e.what();
  }
}

TEST(EngineValidate, DeviceNodeWithAWrongStoredShapeIsStillCorrupt) {
  ir::Graph g = layer_norm_in_fp16(1);
  // float32 again, so inference succeeds and the shapes are compared
  for (ir::Value& v : g.values)
    if (v.dtype == DType::kFloat16) {
      v.dtype = DType::kFloat32;
      if (v.constant) v.constant = Tensor(DType::kFloat32, v.constant->shape());
    }
  g.values[static_cast<size_t>(g.outputs[0])].shape[1] = Expr::constant(9);
  EXPECT_THROW(validate(g), Error);
}

// x [N, 16] @ W [16, 8] + bias [8] + residual [N, 8], fused and marked for bf16 as the passes leave it.
ir::Graph fused_matmul() {
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 2, 4));
  int x = b.input("x", DType::kFloat32, {n, Expr::constant(16)});
  int r = b.input("r", DType::kFloat32, {n, Expr::constant(8)});
  int y = b.node("MatMul", {x, b.constant("W", floats({16, 8}))}, "y");
  b.output(y);
  ir::Graph& g = b.infer();
  ir::Node& mm = g.nodes[0];
  mm.inputs.push_back(b.constant("bias", floats({8})));
  mm.inputs.push_back(r);
  for (const char* name : {"dynrt.fused", "dynrt.compute"}) {
    ir::Attribute a;
    a.type = ir::Attribute::Type::kString;
    a.s = name[6] == 'f' ? "MatMul+Add+Add" : "bf16";
    mm.attrs[name] = a;
  }
  return g;
}

TEST(EngineValidate, FusedMatMulInItsStoredFormIsValid) { EXPECT_NO_THROW(validate(fused_matmul())); }

TEST(EngineValidate, FusedMatMulWithAWrongOutputShapeIsCorrupt) {
  // Lowered nodes were once skipped: a smaller stored output let the kernel write past it.
  ir::Graph g = fused_matmul();
  g.values[static_cast<size_t>(g.outputs[0])].shape[1] = Expr::constant(4);
  EXPECT_THROW(validate(g), Error);
}

TEST(EngineValidate, FusedBiasOrResidualThatDoesNotMatchIsCorrupt) {
  ir::Graph g = fused_matmul();
  ir::Value& bias = g.values[static_cast<size_t>(g.nodes[0].inputs[2])];
  bias.shape = {Expr::constant(4)};
  EXPECT_THROW(validate(g), Error);
  g = fused_matmul();
  g.values[static_cast<size_t>(g.nodes[0].inputs[3])].shape[1] = Expr::constant(16);
  EXPECT_THROW(validate(g), Error);
}

// x -> Conv -> a -> Conv -> y on the CPU provider, both computing in bf16 as
// --precision bf16 leaves them; a is stored in bf16 (store_cpu_bf16_activations).
ir::Graph bf16_conv_chain() {
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 2, 4)), c = Expr::constant(4), hw = Expr::constant(5);
  int x = b.input("x", DType::kFloat32, {n, c, hw, hw});
  int a = b.node("Conv", {x, b.constant("W0", floats({4, 4, 1, 1}))}, "a");
  int y = b.node("Conv", {a, b.constant("W1", floats({4, 4, 1, 1}))}, "y");
  b.output(y);
  ir::Graph& g = b.infer();
  g.providers = {"cpu"};
  for (ir::Node& node : g.nodes) {
    ir::Attribute bf16;
    bf16.type = ir::Attribute::Type::kString;
    bf16.s = "bf16";
    node.attrs["dynrt.compute"] = bf16;
  }
  g.values[static_cast<size_t>(a)].dtype = DType::kBFloat16;
  return g;
}

TEST(EngineValidate, Bf16ActivationsBetweenBf16ConvsAreValid) { EXPECT_NO_THROW(validate(bf16_conv_chain())); }

TEST(EngineValidate, Bf16ActivationReadByAFloat32NodeIsCorrupt) {
  ir::Graph g = bf16_conv_chain();
  g.nodes[1].attrs.erase("dynrt.compute");  // the reader no longer computes in bf16
  EXPECT_THROW(validate(g), Error);
  g = bf16_conv_chain();
  g.values[static_cast<size_t>(g.outputs[0])].dtype = DType::kInt32;  // only bf16 may replace float32
  EXPECT_THROW(validate(g), Error);
}

TEST(EngineValidate, AnUnknownLoweringAttributeIsCorruptNotUnchecked) {
  // A mutated attribute name ("dynrt.activati\x0c") once made validation skip the node, and the
  // Conv kernel then read a weight shape nothing had checked (found by fuzz_engine under ASan).
  ir::Graph g = bf16_conv_chain();
  ir::Attribute a;
  a.type = ir::Attribute::Type::kString;
  a.s = "Relu";
  g.nodes[0].attrs["dynrt.activati\x0c"] = a;
  try {
    validate(g);
    FAIL() << "a node with an unknown dynrt.* attribute passed validation";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown lowering attribute"), std::string::npos) << e.what();
  }
  g = bf16_conv_chain();
  g.nodes[0].attrs["dynrt.perm_a"] = a;  // a MatMul's attribute on a Conv
  EXPECT_THROW(validate(g), Error);
}

TEST(EngineValidate, TunedChoicesMustBeABoundedIntegerList) {
  // "dynrt.tuned" holds a kernel's tuned choices (builder/tune.cpp); the kernel checks them before
  // use, validation only their type and count.
  ir::Graph g = bf16_conv_chain();
  ir::Attribute a;
  a.type = ir::Attribute::Type::kInts;
  a.ints = {1, 2, 3};
  g.nodes[0].attrs["dynrt.tuned"] = a;
  EXPECT_NO_THROW(validate(g));
  a.ints.assign(4097, 1);
  g.nodes[0].attrs["dynrt.tuned"] = a;
  EXPECT_THROW(validate(g), Error);
  a.type = ir::Attribute::Type::kString;
  a.s = "x";
  g.nodes[0].attrs["dynrt.tuned"] = a;
  try {
    validate(g);
    FAIL() << "a string 'dynrt.tuned' passed validation";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'dynrt.tuned' is not a list"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dynrt::testing
