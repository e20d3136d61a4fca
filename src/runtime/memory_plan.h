// Arena planning: give every intermediate tensor an offset so that tensors
// alive at the same time never overlap. Run once per distinct input shape,
// with exact sizes from the symbolic shapes (not the profile's max).
#pragma once

#include <cstdint>
#include <vector>

namespace dynrt {

struct Buffer {
  int64_t bytes;
  int first, last;  // node indices during which the buffer is alive (inclusive)
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  // per buffer
  int64_t total = 0;
};

constexpr int64_t kArenaAlignment = 64;

MemoryPlan plan_memory(const std::vector<Buffer>& buffers);

}  // namespace dynrt
