// The runtime's part of build-time tuning (builder/tune.cpp): run an engine
// at chosen input shapes with its kernels preparing in tuning mode.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backends/timing_cache.h"
#include "runtime/engine_impl.h"

namespace dynrt {

// One fresh context runs the engine once at each entry of `shapes` (one
// shape per graph input, in order) on zero-filled inputs, every kernel's
// prepare() seeing KernelContext::tuning = &cache. Returns, per entry, the
// error that stopped that run (kernels prepared before it keep what they
// measured), or an empty string.
DYNRT_INTERNAL std::vector<std::string> run_for_tuning(std::shared_ptr<const EngineImpl> engine,
                                                       const std::vector<std::vector<std::vector<int64_t>>>& shapes,
                                                       TimingCache& cache);

}  // namespace dynrt
