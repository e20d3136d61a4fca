// dynrt runtime API (libdynrt_runtime): load engines and run them.
//
//   auto engine = dynrt::Engine::load("model.engine");
//   auto ctx = engine->create_context({.threads = 4});   // one per thread
//   auto outputs = ctx->run({{"input", tensor}});         // any shape inside a profile
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dynrt/error.h"
#include "dynrt/export.h"
#include "dynrt/types.h"

namespace dynrt {

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<std::string> dims;  // "batch", "3", "2*seq"; "?" where it depends on the variant
  // False for an output whose rank depends on input dims (an engine with
  // variants, Engine::describe), and for a sequence or optional whose
  // elements' rank is not known; dims is then empty.
  bool rank_known = true;
  // A sequence or optional (ExecutionContext::run_values): dtype and dims are
  // then its elements'.
  ValueKind kind = ValueKind::kTensor;
};

struct ContextOptions {
  // CPU threads for this context's runs. 0: OMP_NUM_THREADS when set, else
  // the number of physical cores.
  int threads = 0;
  // Plans (one per distinct input shape and CPU thread count: sizes, arena offsets, kernel
  // state) kept at once; the least recently used one is dropped beyond it.
  int64_t max_cached_plans = 64;
  // The caller's native stream for GPU work (a cudaStream_t for the cuda
  // provider), so that the context's work is ordered with the caller's. Null:
  // the context makes its own. A run returns once its outputs are written.
  void* stream = nullptr;
  // GPU work of each input shape is recorded (a CUDA graph) on its second
  // run and replayed on later runs, so small shapes are not bound by kernel
  // launches. Off: every run launches each kernel.
  bool capture_graphs = true;
  // The most memory one plan's arena may take in any one provider's memory
  // (bytes; 0: no limit). A run whose shapes need more fails with
  // ErrorCode::kOutOfMemory naming the size, before allocating it.
  int64_t max_arena_bytes = 0;
  // The largest single tensor a run may hold (an input, an intermediate or an
  // output; bytes; 0: the built-in bound of 2^46). Shapes that make one larger
  // fail with ErrorCode::kOutOfMemory naming the tensor and its size, before
  // anything is allocated for them.
  int64_t max_tensor_bytes = 0;
  // The most iterations one Loop node may run (1 to 2^20, the built-in bound):
  // a Loop whose condition stays true longer fails with ErrorCode::kInvalidInput
  // naming the node, so a model that loops on its input cannot hold a server.
  int64_t max_loop_iterations = int64_t{1} << 20;
  // CPU-only engines: while other processes keep the cores busy (runs whose
  // calling thread mostly waits for descheduled threads), runs drop to one
  // thread and try more again later (runtime/thread_governor.h); RunStats::
  // threads says how many a run used. Off: every run uses `threads`.
  // DYNRT_ADAPT_THREADS=0 in the environment also turns it off.
  bool adapt_threads = true;
};

// What the most recent run did besides running kernels.
struct RunStats {
  int64_t copies = 0;       // tensors copied between provider memories (host <-> device)
  int64_t copy_bytes = 0;
  int64_t arena_bytes = 0;  // arena bytes planned for this shape, all memories
  int64_t graph_replays = 0;  // recorded GPU work (CUDA graphs) launched whole in this run
  // Device memory dynrt holds after this run: the engine's weights, this
  // context's arenas and scratch space (not the CUDA context or libraries).
  int64_t device_bytes = 0;
  int threads = 0;  // CPU threads this run used (ContextOptions::adapt_threads)
};

class ExecutionContext;
struct EngineImpl;
struct EngineAccess;

// An immutable compiled model; share it across threads.
class DYNRT_API Engine {
 public:
  // Throws ErrorCode::kInvalidEngine for truncated, corrupt or wrong-version
  // files, kUnsupported when a provider the engine needs is not available.
  static std::shared_ptr<Engine> load(const std::string& engine_path);
  // The same from an engine file's bytes (an engine embedded in a program).
  static std::shared_ptr<Engine> load_from_memory(const std::string& engine_bytes);
  void save(const std::string& engine_path) const;

  std::vector<TensorInfo> inputs() const;
  std::vector<TensorInfo> outputs() const;
  // The execution providers the engine was partitioned over ("cpu", ...).
  std::vector<std::string> providers() const;
  // Human-readable report: inputs, symbols and ranges, profiles, ops,
  // partition, guards, planned memory at min/opt/max of each profile.
  std::string describe() const;
  std::unique_ptr<ExecutionContext> create_context(const ContextOptions& options = {}) const;

  ~Engine();

 private:
  friend struct EngineAccess;
  explicit Engine(std::shared_ptr<const EngineImpl> impl);
  std::shared_ptr<const EngineImpl> impl_;
};

struct ContextImpl;

// Per-thread execution state: the plans for the input shapes seen recently.
class DYNRT_API ExecutionContext {
 public:
  ~ExecutionContext();

  // Checks shapes against the profiles and guards, then runs. Inputs are
  // read in place; outputs are fresh tensors.
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs);
  // Same, writing into the caller's tensors where `outputs` has one (no copy:
  // kernels write there directly; shapes must match output_shapes()), and
  // adding fresh tensors for the outputs it lacks.
  void run(const std::map<std::string, Tensor>& inputs, std::map<std::string, Tensor>& outputs);

  // The same for engines with sequence or optional inputs or outputs (ONNX
  // seq(tensor) and optional types): any input may be given as a Value, and
  // every output comes back as one. Sequences are host tensors.
  std::map<std::string, Value> run_values(const std::map<std::string, Value>& inputs);

  // The output shapes these input shapes give, without running. A dimension
  // that depends on input data (NonZero, masks) is -1.
  std::map<std::string, std::vector<int64_t>> output_shapes(
      const std::map<std::string, std::vector<int64_t>>& input_shapes);

  // Plans made so far: one per distinct input shape, and per thread count when
  // adapt_threads changed it (a run at a cached shape plans nothing).
  int64_t plans_created() const;
  int64_t plans_cached() const;
  // Arena bytes of the most recent plan.
  int64_t arena_bytes() const;
  RunStats last_run_stats() const;
  int threads() const;

 private:
  friend class Engine;
  explicit ExecutionContext(std::unique_ptr<ContextImpl> impl);
  std::unique_ptr<ContextImpl> impl_;
};

}  // namespace dynrt
