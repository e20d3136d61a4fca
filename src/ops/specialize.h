// A number the build needs (an output rank, a Scan's length, the branch an
// If takes, the sign of a Slice index) is an expression of input dims rather
// than a constant. The builder catches this and, when those dims take few
// values over the profiles, builds one engine per value and picks among them
// at run time (builder/variants.cpp); otherwise the message stands as an
// ErrorCode::kUnsupported error.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dynrt/error.h"

namespace dynrt {

// The most engines one build makes this way.
inline constexpr int64_t kMaxVariants = 16;

class DYNRT_INTERNAL NeedsSpecialization : public Error {
 public:
  NeedsSpecialization(const std::string& message, std::vector<int> symbols)
      : Error(ErrorCode::kUnsupported, message), symbols_(std::move(symbols)) {}
  // The symbols whose values would make the expression a constant.
  const std::vector<int>& symbols() const { return symbols_; }

 private:
  std::vector<int> symbols_;
};

}  // namespace dynrt
