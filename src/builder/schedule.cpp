#include "builder/schedule.h"

#include <queue>
#include <tuple>

#include "dynrt/error.h"

namespace dynrt {

void schedule_host_first(ir::Graph& g) {
  size_t n = g.nodes.size();
  // A node is device work when its outputs live in device memory (a kernel
  // on a device, or a copy down from one that waits for the device).
  std::vector<int> device(n, 0);
  bool any = false;
  for (size_t k = 0; k < n; ++k) {
    const ir::Node& node = g.nodes[k];
    for (int i : node.inputs)
      if (i >= 0 && g.values[static_cast<size_t>(i)].provider != 0) device[k] = 1;
    for (int o : node.outputs)
      if (o >= 0 && g.values[static_cast<size_t>(o)].provider != 0) device[k] = 1;
    if (node.op == "MemCopy" && node.domain == "dynrt" && node.outputs[0] >= 0 &&
        g.values[static_cast<size_t>(node.outputs[0])].provider != 0)
      device[k] = 0;  // an upload: queued at once, the device reads it later
    any |= device[k] != 0;
  }
  if (!any) return;
  std::vector<int> producer(g.values.size(), -1);
  for (size_t k = 0; k < n; ++k)
    for (int o : g.nodes[k].outputs)
      if (o >= 0) producer[static_cast<size_t>(o)] = static_cast<int>(k);
  std::vector<int> waiting(n, 0);
  std::vector<std::vector<size_t>> readers(n);
  for (size_t k = 0; k < n; ++k)
    for (int i : g.nodes[k].inputs) {
      if (i < 0 || producer[static_cast<size_t>(i)] < 0) continue;
      ++waiting[k];
      readers[static_cast<size_t>(producer[static_cast<size_t>(i)])].push_back(k);
    }
  // Ready nodes: host work first, then by original position.
  using Key = std::pair<int, size_t>;
  std::priority_queue<Key, std::vector<Key>, std::greater<Key>> ready;
  for (size_t k = 0; k < n; ++k)
    if (waiting[k] == 0) ready.emplace(device[k], k);
  std::vector<ir::Node> order;
  order.reserve(n);
  while (!ready.empty()) {
    size_t k = ready.top().second;
    ready.pop();
    for (size_t r : readers[k])
      if (--waiting[r] == 0) ready.emplace(device[r], r);
    order.push_back(std::move(g.nodes[k]));
  }
  if (order.size() != n) throw Error(ErrorCode::kInternal, "the graph has a cycle");
  g.nodes = std::move(order);
  g.recompute_producers();
}

}  // namespace dynrt
