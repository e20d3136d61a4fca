// The runtime's public API: the caller's output buffers, output shapes
// before running, the bounded plan cache, threads per context, and engines
// partitioned over a device provider (copies counted, device memory freed).
#include <gtest/gtest.h>
#include <oneapi/tbb/task_arena.h>

#include <cstdlib>
#include <cstring>
#include <random>

#include "builder/build.h"
#include "dynrt/dynrt.h"
#include "graph_builder.h"
#include "probe_provider.h"
#include "runtime/engine_impl.h"

namespace dynrt::testing {
namespace {

const std::string kModel = std::string(DYNRT_SOURCE_DIR) + "/tests/models/pool_flatten.torchscript.onnx";

Tensor images(int64_t n, unsigned seed) {
  Tensor t(DType::kFloat32, {n, 3, 16, 16});
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = dist(rng);
  return t;
}

BuildConfig batch(int64_t lo, int64_t opt, int64_t hi) {
  BuildConfig cfg;
  Profile p;
  p.dims["batch"] = {lo, opt, hi};
  cfg.profiles.push_back(p);
  return cfg;
}

TEST(RuntimeApi, OutputsGoStraightIntoTheCallersBuffers) {
  auto engine = build(kModel, batch(1, 4, 8));
  auto ctx = engine->create_context();
  std::map<std::string, Tensor> in = {{"x", images(3, 1)}};
  Tensor want = ctx->run(in).at("output");
  std::vector<float> storage(3 * 4, -1.f);
  std::map<std::string, Tensor> out = {{"output", Tensor::wrap(DType::kFloat32, {3, 4}, storage.data())}};
  ctx->run(in, out);
  EXPECT_EQ(out.at("output").data(), storage.data());  // written in place, not replaced
  EXPECT_EQ(std::memcmp(storage.data(), want.data(), want.nbytes()), 0);
}

TEST(RuntimeApi, WrongOutputBufferIsAnErrorNamingIt) {
  auto engine = build(kModel, batch(1, 4, 8));
  auto ctx = engine->create_context();
  std::map<std::string, Tensor> out = {{"output", Tensor(DType::kFloat32, {2, 4})}};
  try {
    ctx->run({{"x", images(3, 1)}}, out);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidInput);
    EXPECT_STREQ(e.what(), "output 'output' buffer is float32 2x4, but these inputs give float32 3x4");
  }
  std::map<std::string, Tensor> unknown = {{"nope", Tensor(DType::kFloat32, {2, 4})}};
  EXPECT_THROW(ctx->run({{"x", images(3, 1)}}, unknown), Error);
}

TEST(RuntimeApi, OutputShapesBeforeRunningReuseThePlan) {
  auto engine = build(kModel, batch(1, 4, 8));
  auto ctx = engine->create_context({.adapt_threads = false});  // one plan per shape (and thread count)
  auto shapes = ctx->output_shapes({{"x", {5, 3, 16, 16}}});
  EXPECT_EQ(shapes.at("output"), (std::vector<int64_t>{5, 4}));
  EXPECT_EQ(ctx->plans_created(), 1);
  ctx->run({{"x", images(5, 2)}});
  EXPECT_EQ(ctx->plans_created(), 1);
  EXPECT_THROW(ctx->output_shapes({{"x", {9, 3, 16, 16}}}), Error);  // outside the profile
}

TEST(RuntimeApi, DataDependentOutputDimsAreUnknownBeforeRunning) {
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 4, 8));
  int x = b.input("x", DType::kFloat32, {n, Expr::constant(3)});
  b.output(b.node("NonZero", {x}, "idx"));
  BuildConfig cfg;
  cfg.profiles.push_back(Profile{{}, {{"N", {1, 4, 8}}}});
  auto engine = EngineAccess::wrap(build_engine(std::move(b.g), cfg));
  auto ctx = engine->create_context();
  EXPECT_EQ(ctx->output_shapes({{"x", {2, 3}}}).at("idx"), (std::vector<int64_t>{2, -1}));
  Tensor t(DType::kFloat32, {2, 3});
  t.data_as<float>()[1] = 1.f;
  t.data_as<float>()[5] = 2.f;
  Tensor idx = ctx->run({{"x", t}}).at("idx");
  EXPECT_EQ(idx.shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(idx.to_int64_vector(), (std::vector<int64_t>{0, 1, 1, 2}));
}

