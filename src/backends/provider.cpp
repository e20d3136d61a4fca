#include "backends/provider.h"

#include <dlfcn.h>

#include "backends/plugin.h"

namespace dynrt {

bool ExecutionProvider::supports(const ir::Graph& g, const ir::Node& n) const {
  const KernelRegistry::Entry* k = kernels_.find(n.op, n.domain);
  return k && (!k->supports || k->supports(KernelInit(g, n)));
}

DeviceBuffer::DeviceBuffer(const ExecutionProvider* p, size_t bytes) : provider_(p), bytes_(bytes) {
  data_ = p->allocate(std::max<size_t>(bytes, 1));
  if (!data_)
    throw Error(ErrorCode::kOutOfMemory, "out of " + p->name() + " memory allocating " + std::to_string(bytes) + " bytes");
}

DeviceBuffer::~DeviceBuffer() {
  if (data_) provider_->deallocate(data_);
}

void DeviceBuffer::swap(DeviceBuffer& o) noexcept {
  std::swap(provider_, o.provider_);
  std::swap(data_, o.data_);
  std::swap(bytes_, o.bytes_);
}

ProviderRegistry& ProviderRegistry::instance() {
  static ProviderRegistry* r = [] {
    auto* reg = new ProviderRegistry();
    register_builtin_providers(*reg);
    return reg;
  }();
  return *r;
}

void ProviderRegistry::add(const std::string& name, ProviderFactory make) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [n, f] : factories_)
    if (n == name) {
      f = std::move(make);
      return;
    }
  factories_.emplace_back(name, std::move(make));
}

namespace {

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

using RegisterFn = void (*)(ProviderRegistry&);

// Loads libdynrt_provider_<name>.so; returns an empty string or why not.
std::string load_plugin(const std::string& name, ProviderRegistry& r) {
  std::string file = "libdynrt_provider_" + name + ".so";
  std::string why;
  void* handle = open_plugin(file, why);
  if (!handle) return why;
  auto fn = reinterpret_cast<RegisterFn>(dlsym(handle, "dynrt_register_provider"));
  if (!fn) return file + " does not export dynrt_register_provider";
  fn(r);
  return {};
}

}  // namespace

const ExecutionProvider* ProviderRegistry::try_get(const std::string& name, std::string* why) {
  std::unique_lock<std::mutex> lock(mu_);
  for (const auto& [n, p] : made_)
    if (n == name) return p.get();
  if (!valid_name(name)) {
    if (why) *why = "not a provider name (lowercase letters, digits and '_')";
    return nullptr;
  }
  auto find = [&]() -> ProviderFactory {
    for (const auto& [n, f] : factories_)
      if (n == name) return f;
    return nullptr;
  };
  ProviderFactory make = find();
  if (!make) {
    lock.unlock();  // the plug-in registers itself through add()
    std::string err = load_plugin(name, *this);
    lock.lock();
    make = find();
    if (!make) {
      if (why) *why = err.empty() ? "its plug-in did not register it" : err;
      return nullptr;
    }
  }
  std::unique_ptr<ExecutionProvider> p;
  try {
    p = make();
  } catch (const Error& e) {
    if (why) *why = e.what();
    return nullptr;
  }
  if (!p) {
    if (why) *why = "not available on this machine";
    return nullptr;
  }
  made_.emplace_back(name, std::move(p));
  return made_.back().second.get();
}

const ExecutionProvider& ProviderRegistry::get(const std::string& name) {
  std::string why;
  const ExecutionProvider* p = try_get(name, &why);
  if (!p) throw Error(ErrorCode::kUnsupported, "execution provider '" + name + "' is not available: " + why);
  return *p;
}

const ExecutionProvider& cpu_provider() {
  static const ExecutionProvider& p = ProviderRegistry::instance().get("cpu");
  return p;
}

}  // namespace dynrt
