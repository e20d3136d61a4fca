#include <gtest/gtest.h>

#include "runtime/memory_plan.h"

using dynrt::Buffer;

TEST(MemoryPlan, OverlappingLifetimesNeverShareBytes) {
  std::vector<Buffer> bufs = {{1000, 0, 2}, {500, 1, 3}, {2000, 3, 5}, {700, 4, 6}, {100, 0, 6}};
  dynrt::MemoryPlan p = dynrt::plan_memory(bufs);
  for (size_t i = 0; i < bufs.size(); ++i)
    for (size_t j = i + 1; j < bufs.size(); ++j) {
      bool live_together = bufs[i].first <= bufs[j].last && bufs[j].first <= bufs[i].last;
      bool overlap = p.offsets[i] < p.offsets[j] + bufs[j].bytes && p.offsets[j] < p.offsets[i] + bufs[i].bytes;
      EXPECT_FALSE(live_together && overlap) << i << " " << j;
    }
  for (size_t i = 0; i < bufs.size(); ++i) EXPECT_EQ(p.offsets[i] % dynrt::kArenaAlignment, 0);
}

TEST(MemoryPlan, DisjointLifetimesReuseMemory) {
  std::vector<Buffer> bufs = {{4096, 0, 1}, {4096, 2, 3}, {4096, 4, 5}};
  dynrt::MemoryPlan p = dynrt::plan_memory(bufs);
  EXPECT_EQ(p.total, 4096);
}
