#pragma once

#include <memory>
#include <string>

#include "runtime/engine_impl.h"

namespace dynrt {

void save_engine(const EngineImpl& e, const std::string& path);
// Throws ErrorCode::kInvalidEngine for truncated, corrupt or wrong-version files.
std::shared_ptr<EngineImpl> load_engine(const std::string& path);
// The same from the file's bytes; `path` names it in errors (the fuzzer's entry point).
DYNRT_INTERNAL std::shared_ptr<EngineImpl> load_engine_bytes(const std::string& data, const std::string& path);

}  // namespace dynrt
