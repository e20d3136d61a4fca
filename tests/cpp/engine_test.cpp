// Engine round trip and plan caching, through the public C++ API.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <atomic>
#include <chrono>

#include "dynrt/dynrt.h"

namespace {

const std::string kModel = std::string(DYNRT_SOURCE_DIR) + "/tests/models/pool_flatten.torchscript.onnx";

dynrt::Tensor random_images(int64_t n, unsigned seed) {
  dynrt::Tensor t(dynrt::DType::kFloat32, {n, 3, 16, 16});
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = dist(rng);
  return t;
}

dynrt::BuildConfig batch_1_4_8() {
  dynrt::BuildConfig cfg;
  dynrt::Profile p;
  p.dims["batch"] = {1, 4, 8};
  cfg.profiles.push_back(p);
  return cfg;
}

TEST(Engine, SavedAndLoadedEngineGivesBitIdenticalOutputs) {
  auto built = dynrt::build(kModel, batch_1_4_8());
  std::string path = ::testing::TempDir() + "/pool_flatten.engine";
  built->save(path);
  auto loaded = dynrt::Engine::load(path);
  std::remove(path.c_str());  // a loaded engine does not need its file (it maps it: the mapping keeps it)
  // A new batch plans again and may pack the mapped weights again, from pages
  // given back after the first packing; batch 1 again reuses its plan.
  for (int64_t n : {1, 3, 8, 1}) {
    std::map<std::string, dynrt::Tensor> in = {{"x", random_images(n, static_cast<unsigned>(n))}};
    auto a = built->create_context()->run(in).at("output");
    auto b = loaded->create_context()->run(in).at("output");
    ASSERT_EQ(a.shape(), (std::vector<int64_t>{n, 4}));
    ASSERT_EQ(a.shape(), b.shape());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.nbytes()), 0) << "batch " << n;
  }
}

TEST(Engine, PlansOncePerDistinctShape) {
  auto engine = dynrt::build(kModel, batch_1_4_8());
  // Threads fixed: a busy machine would otherwise give a shape a plan per thread count.
  auto ctx = engine->create_context({.adapt_threads = false});
  std::map<std::string, dynrt::Tensor> b2 = {{"x", random_images(2, 1)}}, b5 = {{"x", random_images(5, 2)}};
  ctx->run(b2);
  EXPECT_EQ(ctx->plans_created(), 1);
  ctx->run(b2);
  ctx->run(b2);
  EXPECT_EQ(ctx->plans_created(), 1);  // a seen shape does no re-planning
  ctx->run(b5);
  EXPECT_EQ(ctx->plans_created(), 2);
  ctx->run(b2);
  EXPECT_EQ(ctx->plans_created(), 2);
}

TEST(Engine, ArenaIsSizedForTheActualShapeNotTheMax) {
  auto engine = dynrt::build(kModel, batch_1_4_8());
  auto ctx = engine->create_context();
  ctx->run({{"x", random_images(1, 1)}});
  int64_t small = ctx->arena_bytes();
  ctx->run({{"x", random_images(8, 1)}});
  int64_t large = ctx->arena_bytes();
  EXPECT_GT(small, 0);
  EXPECT_GE(large, 7 * small);
}

TEST(Engine, ContextsOfOneEngineRunConcurrently) {
  // Eight threads, a context each, at random shapes in the range: every output
  // bit-identical to a single-threaded run at that shape (scripts/tsan.sh runs
  // this under ThreadSanitizer).
  auto engine = dynrt::build(kModel, batch_1_4_8());
  std::vector<dynrt::Tensor> in, want;
  for (int64_t n = 1; n <= 8; ++n) {
    in.push_back(random_images(n, static_cast<unsigned>(n)));
    want.push_back(engine->create_context()->run({{"x", in.back()}}).at("output"));
  }
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      auto ctx = engine->create_context();
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < 25; ++i) {
        const size_t b = rng() % 8;
        auto got = ctx->run({{"x", in[b]}}).at("output");
        ok[static_cast<size_t>(t)] += std::memcmp(got.data(), want[b].data(), want[b].nbytes()) == 0;
      }
    });
  for (auto& th : threads) th.join();
  for (int v : ok) EXPECT_EQ(v, 25);
}