// Sequences at the boundary: a sequence output from run_values, its length a
// tensor; the tensor API names the value it cannot carry.
TEST(RuntimeApi, SequenceValuesGoThroughRunValues) {
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 4, 8));
  int x = b.input("x", DType::kFloat32, {n, Expr::constant(3)});
  int seq = b.node("SplitToSequence", {x}, "rows");
  b.g.nodes.back().attrs["keepdims"] = ir::Attribute::of_int(0);
  b.output(seq);
  b.output(b.node("SequenceLength", {seq}, "count"));
  BuildConfig cfg;
  cfg.profiles.push_back(Profile{{}, {{"N", {1, 4, 8}}}});
  auto engine = EngineAccess::wrap(build_engine(std::move(b.g), cfg));
  EXPECT_EQ(engine->outputs()[0].kind, ValueKind::kSequence);
  EXPECT_EQ(engine->outputs()[0].dims, (std::vector<std::string>{"?"}));  // rank-1 rows of any length
  auto ctx = engine->create_context();
  Tensor t = floats({3, 3});
  std::map<std::string, Value> out = ctx->run_values({{"x", Value(t)}});
  const std::vector<Tensor>& rows = out.at("rows").sequence();
  ASSERT_EQ(rows.size(), 3u);
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_EQ(rows[r].shape(), (std::vector<int64_t>{3}));
    EXPECT_EQ(std::memcmp(rows[r].data(), t.data_as<float>() + 3 * r, 3 * sizeof(float)), 0);
  }
  EXPECT_EQ(out.at("count").tensor().to_int64_vector(), (std::vector<int64_t>{3}));
  try {
    ctx->run({{"x", t}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidInput);
    EXPECT_STREQ(e.what(), "output 'rows' is a sequence; run this engine with ExecutionContext::run_values");
  }
  EXPECT_THROW(ctx->run_values({{"x", Value::sequence(DType::kFloat32, {t})}}), Error);  // a sequence for a tensor
  EXPECT_THROW(Value::sequence(DType::kInt64, {t}), Error);                                // element type mismatch
  EXPECT_THROW(Value().tensor(), Error);                                                   // nothing held
}

// Tensors of strings: symbolic dims bound and checked like any input's.
TEST(RuntimeApi, StringTensorsHaveShapes) {
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 2, 4));
  int x = b.input("x", DType::kString, {n});
  int y = b.input("y", DType::kString, {Expr::constant(1)});
  b.output(b.node("StringConcat", {x, y}, "xy"));
  BuildConfig cfg;
  cfg.profiles.push_back(Profile{{}, {{"N", {1, 2, 4}}}});
  auto engine = EngineAccess::wrap(build_engine(std::move(b.g), cfg));
  EXPECT_EQ(engine->outputs()[0].dtype, DType::kString);
  EXPECT_EQ(engine->outputs()[0].dims, (std::vector<std::string>{"N"}));
  auto ctx = engine->create_context();
  auto out = ctx->run_values({{"x", Value::strings({3}, {"a", "", "c"})}, {"y", Value::strings({1}, {"!"})}});
  EXPECT_EQ(out.at("xy").shape(), (std::vector<int64_t>{3}));
  EXPECT_EQ(out.at("xy").strings(), (std::vector<std::string>{"a!", "!", "c!"}));
  try {
    ctx->run_values({{"x", Value::strings({5}, {"1", "2", "3", "4", "5"})}, {"y", Value::strings({1}, {"!"})}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kShapeOutOfRange);
  }
  EXPECT_THROW(Value::strings({2, 2}, {"only three", "b", "c"}), Error);  // 4 elements named, 3 given
}

TEST(RuntimeApi, PlanCacheKeepsTheMostRecentShapes) {
  auto engine = build(kModel, batch(1, 4, 8));
  auto ctx = engine->create_context({.threads = 0, .max_cached_plans = 2, .adapt_threads = false});
  for (int64_t n : {1, 2, 3}) ctx->run({{"x", images(n, 1)}});
  EXPECT_EQ(ctx->plans_created(), 3);
  EXPECT_EQ(ctx->plans_cached(), 2);
  ctx->run({{"x", images(3, 1)}});  // cached
  EXPECT_EQ(ctx->plans_created(), 3);
  ctx->run({{"x", images(1, 1)}});  // dropped: planned again
  EXPECT_EQ(ctx->plans_created(), 4);
  EXPECT_EQ(ctx->plans_cached(), 2);
  EXPECT_THROW(engine->create_context({.threads = 0, .max_cached_plans = 0}), Error);
}

