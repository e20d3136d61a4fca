#pragma once

#include <memory>

#include "backends/provider.h"

namespace dynrt::cpu {

std::unique_ptr<ExecutionProvider> make_cpu_provider();

}  // namespace dynrt::cpu
