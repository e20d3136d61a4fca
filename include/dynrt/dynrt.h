// dynrt public C++ API.
//
//   dynrt::BuildConfig cfg;
//   cfg.profiles.push_back({.dims = {{"batch", {1, 4, 8}}}});
//   auto engine = dynrt::Engine::build("model.onnx", cfg);
//   engine->save("model.engine");
//   auto ctx = engine->create_context();          // one per thread
//   auto outputs = ctx->run({{"input", tensor}});  // any shape inside a profile
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dynrt/error.h"
#include "dynrt/types.h"

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

struct BuildConfig {
  std::vector<Profile> profiles;  // may be empty for fully static models
  // Relations between dimensions, e.g. "seq_b == seq_a", "dec = 2*enc".
  std::vector<std::string> relations;
  std::function<void(const std::string&)> progress;  // build progress messages
};

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<std::string> dims;  // "batch", "3", "2*seq"
};

class ExecutionContext;
struct EngineImpl;

// An immutable compiled model; share it across threads.
class Engine {
 public:
  static std::shared_ptr<Engine> build(const std::string& onnx_path, const BuildConfig& config);
  static std::shared_ptr<Engine> build_from_bytes(const std::string& onnx_bytes, const BuildConfig& config);
  static std::shared_ptr<Engine> load(const std::string& engine_path);
  void save(const std::string& engine_path) const;

  std::vector<TensorInfo> inputs() const;
  std::vector<TensorInfo> outputs() const;
  // Human-readable report: inputs, symbols and ranges, profiles, ops,
  // guards, planned memory at min/opt/max of each profile.
  std::string describe() const;
  std::unique_ptr<ExecutionContext> create_context() const;

  explicit Engine(std::shared_ptr<EngineImpl> impl);
  ~Engine();
  const EngineImpl& impl() const { return *impl_; }

 private:
  std::shared_ptr<EngineImpl> impl_;
};

struct ContextImpl;

// Per-thread execution state: the plans for every input shape seen so far.
class ExecutionContext {
 public:
  explicit ExecutionContext(std::shared_ptr<const EngineImpl> engine);
  ~ExecutionContext();

  // Checks shapes against the profiles and guards, then runs. Inputs are
  // read in place; returned outputs are fresh tensors.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs);

  // Number of distinct input shapes planned so far (a second run at a seen
  // shape does no planning).
  int64_t plans_created() const;
  // Arena bytes of the most recent plan.
  int64_t arena_bytes() const;

 private:
  std::unique_ptr<ContextImpl> impl_;
};

// Parse "1x3x224x224" and "name:1x3x224x224,mask:1x128".
std::vector<int64_t> parse_dims(const std::string& text);
std::map<std::string, std::vector<int64_t>> parse_shape_list(const std::string& text);

}  // namespace dynrt
