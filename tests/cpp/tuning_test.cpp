// Build-time tuning (builder/tune.cpp) through the test provider, whose
// MatMul "measures" each row count it is prepared for: which shapes the
// builder tunes at, what the engine file keeps, what the timing cache file
// saves a rebuild, and which tuned choice a run at another shape takes.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "backends/timing_cache.h"
#include "backends/testdev/testdev.h"
#include "builder/build.h"
#include "dynrt/dynrt.h"
#include "graph_builder.h"
#include "runtime/engine_impl.h"

namespace dynrt {
namespace {
using namespace testing;

struct Built {
  std::shared_ptr<Engine> engine;
  std::vector<std::string> messages;
};

// x[N,8] -> MatMul(W) -> Relu on testdev, N over 1..64, opt 8.
Built build_matmul(Tuning tune, const std::string& cache = "") {
  register_testdev();
  GraphBuilder b;
  Expr n = Expr::symbol(b.symbol("N", 1, 8, 64));
  int x = b.input("x", DType::kFloat32, {n, Expr::constant(8)});
  int mm = b.node("MatMul", {x, b.constant("W", floats({8, 4}))}, "mm");
  b.output(b.node("Relu", {mm}, "y"));
  BuildConfig cfg;
  cfg.profiles.push_back(Profile{{}, {{"N", {1, 8, 64}}}});
  cfg.providers = {"testdev", "cpu"};
  cfg.tune = tune;
  cfg.timing_cache = cache;
  Built out;
  cfg.progress = [&out](const std::string& m) { out.messages.push_back(m); };
  out.engine = EngineAccess::wrap(build_engine(std::move(b.g), cfg));
  return out;
}

std::vector<int64_t> tuned_of(const Engine& e) {
  for (const ir::Node& n : EngineAccess::impl(e).graph.nodes)
    if (n.op == "MatMul") {
      auto it = n.attrs.find("dynrt.tuned");
      return it == n.attrs.end() ? std::vector<int64_t>{} : it->second.ints;
    }
  return {};
}

std::string last_message(const Built& b) { return b.messages.empty() ? "" : b.messages.back(); }

TEST(Tuning, TunesAtOptByDefault) {
  EXPECT_EQ(BuildConfig{}.tune, Tuning::kOpt);
  Built b = build_matmul(Tuning::kOpt);
  EXPECT_EQ(tuned_of(*b.engine), (std::vector<int64_t>{8}));
  EXPECT_NE(last_message(b).find("tuned 1 nodes at 1 shapes"), std::string::npos) << last_message(b);
}

TEST(Tuning, RangeTunesAtOptMinMaxAndBetweenAndKeepsItInTheEngine) {
  Built b = build_matmul(Tuning::kRange);
  // opt first, then min, two between min and opt (geometric), max and two between opt and max.
  EXPECT_EQ(tuned_of(*b.engine), (std::vector<int64_t>{8, 1, 2, 4, 16, 32, 64}));
  EXPECT_NE(last_message(b).find("tuned 1 nodes at 7 shapes"), std::string::npos) << last_message(b);
  EXPECT_NE(last_message(b).find("7 problems timed, 0 from the timing cache"), std::string::npos) << last_message(b);

  std::string path = ::testing::TempDir() + "/tuned.engine";
  b.engine->save(path);
  auto loaded = Engine::load(path);
  std::remove(path.c_str());
  EXPECT_EQ(tuned_of(*loaded), tuned_of(*b.engine));
  // The loaded kernel finds its choice at a tuned shape, and none between.
  auto ctx = loaded->create_context();
  Tensor y = ctx->run({{"x", floats({16, 8})}}).at("y");
  EXPECT_EQ(testdev::counters().tuned_choice, 16);
  ctx->run({{"x", floats({20, 8})}});
  EXPECT_EQ(testdev::counters().tuned_choice, -1);
  // And the answer is the untuned engine's.
  Tensor want = build_matmul(Tuning::kOff).engine->create_context()->run({{"x", floats({16, 8})}}).at("y");
  ASSERT_EQ(y.numel(), want.numel());
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_FLOAT_EQ(y.data_as<float>()[i], want.data_as<float>()[i]);
}

TEST(Tuning, OffMeansNoTuningRunsAndNothingStored) {
  Built b = build_matmul(Tuning::kOff);
  EXPECT_TRUE(tuned_of(*b.engine).empty());
  for (const std::string& m : b.messages) EXPECT_EQ(m.find("tun"), std::string::npos) << m;
}

TEST(Tuning, TheTimingCacheFileSavesARebuildItsMeasurements) {
  std::string cache = ::testing::TempDir() + "/dynrt_timing_cache_test.txt";
  std::remove(cache.c_str());
  Built first = build_matmul(Tuning::kRange, cache);
  EXPECT_NE(last_message(first).find("7 problems timed"), std::string::npos) << last_message(first);
  TimingCache read;
  read.load(cache);
  EXPECT_EQ(read.size(), 7u);
  Built second = build_matmul(Tuning::kRange, cache);
  EXPECT_NE(last_message(second).find("0 problems timed, 7 from the timing cache"), std::string::npos)
      << last_message(second);
  EXPECT_EQ(tuned_of(*second.engine), tuned_of(*first.engine));
  std::remove(cache.c_str());
}

TEST(Tuning, AMalformedTimingCacheIsAnErrorNamingTheFileAndLine) {
  std::string cache = ::testing::TempDir() + "/dynrt_bad_timing_cache.txt";
  auto expect_error = [&](const std::string& text, const std::string& want) {
    std::ofstream(cache) << text;
    try {
      TimingCache c;
      c.load(cache);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidConfig);
      EXPECT_NE(std::string(e.what()).find(cache), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  expect_error("not a cache\n", "line 1: not a dynrt timing cache");
  expect_error("dynrt timing cache 1\nkey without values\n", "line 2: expected KEY<tab>VALUES");
  expect_error("dynrt timing cache 1\nk\t1 2 x\n", "line 2: expected up to 64 integers");
  expect_error("dynrt timing cache 1\nk\t99999999999999999999\n", "line 2");
  expect_error("", "empty file");
  std::remove(cache.c_str());
  TimingCache none;
  none.load(cache);  // missing: an empty cache
  EXPECT_EQ(none.size(), 0u);
}

}  // namespace
}  // namespace dynrt
