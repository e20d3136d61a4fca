#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/engine_impl.h"

namespace dynrt {

// Checks a plan read from an engine file before anything uses it; calls
// `corrupt` (which throws) with what is wrong.
void validate_engine_graph(const ir::Graph& g, const std::vector<ProfileBox>& profiles,
                           const std::function<void(const std::string&)>& corrupt);

}  // namespace dynrt
