// The CPU execution provider: host memory, oneDNN-backed kernels, and the
// lowering passes that fuse into oneDNN primitives and pick channels-last
// activations for CNNs.
#include "backends/cpu/provider.h"

#include <cstdlib>
#include <cstring>

#include "backends/cpu/kernels.h"
#include "backends/cpu/passes/passes.h"

namespace dynrt::cpu {
namespace {

class CpuProvider : public ExecutionProvider {
 public:
  CpuProvider() { register_cpu_kernels(kernels_); }

  std::string name() const override { return "cpu"; }
  bool host_memory() const override { return true; }
  bool concurrent_prepare() const override { return true; }

  void* allocate(size_t bytes) const override {
    return std::aligned_alloc(64, (std::max<size_t>(bytes, 1) + 63) / 64 * 64);
  }
  void deallocate(void* p) const override { std::free(p); }
  void copy_to_host(void* dst, const void* src, size_t bytes) const override { std::memcpy(dst, src, bytes); }
  void copy_from_host(void* dst, const void* src, size_t bytes) const override { std::memcpy(dst, src, bytes); }

  ir::Layout preferred_layout() const override { return ir::Layout::kChannelsLast; }
  std::vector<ProviderPass> passes() const override {
    return {
        {"cpu.fuse_attention", fuse_attention},  // before the transposes fold into MatMuls
        {"cpu.attention_layout", attention_layout},
        {"cpu.fuse_activation", fuse_activation},
        {"cpu.fuse_qkv", fuse_qkv},  // after the biases fuse into the projections
        {"cpu.fuse_transpose_matmul", fuse_transpose_matmul},
        {"cpu.assign_channels_last", assign_channels_last},
        {"cpu.fuse_softmax_nan_guard", fuse_softmax_nan_guard},
    };
  }
};

}  // namespace

std::unique_ptr<ExecutionProvider> make_cpu_provider() { return std::make_unique<CpuProvider>(); }

}  // namespace dynrt::cpu
