// libFuzzer target: the .npz/.npy reader of the command line.
#include "../../tools/cli/npz.h"
#include "dynrt/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)dynrt::read_npz_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npz");
  } catch (const dynrt::Error&) {
  }
  return 0;
}
