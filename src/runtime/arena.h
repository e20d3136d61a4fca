// A context's arena for one memory, grown to the largest plan seen.
#pragma once

#include <cstddef>

#include "backends/provider.h"

namespace dynrt {

// Host memory is an anonymous mapping grown with mremap, which keeps the pages
// already touched: a larger shape then faults in only the added part, not a
// whole new arena (zeroing fresh pages was most of a new shape's first-run
// cost). Other memory is a provider block, reallocated to grow.
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  Arena(Arena&& o) noexcept { swap(o); }
  Arena& operator=(Arena&& o) noexcept {
    swap(o);
    return *this;
  }
  ~Arena();

  // Makes the arena at least `bytes` long; callers must not rely on its contents
  // being kept (a host arena keeps them, a device arena does not).
  // Throws kOutOfMemory naming the provider.
  void grow(const ExecutionProvider* p, size_t bytes);
  void* data() const { return mapped_ ? mapped_ : block_.data(); }
  size_t size() const { return mapped_ ? mapped_bytes_ : block_.size(); }

 private:
  void swap(Arena& o) noexcept;
  DeviceBuffer block_;
  void* mapped_ = nullptr;
  size_t mapped_bytes_ = 0;
};

}  // namespace dynrt
