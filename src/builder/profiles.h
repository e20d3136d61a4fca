#pragma once

#include <vector>

#include "dynrt/compiler.h"
#include "ir/graph.h"
#include "runtime/engine_impl.h"

namespace dynrt {

// Applies relations, validates the profiles against the model's inputs and
// sets every input symbol's range (hull of the profiles) and opt value.
std::vector<ProfileBox> apply_profiles(ir::Graph& g, const BuildConfig& cfg);

}  // namespace dynrt