TEST(RuntimeApi, EachContextRunsWithItsOwnThreadCount) {
  register_probe();
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 4, 8));
  b.output(b.node("Relu", {b.input("x", DType::kFloat32, {n})}, "y"));
  BuildConfig cfg;
  cfg.profiles.push_back(Profile{{}, {{"N", {1, 4, 8}}}});
  cfg.providers = {"probe", "cpu"};
  auto engine = EngineAccess::wrap(build_engine(std::move(b.g), cfg));
  int before = tbb::this_task_arena::max_concurrency();
  for (int threads : {1, 3}) {
    auto ctx = engine->create_context({.threads = threads});
    EXPECT_EQ(ctx->threads(), threads);
    Tensor x(DType::kFloat32, {4});
    x.data_as<float>()[2] = 5.f;
    x.data_as<float>()[3] = -5.f;
    Tensor y = ctx->run({{"x", x}}).at("y");
    EXPECT_EQ(g_probe_threads.load(), threads);
    EXPECT_EQ(y.data_as<float>()[2], 5.f);
    EXPECT_EQ(y.data_as<float>()[3], 0.f);
  }
  EXPECT_EQ(tbb::this_task_arena::max_concurrency(), before);  // the caller's setting is restored
}

TEST(RuntimeApi, DefaultThreadsHonourOmpNumThreads) {
  auto engine = build(kModel, batch(1, 4, 8));
  const char* old = std::getenv("OMP_NUM_THREADS");
  std::string saved = old ? old : "";
  setenv("OMP_NUM_THREADS", "2", 1);
  EXPECT_EQ(engine->create_context()->threads(), 2);
  if (old) setenv("OMP_NUM_THREADS", saved.c_str(), 1);
  else unsetenv("OMP_NUM_THREADS");
  EXPECT_GE(engine->create_context()->threads(), 1);
  EXPECT_THROW(engine->create_context({.threads = -1}), Error);
}

TEST(RuntimeApi, DeviceEnginesCopyAtBoundariesAndFreeTheirMemory) {
  register_testdev();
  int64_t live_before = testdev::counters().live_allocations;
  // x[N,8] -> MatMul(W) -> Sigmoid -> Relu, on the given providers.
  auto make = [](std::vector<std::string> providers) {
    GraphBuilder b;
    Expr n = Expr::symbol(b.symbol("N", 1, 4, 8));
    int x = b.input("x", DType::kFloat32, {n, Expr::constant(8)});
    int mm = b.node("MatMul", {x, b.constant("W", floats({8, 4}))}, "mm");
    b.output(b.node("Relu", {b.node("Sigmoid", {mm}, "s")}, "y"));
    BuildConfig cfg;
    cfg.profiles.push_back(Profile{{}, {{"N", {1, 4, 8}}}});
    cfg.providers = std::move(providers);
    return EngineAccess::wrap(build_engine(std::move(b.g), cfg));
  };
  {
    auto engine = make({"testdev", "cpu"});
    std::string path = ::testing::TempDir() + "/testdev.engine";
    engine->save(path);
    auto loaded = Engine::load(path);
    std::remove(path.c_str());
    Tensor in = floats({3, 8}, 0.5f);
    auto ctx = engine->create_context();
    testdev::Counters c0 = testdev::counters();
    Tensor y = ctx->run({{"x", in}}).at("y");
    testdev::Counters c1 = testdev::counters();
    EXPECT_EQ(c1.copies_from_host - c0.copies_from_host, 2);  // x up, sigmoid's output up
    EXPECT_EQ(c1.copies_to_host - c0.copies_to_host, 2);      // mm down, y down
    EXPECT_GE(c1.stream_syncs - c0.stream_syncs, 2);          // before each host read of a copy
    EXPECT_EQ(ctx->last_run_stats().copies, 4);
    EXPECT_EQ(ctx->last_run_stats().copy_bytes, 4 * (3 * 8 + 3 * 4 + 3 * 4 + 3 * 4));
    // Same answer from the CPU alone and from the reloaded engine.
    auto cpu = make({"cpu"});
    Tensor want = cpu->create_context()->run({{"x", in}}).at("y");
    Tensor again = loaded->create_context()->run({{"x", in}}).at("y");
    for (int64_t i = 0; i < want.numel(); ++i) {
      EXPECT_NEAR(y.data_as<float>()[i], want.data_as<float>()[i], 1e-6f);
      EXPECT_EQ(again.data_as<float>()[i], y.data_as<float>()[i]);
    }
    EXPECT_EQ(loaded->providers(), (std::vector<std::string>{"cpu", "testdev"}));
  }
  EXPECT_EQ(testdev::counters().live_allocations, live_before);  // arenas and uploaded weights freed
}

