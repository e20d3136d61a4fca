// The build pipeline: import -> profiles -> (one engine per value of a few
// input dims, where the model needs it: variants.cpp) -> symbolic inference (folding as it
// goes) -> generic passes -> partition over the providers -> each provider's
// own passes -> guard check at each profile's opt -> kernels -> tuning (GPU
// providers) -> engine.
#include "builder/build.h"

#include "builder/control_flow.h"
#include "builder/partition.h"
#include "builder/precision.h"
#include "builder/profiles.h"
#include "builder/schedule.h"
#include "builder/tune.h"
#include "builder/variants.h"
#include "onnx/importer.h"
#include "passes/pass.h"
#include "shape/infer.h"

namespace dynrt {
namespace {

// Guards that hold for every shape are dropped; one that fails at a profile's
// opt shape means the profile itself is invalid for this model.
void check_guards(ir::Graph& g, const std::vector<ProfileBox>& profiles) {
  std::vector<ir::Guard> kept;
  for (const ir::Guard& guard : g.guards) {
    bool has_symbols = !guard.a.symbols().empty() || !guard.b.symbols().empty();
    if (!has_symbols) continue;  // decided at build time by the op's inference
    if (guard.kind == ir::GuardKind::kEqual && guard.a == guard.b) continue;
    bool data_dependent = false;
    for (int s : guard.a.symbols()) data_dependent |= g.symbols[s].kind == ir::SymbolKind::kDataDependent;
    for (int s : guard.b.symbols()) data_dependent |= g.symbols[s].kind == ir::SymbolKind::kDataDependent;
    if (!data_dependent) {
      for (size_t p = 0; p < profiles.size(); ++p)
        if (!guard.holds(profiles[p].opt))
          throw Error(ErrorCode::kInvalidConfig, "profile " + std::to_string(p) + ": the opt shapes violate " +
                                                     guard.describe(g.symbols) + ", required by " + guard.what);
    }
    bool dup = false;
    for (const ir::Guard& k : kept) dup |= k.kind == guard.kind && k.a == guard.a && k.b == guard.b;
    if (!dup) kept.push_back(guard);
  }
  g.guards = std::move(kept);
}

// Constants no node reads any more (the weights a fusion replaced, the float32
// originals of retyped ones) keep their slot but not their data, so the
// engine file does not carry them.
void drop_unread_constants(ir::Graph& g) {
  const std::vector<int> uses = g.count_uses();  // graph outputs count as uses
  for (size_t v = 0; v < g.values.size(); ++v)
    if (uses[v] == 0 && g.values[v].constant) g.values[v].constant.reset();
}

// One engine for a graph whose profiles are applied (`boxes`).
std::shared_ptr<EngineImpl> build_one(ir::Graph graph, std::vector<ProfileBox> boxes, const BuildConfig& cfg) {
  auto progress = [&](const std::string& msg) {
    if (cfg.progress) cfg.progress(msg);
  };
  // fp16 is for device providers; bf16 also makes the CPU provider's
  // MatMul/Gemm/Conv products bf16 (mark_cpu_bf16).
  DType half = cfg.precision == Precision::kFp16   ? DType::kFloat16
               : cfg.precision == Precision::kBf16 ? DType::kBFloat16
                                                   : DType::kUndefined;
  bool device = false;
  for (const std::string& p : cfg.providers) device |= p != "cpu";
  if (half == DType::kFloat16 && !device)
    throw Error(ErrorCode::kUnsupported, std::string("precision ") + precision_name(cfg.precision) +
                                             " needs a GPU provider (e.g. --device cuda); the cpu provider "
                                             "computes in fp32 or bf16");
  auto impl = std::make_shared<EngineImpl>();
  impl->profiles = std::move(boxes);
  progress("inferring shapes of " + std::to_string(graph.nodes.size()) + " nodes");
  infer_shapes(graph, [](ir::Graph& g, size_t i) { passes::fold_node(g, i); },
               [&cfg](ir::Graph& g, size_t i) {
                 return passes::inline_if(g, i) || passes::unroll_scan(g, i) || passes::expand_flex_attention(g, i) ||
                        lower_control_flow(g, i, cfg, build_engine);
               });
  for (const passes::Pass& p : passes::default_pipeline()) {
    progress(std::string("pass ") + p.name);
    p.run(graph);
  }
  progress("partitioning over " + std::to_string(cfg.providers.size()) + " execution provider(s)");
  partition(graph, cfg.providers, half);
  run_provider_passes(graph, progress);
  if (half == DType::kBFloat16) mark_cpu_bf16(graph);
  schedule_host_first(graph);
  drop_unread_constants(graph);
  // Symbols made during inference (data-dependent sizes) get their full range in every profile.
  for (ProfileBox& b : impl->profiles)
    for (auto s = static_cast<int>(b.min.size()); s < graph.symbols.size(); ++s) {
      b.min.push_back(graph.symbols[s].min);
      b.opt.push_back(graph.symbols[s].opt);
      b.max.push_back(graph.symbols[s].max);
    }
  check_guards(graph, impl->profiles);
  impl->graph = std::move(graph);
  progress("creating kernels for " + std::to_string(impl->graph.nodes.size()) + " nodes");
  impl->finalize();
  tune_engine(*impl, impl, cfg);
  return impl;
}

}  // namespace

std::shared_ptr<EngineImpl> build_engine(ir::Graph graph, const BuildConfig& cfg) {
  check_providers(cfg.providers);
  std::vector<ProfileBox> boxes = apply_profiles(graph, cfg);
  return build_with_variants(std::move(graph), std::move(boxes), cfg, build_one);
}

}  // namespace dynrt
