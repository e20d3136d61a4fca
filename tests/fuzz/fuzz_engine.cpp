// libFuzzer target: engine files (Engine::load_from_memory, describe, one run
// at small shapes). Only dynrt::Error may come out; sanitizers catch the rest.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto e = dynrt::Engine::load_from_memory(std::string(reinterpret_cast<const char*>(data), size));
    (void)e->describe();
    dynrt::fuzz::run_once(e);
  } catch (const dynrt::Error&) {
  }
  return 0;
}