TEST(RuntimeApi, DeviceWorkIsRecordedPerShapeAndReplayed) {
  register_testdev();
  // x[N,8] -> MatMul(W) -> Add(b) -> Relu, all on testdev: one recordable segment.
  auto make = [](std::vector<std::string> providers) {
    GraphBuilder b;
    Expr n = Expr::symbol(b.symbol("N", 1, 4, 64));
    int x = b.input("x", DType::kFloat32, {n, Expr::constant(8)});
    int mm = b.node("MatMul", {x, b.constant("W", floats({8, 4}, 0.25f))}, "mm");
    b.output(b.node("Relu", {b.node("Add", {mm, b.constant("b", floats({4}, -1.f))}, "add")}, "y"));
    BuildConfig cfg;
    cfg.profiles.push_back(Profile{{}, {{"N", {1, 4, 64}}}});
    cfg.providers = std::move(providers);
    return EngineAccess::wrap(build_engine(std::move(b.g), cfg));
  };
  auto device = make({"testdev", "cpu"});
  auto cpu = make({"cpu"})->create_context();
  auto ctx = device->create_context();
  auto check = [&](int64_t rows, float value, int64_t replays) {
    Tensor in = floats({rows, 8}, value);
    Tensor got = ctx->run({{"x", in}}).at("y");
    Tensor want = cpu->run({{"x", in}}).at("y");
    EXPECT_EQ(ctx->last_run_stats().graph_replays, replays) << rows << " rows, input " << value;
    for (int64_t i = 0; i < want.numel(); ++i) ASSERT_EQ(got.data_as<float>()[i], want.data_as<float>()[i]);
  };
  check(3, 1.f, 0);   // first run of a shape: plain
  check(3, 2.f, 1);   // second: recorded, then launched
  check(3, 3.f, 1);   // replayed, reading this run's input
  check(64, 1.f, 0);  // a larger shape grows the arena...
  check(3, 4.f, 1);   // ...so the small shape records again (old pointers are gone)
  check(3, 5.f, 1);
  auto plain = device->create_context({.capture_graphs = false});
  plain->run({{"x", floats({3, 8}, 1.f)}});
  plain->run({{"x", floats({3, 8}, 1.f)}});
  EXPECT_EQ(plain->last_run_stats().graph_replays, 0);
}

