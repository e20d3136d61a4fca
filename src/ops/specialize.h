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
  // run_time_fallback: the node can also run at run time (an If's branch, a
  // Scan's length); the builder builds it that way (ir::Graph::
  // run_time_control_flow) when the values are too many to specialize.
  NeedsSpecialization(const std::string& message, std::vector<int> symbols, bool run_time_fallback = false)
      : Error(ErrorCode::kUnsupported, message), symbols_(std::move(symbols)), run_time_fallback_(run_time_fallback) {}
  // The symbols whose values would make the expression a constant.
  const std::vector<int>& symbols() const { return symbols_; }
  bool run_time_fallback() const { return run_time_fallback_; }

 private:
  std::vector<int> symbols_;
  bool run_time_fallback_;
};

}  // namespace dynrt
