// Engines with variants: when a build needs a number that depends on input
// dims (ops/specialize.h), build once per value of those dims and keep all.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "dynrt/compiler.h"
#include "ops/specialize.h"
#include "runtime/engine_impl.h"

namespace dynrt {

using BuildOne = std::function<std::shared_ptr<EngineImpl>(ir::Graph, std::vector<ProfileBox>, const BuildConfig&)>;

// `one(graph, boxes)`, or, when it throws NeedsSpecialization naming input
// dims that take at most kMaxVariants values together over the profiles, an
// engine holding one variant per value (EngineVariant).
std::shared_ptr<EngineImpl> build_with_variants(ir::Graph graph, std::vector<ProfileBox> boxes, const BuildConfig& cfg,
                                                const BuildOne& one);

}  // namespace dynrt
