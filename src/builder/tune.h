#pragma once

#include <memory>

#include "dynrt/compiler.h"
#include "runtime/engine_impl.h"

namespace dynrt {

// Build-time tuning (BuildConfig::tune), after the kernels are made: runs
// the engine at each profile's opt shape (Tuning::kRange: also a grid of min,
// opt, max and the powers of two between, per dynamic dimension), where kernels that can choose (cuBLASLt GEMMs on
// the GPU) time their alternatives; stores each kernel's choices as its
// node's "dynrt.tuned" attribute. Nothing to do unless a provider tunes.
void tune_engine(EngineImpl& impl, const std::shared_ptr<const EngineImpl>& self, const BuildConfig& cfg);

}  // namespace dynrt
