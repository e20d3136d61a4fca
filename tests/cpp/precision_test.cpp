// Reduced precision at the IR level: which nodes run in float16, where the
// Casts go, and which chains stay in float32.
#include <gtest/gtest.h>

#include "builder/partition.h"
#include "graph_builder.h"

namespace dynrt::testing {
namespace {

// A device provider that takes every node in any float type (kernels are
// never made: these tests stop after partitioning).
class AnyFloatProvider : public ExecutionProvider {
 public:
  std::string name() const override { return "anyfloat"; }
  bool host_memory() const override { return false; }
  bool supports(const ir::Graph&, const ir::Node&) const override { return true; }
  void* allocate(size_t) const override { return nullptr; }
  void deallocate(void*) const override {}
  void copy_to_host(void*, const void*, size_t) const override {}
  void copy_from_host(void*, const void*, size_t) const override {}
};

void register_anyfloat() {
  static bool done = [] {
    ProviderRegistry::instance().add("anyfloat", [] { return std::make_unique<AnyFloatProvider>(); });
    return true;
  }();
  (void)done;
}

DType dtype_of(const ir::Graph& g, const std::string& value) { return g.values[static_cast<size_t>(g.find_value(value))].dtype; }

// x -> Mul(W) -> <trig or Sigmoid> -> Add(x) -> Relu -> out, and
// pos (int64) -> Cast(float) -> Mul(W) as the angle when `rotary`.
ir::Graph& build(GraphBuilder& b, const std::string& op, bool rotary = false) {
  Expr n = Expr::symbol(b.symbol("N", 1, 4, 8));
  int x = b.input("x", DType::kFloat32, {n, Expr::constant(4)});
  int angle_in = x;
  if (rotary) {
    int pos = b.input("pos", DType::kInt64, {n, Expr::constant(4)});
    angle_in = b.node("Cast", {pos}, "posf");
    b.g.nodes.back().attrs["to"].i = static_cast<int64_t>(DType::kFloat32);
  }
  int mul = b.node("Mul", {angle_in, b.constant("W", floats({4}, 100.f))}, "angle");
  int t = b.node(op, {mul}, "t");
  b.output(b.node("Relu", {b.node("Add", {t, x}, "sum")}, "out"));
  return b.infer();
}

TEST(Precision, DeviceNodesRunInFloat16BehindCasts) {
  register_anyfloat();
  GraphBuilder b;
  ir::Graph& g = build(b, "Sigmoid");
  partition(g, {"anyfloat", "cpu"}, DType::kFloat16);
  EXPECT_EQ(dtype_of(g, "angle"), DType::kFloat16);
  EXPECT_EQ(dtype_of(g, "t"), DType::kFloat16);
  EXPECT_EQ(dtype_of(g, "sum"), DType::kFloat16);
  EXPECT_EQ(dtype_of(g, "W@fp16"), DType::kFloat16);  // the constant, converted at build time
  // Inputs and outputs keep float32 and their names.
  EXPECT_EQ(g.values[static_cast<size_t>(g.inputs[0])].dtype, DType::kFloat32);
  EXPECT_EQ(g.values[static_cast<size_t>(g.outputs[0])].name, "out");
  EXPECT_EQ(g.values[static_cast<size_t>(g.outputs[0])].dtype, DType::kFloat32);
}

TEST(Precision, TrigonometryAndTheChainFeedingItStayFloat32) {
  register_anyfloat();
  for (const char* op : {"Sin", "Cos"}) {
    GraphBuilder b;
    ir::Graph& g = build(b, op);
    partition(g, {"anyfloat", "cpu"}, DType::kFloat16);
    EXPECT_EQ(dtype_of(g, "angle"), DType::kFloat32) << op;  // x * 100 in float16 loses the angle
    EXPECT_EQ(dtype_of(g, "t"), DType::kFloat32) << op;
    EXPECT_EQ(dtype_of(g, "sum"), DType::kFloat16) << op;  // after the trig, 16-bit again
    EXPECT_EQ(dtype_of(g, "t@fp16"), DType::kFloat16) << op;
  }
  // The rotary form: the kept nodes read float32 too (no 16-bit inputs), and
  // the Cast that makes the angle's input keeps casting to float32.
  GraphBuilder b;
  ir::Graph& g = build(b, "Sin", true);
  partition(g, {"anyfloat", "cpu"}, DType::kFloat16);
  for (const ir::Node& n : g.nodes) {
    if (n.name != "angle" && n.name != "t" && n.name != "posf") continue;
    for (int v : n.inputs) {
      EXPECT_NE(g.values[static_cast<size_t>(v)].dtype, DType::kFloat16) << n.name << " reads a float16 value";
    }
    if (n.name == "posf") {
      EXPECT_EQ(n.attrs.at("to").i, static_cast<int64_t>(DType::kFloat32));
    }
  }
  EXPECT_EQ(dtype_of(g, "posf"), DType::kFloat32);
}

}  // namespace
}  // namespace dynrt::testing
