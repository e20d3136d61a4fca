// The providers built into libdynrt_runtime, one line each. Providers in
// their own shared library (libdynrt_provider_<name>.so) need no line here:
// ProviderRegistry loads them by name.
#include "backends/cpu/provider.h"
#include "backends/provider.h"

namespace dynrt {

void register_builtin_providers(ProviderRegistry& r) {
  r.add("cpu", cpu::make_cpu_provider);
}

}  // namespace dynrt
