#pragma once

#include <memory>

#include "dynrt/compiler.h"
#include "runtime/engine_impl.h"

namespace dynrt {

std::shared_ptr<EngineImpl> build_engine(ir::Graph graph, const BuildConfig& cfg);

}  // namespace dynrt
