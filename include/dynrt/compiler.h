// dynrt compiler API (libdynrt_compiler): ONNX model + profiles -> Engine.
//
//   dynrt::BuildConfig cfg;
//   cfg.profiles.push_back({.inputs = {}, .dims = {{"batch", {1, 4, 8}}}});
//   auto engine = dynrt::build("model.onnx", cfg);
//   engine->save("model.engine");
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dynrt/runtime.h"

namespace dynrt {

struct DimRange {
  int64_t min = 0, opt = 0, max = 0;
};

struct InputShapes {
  std::vector<int64_t> min, opt, max;
};

// One optimization profile: a box of allowed shapes, given per input
// (TensorRT style) and/or per named dimension (dim_param / symbol name).
struct Profile {
  std::map<std::string, InputShapes> inputs;
  std::map<std::string, DimRange> dims;
};

enum class Precision { kFp32, kFp16, kBf16 };

enum class Tuning { kOff, kOpt, kRange };

struct BuildConfig {
  std::vector<Profile> profiles;  // may be empty for fully static models
  // Relations between dimensions, e.g. "seq_b == seq_a", "dec = 2*enc".
  std::vector<std::string> relations;
  // Execution providers in order of preference: each node runs on the first
  // that supports it. A provider not available here is a build error.
  std::vector<std::string> providers = {"cpu"};
  Precision precision = Precision::kFp32;
  // GPU providers: after the kernels are made, run the engine at each
  // profile's opt shape (kRange: also at every combination of each dynamic
  // dimension's min, opt, max and the powers of two between, up to 64
  // shapes; past that, min, max and two shapes between each and opt) and
  // keep the fastest of the kernels' alternatives for those exact shapes
  // (cuBLASLt's candidate algorithms for each GEMM and cuDNN's for each
  // convolution, timed); every other shape takes the libraries' heuristic
  // pick. The CPU has nothing to tune.
  Tuning tune = Tuning::kOpt;
  // A file keeping those timings between builds (trtexec's timing cache): read
  // when it exists, written after the build; equal problems are timed once.
  std::string timing_cache;
  std::function<void(const std::string&)> progress;  // build progress messages
};

DYNRT_API std::shared_ptr<Engine> build(const std::string& onnx_path, const BuildConfig& config);
DYNRT_API std::shared_ptr<Engine> build_from_bytes(const std::string& onnx_bytes, const BuildConfig& config);
// What a model needs before building: its inputs with symbolic dims, the
// dynamic dimensions to give ranges, its ops.
DYNRT_API std::string describe_model(const std::string& onnx_path);
// Everything in a model that dynrt does not support, all at once, one line
// each naming the node, input or initializer (unsupported ops, control flow,
// element types); empty when nothing was found. Builds nothing.
DYNRT_API std::vector<std::string> check_model(const std::string& onnx_path);
// A model's graph inputs, dims as written in it (dim_param names or numbers).
DYNRT_API std::vector<TensorInfo> model_inputs_from_bytes(const std::string& onnx_bytes);

DYNRT_API const char* precision_name(Precision p);

}  // namespace dynrt
