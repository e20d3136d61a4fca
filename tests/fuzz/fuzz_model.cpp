// libFuzzer target: ONNX models through import, shape inference, passes and
// build (every named dim given the range 1:2:4), then one run.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    dynrt::BuildConfig cfg;
    dynrt::Profile p;
    for (const dynrt::TensorInfo& t : dynrt::model_inputs_from_bytes(bytes))
      for (const std::string& d : t.dims)
        if (d.empty() || d.find_first_not_of("0123456789") != std::string::npos) p.dims[d] = {1, 2, 4};
    if (!p.dims.empty()) cfg.profiles.push_back(p);
    dynrt::fuzz::run_once(dynrt::build_from_bytes(bytes, cfg));
  } catch (const dynrt::Error&) {
  }
  return 0;
}
