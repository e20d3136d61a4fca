// What a new input shape costs, and process memory after many distinct
// shapes, for one BERT-style engine (inputs input_ids and attention_mask):
// every (batch, seq) with batch in 1..B and seq in 1..S step STEP runs twice
// (random token ids below VOCAB, default 1000);
// new-shape cost = planning (output_shapes: kernel states, oneDNN primitives,
// the arena layout) + first run - second run (first touches), and
// planning alone is timed on a fresh context that only asks for output shapes.
//
//   cmake -S . -B build -DDYNRT_BUILD_BENCHMARKS=ON && cmake --build build
//   ./build/plan_cache_memory MODEL.onnx MAX_CACHED_PLANS [THREADS] [B] [S] [STEP] [VOCAB]
//   ./build/plan_cache_memory tests/models/bert_tiny.torchscript.onnx 64          # 8 x 128 = 1024 shapes
//
// MODEL may also be an engine file (.engine), loaded as a user would (its
// range must hold the shapes); the RSS figures then include its mapped weights.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "dynrt/dynrt.h"

namespace {

// A field of /proc/self/status in KiB: VmRSS (resident now) or VmHWM (peak).
long status_kib(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  return -1;
}
long rss_kib() { return status_kib("VmRSS:"); }

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: plan_cache_memory BERT_MODEL.onnx MAX_CACHED_PLANS [THREADS] [B] [S] [STEP] [VOCAB]\n");
    return 2;
  }
  const int64_t cap = std::stoll(argv[2]);
  const int threads = argc > 3 ? std::stoi(argv[3]) : 1;
  const int64_t max_b = argc > 4 ? std::stoll(argv[4]) : 8, max_s = argc > 5 ? std::stoll(argv[5]) : 128;
  const int64_t step = argc > 6 ? std::stoll(argv[6]) : 1;
  const std::string model = argv[1];
  std::shared_ptr<dynrt::Engine> engine;
  if (model.size() > 7 && model.compare(model.size() - 7, 7, ".engine") == 0) {
    engine = dynrt::Engine::load(model);
  } else {
    dynrt::BuildConfig cfg;
    dynrt::Profile profile;
    profile.dims = {{"batch", {1, std::min<int64_t>(4, max_b), max_b}}, {"seq", {1, std::min<int64_t>(64, max_s), max_s}}};
    cfg.profiles.push_back(profile);
    engine = dynrt::build(model, cfg);
  }
  auto ctx = engine->create_context({.threads = threads, .max_cached_plans = cap});
  long before = rss_kib();
  std::mt19937 rng(0);
  const auto vocab = static_cast<uint32_t>(argc > 7 ? std::stoul(argv[7]) : 1000);  // token ids drawn from [0, VOCAB)
  std::vector<double> new_shape_cost, planning;
  int64_t shapes = 0;
  using clock = std::chrono::steady_clock;
  for (int64_t b = 1; b <= max_b; ++b)
    for (int64_t s = step; s <= max_s; s += step, ++shapes) {
      dynrt::Tensor ids(dynrt::DType::kInt64, {b, s}), mask(dynrt::DType::kInt64, {b, s});
      for (int64_t i = 0; i < b * s; ++i) {
        mask.data_as<int64_t>()[i] = 1;
        ids.data_as<int64_t>()[i] = static_cast<int64_t>(rng() % vocab);  // token ids as real inputs have them
      }
      // The shape is planned first (output_shapes), then run twice: the new-shape
      // cost is the planning plus what the first run costs over the second.
      auto t0 = clock::now();
      ctx->output_shapes({{"input_ids", {b, s}}, {"attention_mask", {b, s}}});
      const double plan_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
      double ms[2];
      for (double& t : ms) {
        t0 = clock::now();
        ctx->run({{"input_ids", ids}, {"attention_mask", mask}});
        t = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
      }
      planning.push_back(plan_ms);
      new_shape_cost.push_back(plan_ms + std::max(0.0, ms[0] - ms[1]));
    }
  long after = rss_kib();
  // Planning alone: a fresh context asked only for output shapes (which plans
  // each shape and runs nothing), so no first-touch or cache effects of a run.
  auto planner = engine->create_context({.threads = threads, .max_cached_plans = cap});
  std::vector<double> plan_only;
  for (int64_t b = 1; b <= max_b; ++b)
    for (int64_t s = step; s <= max_s; s += step) {
      auto t0 = clock::now();
      planner->output_shapes({{"input_ids", {b, s}}, {"attention_mask", {b, s}}});
      plan_only.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    }
  std::printf("%lld shapes, %d threads, max_cached_plans %lld: plans created %lld, cached %lld, RSS %.1f MiB -> %.1f MiB "
              "(+%.1f MiB); new-shape cost (planning + first run - second run) median %.2f ms, p90 %.2f ms, of which "
              "planning in the running context median %.2f ms; planning alone "
              "(output_shapes on a fresh context) median %.2f ms, p90 %.2f ms; peak RSS %.1f MiB\n",
              static_cast<long long>(shapes), threads, static_cast<long long>(cap),
              static_cast<long long>(ctx->plans_created()), static_cast<long long>(ctx->plans_cached()), before / 1024.0,
              after / 1024.0, (after - before) / 1024.0, percentile(new_shape_cost, 0.5), percentile(new_shape_cost, 0.9),
              percentile(planning, 0.5),
              percentile(plan_only, 0.5), percentile(plan_only, 0.9), status_kib("VmHWM:") / 1024.0);
  return 0;
}
