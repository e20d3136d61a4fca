#pragma once

#include <memory>
#include <string>

#include "runtime/engine_impl.h"

namespace dynrt {

void save_engine(const EngineImpl& e, const std::string& path);
// The bytes save_engine writes (a subgraph's engine inside its node: builder/control_flow.cpp).
DYNRT_INTERNAL std::string engine_file_bytes(const EngineImpl& e);
// Throws ErrorCode::kInvalidEngine for truncated, corrupt or wrong-version files.
std::shared_ptr<EngineImpl> load_engine(const std::string& path);
// The same from the file's bytes; `path` names it in errors (the fuzzer's entry point).
DYNRT_INTERNAL std::shared_ptr<EngineImpl> load_engine_bytes(const std::string& data, const std::string& path);

}  // namespace dynrt
