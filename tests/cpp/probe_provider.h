// "probe": a second device provider defined inside the tests (providers can
// live anywhere), in plain malloc memory it calls device memory. It runs
// Relu and Reshape and records the thread count (TBB arena) its kernels see.
#pragma once

#include <oneapi/tbb/task_arena.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "backends/provider.h"

namespace dynrt::testing {

inline std::atomic<int> g_probe_threads{0};

class ProbeProvider : public ExecutionProvider {
 public:
  ProbeProvider() {
    kernels_.add_kernel("Relu", [](const KernelInit&) { return std::unique_ptr<Kernel>(new ReluKernel()); });
    kernels_.add_kernel("Reshape", [](const KernelInit&) { return std::unique_ptr<Kernel>(new CopyKernel()); });
  }
  std::string name() const override { return "probe"; }
  bool host_memory() const override { return false; }
  void* allocate(size_t bytes) const override { return std::aligned_alloc(64, (std::max<size_t>(bytes, 1) + 63) / 64 * 64); }
  void deallocate(void* p) const override { std::free(p); }
  void copy_to_host(void* dst, const void* src, size_t n) const override { std::memcpy(dst, src, n); }
  void copy_from_host(void* dst, const void* src, size_t n) const override { std::memcpy(dst, src, n); }

 private:
  struct ReluKernel : Kernel {
    void run(KernelContext& c) const override {
      g_probe_threads = tbb::this_task_arena::max_concurrency();
      const float* x = c.in(0).as<float>();
      float* y = c.out(0).as<float>();
      for (int64_t i = 0; i < c.out(0).numel(); ++i) y[i] = x[i] > 0 ? x[i] : 0;
    }
  };
  struct CopyKernel : Kernel {
    void run(KernelContext& c) const override { std::memcpy(c.out(0).data, c.in(0).data, c.out(0).nbytes()); }
  };
};

inline void register_probe() {
  static bool done = [] {
    ProviderRegistry::instance().add("probe", [] { return std::make_unique<ProbeProvider>(); });
    return true;
  }();
  (void)done;
}

}  // namespace dynrt::testing
