#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include <unistd.h>

#include "runtime/arena.h"
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

// Host arenas grow in place or move with their pages (mremap): what was written
// stays, the new size is whole pages, and a smaller request keeps the arena.
TEST(Arena, HostArenaGrowsKeepingItsPages) {
  const dynrt::ExecutionProvider& cpu = dynrt::ProviderRegistry::instance().get("cpu");
  dynrt::Arena a;
  EXPECT_EQ(a.size(), 0u);
  a.grow(&cpu, 10000);
  ASSERT_NE(a.data(), nullptr);
  EXPECT_GE(a.size(), 10000u);
  EXPECT_EQ(a.size() % static_cast<size_t>(sysconf(_SC_PAGESIZE)), 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % dynrt::kArenaAlignment, 0u);
  std::memset(a.data(), 7, 10000);
  a.grow(&cpu, 6 << 20);
  EXPECT_GE(a.size(), size_t{6} << 20);
  EXPECT_EQ(static_cast<unsigned char*>(a.data())[9999], 7);
  static_cast<unsigned char*>(a.data())[(6 << 20) - 1] = 1;
  void* before = a.data();
  a.grow(&cpu, 100);
  EXPECT_EQ(a.data(), before);
  dynrt::Arena b = std::move(a);
  EXPECT_EQ(b.data(), before);
  EXPECT_EQ(a.size(), 0u);
}
