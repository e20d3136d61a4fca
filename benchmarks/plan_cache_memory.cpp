// Process memory after running one engine at many distinct input shapes,
// with the plan cache capped (ContextOptions::max_cached_plans) or not.
//
//   cmake -S . -B build -DDYNRT_BUILD_BENCHMARKS=ON && cmake --build build
//   ./build/plan_cache_memory tests/models/bert_tiny.torchscript.onnx 64
// runs 8 x 128 = 1024 distinct (batch, seq) shapes.
#include <cstdio>
#include <fstream>
#include <string>

#include "dynrt/dynrt.h"

namespace {

long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: plan_cache_memory BERT_MODEL.onnx MAX_CACHED_PLANS\n");
    return 2;
  }
  int64_t cap = std::stoll(argv[2]), shapes = 0;
  dynrt::BuildConfig cfg;
  dynrt::Profile profile;
  profile.dims = {{"batch", {1, 4, 8}}, {"seq", {1, 64, 128}}};
  cfg.profiles.push_back(profile);
  auto engine = dynrt::build(argv[1], cfg);
  auto ctx = engine->create_context({.threads = 1, .max_cached_plans = cap});
  long before = rss_kib();
  for (int64_t b = 1; b <= 8; ++b)
    for (int64_t s = 1; s <= 128; ++s, ++shapes) {
      dynrt::Tensor ids(dynrt::DType::kInt64, {b, s}), mask(dynrt::DType::kInt64, {b, s});
      for (int64_t i = 0; i < b * s; ++i) mask.data_as<int64_t>()[i] = 1;
      ctx->run({{"input_ids", ids}, {"attention_mask", mask}});
    }
  long after = rss_kib();
  std::printf("%lld shapes, max_cached_plans %lld: plans created %lld, cached %lld, RSS %.1f MiB -> %.1f MiB (+%.1f MiB)\n",
              static_cast<long long>(shapes), static_cast<long long>(cap), static_cast<long long>(ctx->plans_created()),
              static_cast<long long>(ctx->plans_cached()), before / 1024.0, after / 1024.0, (after - before) / 1024.0);
  return 0;
}
