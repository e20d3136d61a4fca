// The test-only "testdev" provider (see provider.cpp).
#pragma once

#include <cstdint>

#include "backends/provider.h"

namespace dynrt::testdev {

struct Counters {
  int64_t copies_to_host = 0, copies_from_host = 0, bytes = 0;
  int64_t live_allocations = 0;
  int64_t stream_syncs = 0;
  int64_t replays = 0;  // recorded work replayed
  int64_t tuned_choice = -1;  // the M MatMul's last prepare() found tuned (-1: none)
};
Counters counters();  // totals since the process started

}  // namespace dynrt::testdev

extern "C" void dynrt_register_provider(dynrt::ProviderRegistry& r);