TEST(RuntimeApi, InputsAndOutputsInDeviceMemorySkipTheHost) {
  register_testdev();
  // x -> MatMul -> Add -> Relu -> y (testdev); x -> Sigmoid -> z (cpu).
  auto make = [](std::vector<std::string> providers) {
    GraphBuilder b;
    Expr n = Expr::symbol(b.symbol("N", 1, 4, 8));
    int x = b.input("x", DType::kFloat32, {n, Expr::constant(8)});
    int mm = b.node("MatMul", {x, b.constant("W", floats({8, 4}, 0.25f))}, "mm");
    b.output(b.node("Relu", {b.node("Add", {mm, b.constant("b", floats({4}, -1.f))}, "add")}, "y"));
    b.output(b.node("Sigmoid", {x}, "z"));
    BuildConfig cfg;
    cfg.profiles.push_back(Profile{{}, {{"N", {1, 4, 8}}}});
    cfg.providers = std::move(providers);
    return EngineAccess::wrap(build_engine(std::move(b.g), cfg));
  };
  Tensor host_x = floats({3, 8}, 0.5f);
  auto want = make({"cpu"})->create_context()->run({{"x", host_x}});
  auto ctx = make({"testdev", "cpu"})->create_context();
  Tensor x = Tensor::on_device("testdev", DType::kFloat32, {3, 8});
  Tensor::copy(host_x, x);
  Tensor y = Tensor::on_device("testdev", DType::kFloat32, {3, 4});
  for (int run = 0; run < 3; ++run) {  // plain, recorded, replayed
    std::map<std::string, Tensor> out = {{"y", y}};
    ctx->run({{"x", x}}, out);
    EXPECT_EQ(ctx->last_run_stats().copies, 0) << "run " << run;  // x's upload and y's download are gone
    Tensor got_y(DType::kFloat32, {3, 4});
    Tensor::copy(y, got_y);
    ASSERT_EQ(out.at("z").device(), "cpu");
    for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(got_y.data_as<float>()[i], want.at("y").data_as<float>()[i]);
    for (int64_t i = 0; i < 24; ++i) EXPECT_EQ(out.at("z").data_as<float>()[i], want.at("z").data_as<float>()[i]);
  }
  // A device tensor of a provider the engine does not use is a clear error.
  auto cpu_only = make({"cpu"})->create_context();
  try {
    cpu_only->run({{"x", x}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "input 'x' is in testdev memory, but this engine runs on [cpu]");
  }
}

// x -> MatMul -> Add -> Relu -> y on testdev; with `host_reader`, z = Sigmoid(y) on the CPU too.
std::shared_ptr<Engine> device_mlp(std::vector<std::string> providers, bool host_reader) {
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 4, 8));
  int x = b.input("x", DType::kFloat32, {n, Expr::constant(8)});
  int mm = b.node("MatMul", {x, b.constant("W", floats({8, 4}, 0.25f))}, "mm");
  int y = b.node("Relu", {b.node("Add", {mm, b.constant("b", floats({4}, -1.f))}, "add")}, "y");
  b.output(y);
  if (host_reader) b.output(b.node("Sigmoid", {y}, "z"));
  BuildConfig cfg;
  cfg.profiles.push_back(Profile{{}, {{"N", {1, 4, 8}}}});
  cfg.providers = std::move(providers);
  return EngineAccess::wrap(build_engine(std::move(b.g), cfg));
}

TEST(RuntimeApi, RecordingsFollowTheCallersDeviceBuffers) {
  register_testdev();
  auto ctx = device_mlp({"testdev", "cpu"}, false)->create_context();
  auto cpu = device_mlp({"cpu"}, false)->create_context();
  for (int run = 0; run < 4; ++run) {  // a fresh device input every run: nothing may replay the old pointer
    Tensor hx = floats({3, 8}, 1.f + static_cast<float>(run));
    Tensor x = Tensor::on_device("testdev", DType::kFloat32, {3, 8});
    Tensor::copy(hx, x);
    Tensor got = ctx->run({{"x", x}}).at("y");
    Tensor want = cpu->run({{"x", hx}}).at("y");
    for (int64_t i = 0; i < want.numel(); ++i) ASSERT_EQ(got.data_as<float>()[i], want.data_as<float>()[i]) << run;
  }
  Tensor hx = floats({3, 8}, 7.f), x = Tensor::on_device("testdev", DType::kFloat32, {3, 8});
  Tensor::copy(hx, x);
  for (int run = 0; run < 3; ++run) ctx->run({{"x", x}});  // the same buffer again: recorded and replayed
  EXPECT_EQ(ctx->last_run_stats().graph_replays, 1);
}

TEST(RuntimeApi, DeviceOutputAlsoReadOnTheHost) {
  register_testdev();
  auto ctx = device_mlp({"testdev", "cpu"}, true)->create_context();
  Tensor hx = floats({3, 8}, 2.f);
  auto want = device_mlp({"cpu"}, true)->create_context()->run({{"x", hx}});
  Tensor y = Tensor::on_device("testdev", DType::kFloat32, {3, 4});
  std::map<std::string, Tensor> out = {{"y", y}};
  ctx->run({{"x", hx}}, out);
  Tensor got_y(DType::kFloat32, {3, 4});
  Tensor::copy(y, got_y);
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_EQ(got_y.data_as<float>()[i], want.at("y").data_as<float>()[i]);
    EXPECT_EQ(out.at("z").data_as<float>()[i], want.at("z").data_as<float>()[i]);
  }
}

}  // namespace
}  // namespace dynrt::testing
