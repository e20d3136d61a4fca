// Shared by the builder and the runtime of dynrt.If / dynrt.Loop (ops/control_flow.cpp).
#pragma once

#include <cstdint>

namespace dynrt {

// A Loop stops with an error after this many iterations (a model may loop
// forever); the builder bounds a Loop's iteration count by it.
inline constexpr int64_t kMaxLoopIterations = int64_t{1} << 20;

}  // namespace dynrt
