// The one error type of dynrt. Every failure a user can cause (bad model,
// unsupported op, bad shape, corrupt engine file) is reported as a dynrt::Error
// whose message names the thing at fault.
#pragma once

#include <stdexcept>
#include <string>

#include "dynrt/export.h"

namespace dynrt {

enum class ErrorCode {
  kInvalidModel,     // malformed or inconsistent ONNX model
  kUnsupported,      // op / attribute / dtype dynrt does not implement
  kInvalidConfig,    // bad build configuration or profile
  kInvalidInput,     // wrong dtype, rank or missing input at run time
  kShapeOutOfRange,  // input shape outside every profile, or a failed guard
  kInvalidEngine,    // truncated, corrupt or wrong-version engine file
  kIo,               // file system errors
  kInternal,         // a bug in dynrt
  kOutOfMemory,      // an allocation failed, or a plan exceeds ContextOptions::max_arena_bytes
};

DYNRT_API const char* error_code_name(ErrorCode code);

class DYNRT_API Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace dynrt