TEST(Engine, OneContextFromTwoThreadsIsAnErrorNotCorruption) {
  auto engine = dynrt::build(kModel, batch_1_4_8());
  std::map<std::string, dynrt::Tensor> in = {{"x", random_images(8, 3)}};
  auto want = engine->create_context()->run(in).at("output");
  auto shared = engine->create_context();
  std::atomic<int> refused{0}, right{0}, wrong{0};
  auto worker = [&] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (int i = 0; i < 2000 && (refused == 0 || i < 50) && std::chrono::steady_clock::now() < deadline; ++i) {
      try {
        auto got = shared->run(in).at("output");
        (std::memcmp(got.data(), want.data(), want.nbytes()) == 0 ? right : wrong)++;
      } catch (const dynrt::Error& e) {
        EXPECT_EQ(e.code(), dynrt::ErrorCode::kInvalidConfig);
        EXPECT_NE(std::string(e.what()).find("already running on another thread"), std::string::npos);
        refused++;
      }
    }
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  EXPECT_EQ(wrong.load(), 0);  // every run that was let through is right
  EXPECT_GT(right.load(), 0);
  EXPECT_GT(refused.load(), 0);  // the overlap happened and was refused
}

TEST(Engine, ArenaLimitIsAnOutOfMemoryErrorNamingTheSize) {
  auto engine = dynrt::build(kModel, batch_1_4_8());
  auto probe = engine->create_context();
  probe->run({{"x", random_images(1, 1)}});
  const int64_t small = probe->arena_bytes();  // what batch 1 needs
  dynrt::ContextOptions o;
  o.max_arena_bytes = small;
  auto ctx = engine->create_context(o);
  ctx->run({{"x", random_images(1, 1)}});  // within the limit
  try {
    ctx->run({{"x", random_images(8, 1)}});
    FAIL() << "a run over the arena limit succeeded";
  } catch (const dynrt::Error& e) {
    EXPECT_EQ(e.code(), dynrt::ErrorCode::kOutOfMemory);
    EXPECT_NE(std::string(e.what()).find("over ContextOptions::max_arena_bytes = " + std::to_string(small)),
              std::string::npos)
        << e.what();
  }
  ctx->run({{"x", random_images(1, 1)}});  // the context still works
  o.max_arena_bytes = -1;
  EXPECT_THROW(engine->create_context(o), dynrt::Error);
}

TEST(Engine, TensorLimitIsAnOutOfMemoryErrorNamingTheTensor) {
  auto engine = dynrt::build(kModel, batch_1_4_8());
  dynrt::Tensor one = random_images(1, 1);
  dynrt::ContextOptions o;
  o.max_tensor_bytes = 8 * 16 * 16 * 4;  // the largest tensor at batch 1: the first conv's 8x16x16 output
  auto ctx = engine->create_context(o);
  ctx->run({{"x", one}});  // within the limit
  try {
    ctx->run({{"x", random_images(2, 1)}});
    FAIL() << "a run over the tensor limit succeeded";
  } catch (const dynrt::Error& e) {
    EXPECT_EQ(e.code(), dynrt::ErrorCode::kOutOfMemory);
    const std::string what = e.what();
    EXPECT_NE(what.find("' would be 2x8x16x16 (16384 bytes), over ContextOptions::max_tensor_bytes = 8192"),
              std::string::npos)
        << what;
  }
  ctx->run({{"x", one}});  // the context still works
  o.max_tensor_bytes = -1;
  EXPECT_THROW(engine->create_context(o), dynrt::Error);
}

}  // namespace

