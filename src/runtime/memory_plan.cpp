#include "runtime/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace dynrt {

// Greedy by size: place the largest buffers first, each at the lowest offset
// that does not collide with an already placed buffer alive at the same time
// (the approach of TFLite's arena planner).
MemoryPlan plan_memory(const std::vector<Buffer>& buffers) {
  MemoryPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  std::vector<size_t> placed;
  for (size_t i : order) {
    const Buffer& b = buffers[i];
    int64_t size = (b.bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
    if (size == 0) continue;
    std::vector<std::pair<int64_t, int64_t>> busy;  // [start, end) of overlapping-lifetime buffers
    for (size_t j : placed) {
      const Buffer& o = buffers[j];
      if (o.first <= b.last && b.first <= o.last) {
        int64_t osize = (o.bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
        busy.emplace_back(plan.offsets[j], plan.offsets[j] + osize);
      }
    }
    std::sort(busy.begin(), busy.end());
    int64_t best = -1, best_gap = INT64_MAX, cursor = 0;
    for (auto [s, e] : busy) {
      if (s - cursor >= size && s - cursor < best_gap) {
        best = cursor;
        best_gap = s - cursor;
      }
      cursor = std::max(cursor, e);
    }
    if (best < 0) best = cursor;
    plan.offsets[i] = best;
    plan.total = std::max(plan.total, best + size);
    placed.push_back(i);
  }
  return plan;
}

}  // namespace dynrt
