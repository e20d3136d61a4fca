// Partitioning at the IR level: which provider runs each node, where the
// boundary copies go, what is never copied.
#include <gtest/gtest.h>

#include "builder/partition.h"
#include "builder/schedule.h"
#include "graph_builder.h"
#include "probe_provider.h"
#include "runtime/engine_impl.h"

namespace dynrt::testing {
namespace {

std::vector<std::string> node_summary(const ir::Graph& g) {
  std::vector<std::string> out;
  for (const ir::Node& n : g.nodes) {
    if (n.op == "MemCopy") {
      const ir::Value& from = g.values[static_cast<size_t>(n.inputs[0])];
      const ir::Value& to = g.values[static_cast<size_t>(n.outputs[0])];
      out.push_back("copy " + from.name + " " + g.providers[static_cast<size_t>(from.provider)] + "->" +
                    g.providers[static_cast<size_t>(to.provider)]);
    } else {
      out.push_back(n.op + "@" + g.providers[static_cast<size_t>(n.provider)]);
    }
  }
  return out;
}

// x[N,8] -> MatMul(W) -> Sigmoid -> Relu -> out
GraphBuilder mlp() {
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 4, 8));
  int x = b.input("x", DType::kFloat32, {n, Expr::constant(8)});
  int w = b.constant("W", floats({8, 16}));
  int mm = b.node("MatMul", {x, w}, "mm");
  int s = b.node("Sigmoid", {mm}, "sig");
  b.output(b.node("Relu", {s}, "out"));
  return b;
}

TEST(Partition, FirstSupportingProviderRunsEachNodeWithCopiesAtTheBoundaries) {
  register_testdev();
  GraphBuilder b = mlp();
  ir::Graph& g = b.infer();
  partition(g, {"testdev", "cpu"});
  EXPECT_EQ(g.providers, (std::vector<std::string>{"cpu", "testdev"}));
  EXPECT_EQ(node_summary(g), (std::vector<std::string>{"copy x cpu->testdev", "MatMul@testdev", "copy mm testdev->cpu",
                                                       "Sigmoid@cpu", "copy sig cpu->testdev", "Relu@testdev",
                                                       "copy out@testdev testdev->cpu"}));
  // The output keeps its name and lives on the host; weights are not copied (uploaded at load).
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.values[static_cast<size_t>(g.outputs[0])].name, "out");
  EXPECT_EQ(g.values[static_cast<size_t>(g.outputs[0])].provider, 0);
  EXPECT_EQ(g.values[static_cast<size_t>(g.find_value("W"))].provider, 0);
  EXPECT_EQ(g.values[static_cast<size_t>(g.find_value("mm"))].provider, 1);
  EXPECT_EQ(g.nodes[1].inputs[1], g.find_value("W"));
}

TEST(Partition, PreferenceOrderWins) {
  register_testdev();
  GraphBuilder b = mlp();
  ir::Graph& g = b.infer();
  partition(g, {"cpu", "testdev"});
  EXPECT_EQ(node_summary(g), (std::vector<std::string>{"MatMul@cpu", "Sigmoid@cpu", "Relu@cpu"}));
}

TEST(Partition, OneCopyPerValueAndDestination) {
  register_testdev();
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 4, 8));
  int x = b.input("x", DType::kFloat32, {n, Expr::constant(8)});
  int r = b.node("Relu", {x}, "r");
  b.output(b.node("Sigmoid", {r}, "s1"));
  b.output(b.node("Tanh", {r}, "s2"));
  ir::Graph& g = b.infer();
  partition(g, {"testdev", "cpu"});
  EXPECT_EQ(node_summary(g), (std::vector<std::string>{"copy x cpu->testdev", "Relu@testdev", "copy r testdev->cpu",
                                                       "Sigmoid@cpu", "Tanh@cpu"}));
}

TEST(Partition, ShapeReadsDimsWithoutACopy) {
  register_testdev();
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 4, 8));
  int x = b.input("x", DType::kFloat32, {n, Expr::constant(8)});
  int r = b.node("Relu", {x}, "r");
  b.output(b.node("Shape", {r}, "shape"));
  b.output(r);
  ir::Graph& g = b.infer();
  partition(g, {"testdev", "cpu"});
  EXPECT_EQ(node_summary(g), (std::vector<std::string>{"copy x cpu->testdev", "Relu@testdev", "Shape@cpu",
                                                       "copy r@testdev testdev->cpu"}));
}

TEST(Partition, HostInputsOfADeviceNodeStayOnTheHost) {
  register_probe();
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 4, 8));
  int x = b.input("x", DType::kFloat32, {n, Expr::constant(8)});
  int target = b.input("target", DType::kInt64, {Expr::constant(2)});
  int r = b.node("Relu", {x}, "r");
  b.output(b.node("Reshape", {r, target}, "y"));
  ir::Graph& g = b.infer();
  partition(g, {"probe", "cpu"});
  // Reshape's shape input is read on the host: no copy of `target`.
  EXPECT_EQ(node_summary(g), (std::vector<std::string>{"copy x cpu->probe", "Relu@probe", "Reshape@probe",
                                                       "copy y@probe probe->cpu"}));
}

