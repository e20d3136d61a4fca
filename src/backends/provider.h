// The execution-provider contract: everything the compiler and the runtime
// need from a backend, in one interface. A provider owns a kernel registry,
// says which nodes it can run, allocates its memory, copies to and from the
// host, and may rewrite the nodes assigned to it (its lowering and fusion
// passes). The builder partitions a graph over the user's preference list;
// the runtime runs each node with its provider's kernel.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/kernel.h"
#include "ir/graph.h"

namespace dynrt {

// A rewrite a provider applies to the nodes assigned to it (index `self` in
// Graph::providers), after partitioning. It must leave other nodes alone.
struct ProviderPass {
  const char* name;
  bool (*run)(ir::Graph& g, int self);
};

// Work recorded from a stream (a CUDA graph), launched again as a whole.
class DYNRT_INTERNAL CapturedWork {
 public:
  virtual ~CapturedWork() = default;
  virtual void replay() = 0;
};

// One context's queue of work on one provider: for CUDA a stream with its
// library handles and scratch memory. Kernels of that provider find it in
// KernelContext::stream and may return before their work is done; the
// runtime calls synchronize() before the host reads what they wrote.
class DYNRT_INTERNAL ProviderStream {
 public:
  virtual ~ProviderStream() = default;
  // Queued copies. copy_from_host may return before the copy is done but
  // after it has taken the host bytes (the host buffer may then be reused);
  // the destination of copy_to_host is valid once synchronize() returns.
  virtual void copy_to_host(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy_from_host(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void synchronize() = 0;
  // Queued copy within this provider's memory (a caller's device buffer).
  virtual void copy_within(void* dst, const void* src, size_t bytes) {
    throw Error(ErrorCode::kUnsupported, "this provider cannot copy within its memory");
  }

  // Recording: between begin_capture() (false: this stream cannot record)
  // and end_capture() (null: the recording failed), queued work is recorded,
  // not run. A recording holds the pointers it saw, so the runtime records
  // again when generation() (memory the stream lends kernels, such as
  // scratch space, moved) or its own arenas change.
  virtual bool begin_capture() { return false; }
  virtual std::unique_ptr<CapturedWork> end_capture() { return nullptr; }
  virtual uint64_t generation() const { return 0; }
  // Scratch memory this stream holds (device bytes).
  virtual int64_t scratch_bytes() const { return 0; }
};

class DYNRT_INTERNAL ExecutionProvider {
 public:
  virtual ~ExecutionProvider() = default;

  virtual std::string name() const = 0;
  // True when this provider's tensors live in ordinary host memory (the
  // CPU): no copies between it and the host.
  virtual bool host_memory() const = 0;

  const KernelRegistry& kernels() const { return kernels_; }
  // Can this provider run node n? Default: a kernel is registered for the op
  // and its supports() check (if any) accepts the node.
  virtual bool supports(const ir::Graph& g, const ir::Node& n) const;

  // Memory. Allocations are aligned to 64 bytes; all four are thread-safe.
  virtual void* allocate(size_t bytes) const = 0;
  virtual void deallocate(void* p) const = 0;
  virtual void copy_to_host(void* host_dst, const void* src, size_t bytes) const = 0;
  virtual void copy_from_host(void* dst, const void* host_src, size_t bytes) const = 0;

  // The layout its layout-sensitive kernels prefer for activations.
  virtual ir::Layout preferred_layout() const { return ir::Layout::kRowMajor; }
  // True when some of its kernels time alternatives while the builder tunes
  // (KernelContext::tuning): the builder then runs the tuning shapes.
  virtual bool tunes() const { return false; }
  // True when its kernels' prepare() may run concurrently for different nodes
  // (each on its own state): the runtime then plans a new shape's nodes in
  // parallel, which overlaps the CPU's oneDNN kernel generation.
  virtual bool concurrent_prepare() const { return false; }
  // Its own lowering and fusion passes, run in order after partitioning.
  virtual std::vector<ProviderPass> passes() const { return {}; }

  // A queue for one execution context, on the caller's native stream when
  // `user_stream` is set (cudaStream_t for CUDA). Null: this provider's
  // kernels and copies complete before they return (the CPU).
  virtual std::unique_ptr<ProviderStream> create_stream(void* user_stream) const { return nullptr; }

 protected:
  KernelRegistry kernels_;
};

// A block of one provider's memory, freed with it.
class DYNRT_INTERNAL DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const ExecutionProvider* p, size_t bytes);
  DeviceBuffer(DeviceBuffer&& o) noexcept { swap(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    swap(o);
    return *this;
  }
  ~DeviceBuffer();
  void* data() const { return data_; }
  size_t size() const { return bytes_; }

 private:
  void swap(DeviceBuffer& o) noexcept;
  const ExecutionProvider* provider_ = nullptr;
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

using ProviderFactory = std::function<std::unique_ptr<ExecutionProvider>()>;

// Every provider this process knows. Built-in providers are listed in
// src/backends/providers.cpp; any other name is looked up as a plug-in,
// libdynrt_provider_<name>.so (next to libdynrt_runtime.so, then on the
// library search path), which registers itself from its exported
// `dynrt_register_provider` function.
class DYNRT_INTERNAL ProviderRegistry {
 public:
  static ProviderRegistry& instance();
  void add(const std::string& name, ProviderFactory make);
  // The provider, created on first use; throws kUnsupported naming the
  // provider and why it is not available on this machine.
  const ExecutionProvider& get(const std::string& name);
  // Null (and *why set) when the provider is not available.
  const ExecutionProvider* try_get(const std::string& name, std::string* why);

 private:
  std::mutex mu_;
  std::vector<std::pair<std::string, ProviderFactory>> factories_;
  std::vector<std::pair<std::string, std::unique_ptr<ExecutionProvider>>> made_;
};

// Called once by ProviderRegistry::instance (src/backends/providers.cpp).
void register_builtin_providers(ProviderRegistry& r);

// The host provider, used to fold constants at build time.
DYNRT_INTERNAL const ExecutionProvider& cpu_provider();

}  // namespace dynrt