TEST(Partition, BetweenTwoDevicesGoesThroughTheHost) {
  register_testdev();
  register_probe();
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 4, 8));
  int x = b.input("x", DType::kFloat32, {n, Expr::constant(8)});
  int r = b.node("Relu", {x}, "r");
  b.output(b.node("MatMul", {r, b.constant("W", floats({8, 4}))}, "y"));
  ir::Graph& g = b.infer();
  partition(g, {"probe", "testdev", "cpu"});
  EXPECT_EQ(node_summary(g), (std::vector<std::string>{"copy x cpu->probe", "Relu@probe", "copy r probe->cpu",
                                                       "copy r@cpu cpu->testdev", "MatMul@testdev",
                                                       "copy y@testdev testdev->cpu"}));
}

TEST(Partition, NodeNoProviderSupportsIsAnErrorNamingIt) {
  register_testdev();
  GraphBuilder b = mlp();
  ir::Graph& g = b.infer();
  try {
    partition(g, {"testdev"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_STREQ(e.what(), "Sigmoid node 'sig' (opset 17): no execution provider in [testdev] supports it");
  }
}

TEST(Partition, UnknownProviderIsAConfigError) {
  GraphBuilder b = mlp();
  ir::Graph& g = b.infer();
  try {
    partition(g, {"nosuch", "cpu"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
    EXPECT_NE(std::string(e.what()).find("execution provider 'nosuch' is not available on this machine"),
              std::string::npos);
  }
}

// Engine files are untrusted: a partition that breaks the invariants above
// (a node reading another memory's pointer) is rejected when it is loaded.
TEST(Partition, EngineRejectsAnInconsistentPartition) {
  register_testdev();
  auto expect_invalid = [](ir::Graph g, const char* what) {
    EngineImpl e;
    e.graph = std::move(g);
    try {
      e.finalize();
      ADD_FAILURE() << "accepted: " << what;
    } catch (const Error& err) {
      EXPECT_EQ(err.code(), ErrorCode::kInvalidEngine) << err.what();
      EXPECT_NE(std::string(err.what()).find("inconsistent partition"), std::string::npos) << err.what();
    }
  };
  GraphBuilder b = mlp();
  ir::Graph& g = b.infer();
  partition(g, {"testdev", "cpu"});
  {
    EngineImpl ok;
    ok.graph = g;
    EXPECT_NO_THROW(ok.finalize());
  }
  ir::Graph input_on_device = g;
  input_on_device.values[static_cast<size_t>(g.find_value("x"))].provider = 1;
  expect_invalid(input_on_device, "graph input in device memory");
  ir::Graph skipped_copy = g;
  skipped_copy.nodes[1].inputs[0] = g.find_value("x");  // MatMul on testdev reading the host input directly
  expect_invalid(skipped_copy, "device node reading host memory");
  ir::Graph output_on_device = g;
  output_on_device.values[static_cast<size_t>(g.outputs[0])].provider = 1;
  expect_invalid(output_on_device, "graph output in device memory");
}

}  // namespace
}  // namespace dynrt::testing

namespace dynrt::testing {
namespace {

TEST(Schedule, HostWorkMovesAheadSoDeviceKernelsRunUninterrupted) {
  register_testdev();
  // Written order: MatMul (testdev), Sigmoid of the input (cpu), Add, Relu (testdev).
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 4, 8));
  int x = b.input("x", DType::kFloat32, {n, Expr::constant(8)});
  int mm = b.node("MatMul", {x, b.constant("W", floats({8, 8}))}, "mm");
  b.output(b.node("Sigmoid", {x}, "sig"));
  b.output(b.node("Relu", {b.node("Add", {mm, b.constant("b", floats({8}))}, "add")}, "out"));
  ir::Graph& g = b.infer();
  partition(g, {"testdev", "cpu"});
  EXPECT_EQ(node_summary(g), (std::vector<std::string>{"copy x cpu->testdev", "MatMul@testdev", "Sigmoid@cpu",
                                                       "Add@testdev", "Relu@testdev", "copy out@testdev testdev->cpu"}));
  schedule_host_first(g);
  EXPECT_EQ(node_summary(g), (std::vector<std::string>{"copy x cpu->testdev", "Sigmoid@cpu", "MatMul@testdev",
                                                       "Add@testdev", "Relu@testdev", "copy out@testdev testdev->cpu"}));
  // A graph with host nodes only keeps its order.
  GraphBuilder c = mlp();
  ir::Graph& h = c.infer();
  partition(h, {"cpu"});
  std::vector<std::string> before = node_summary(h);
  schedule_host_first(h);
  EXPECT_EQ(node_summary(h), before);
}

}  // namespace
}  // namespace dynrt::testing
