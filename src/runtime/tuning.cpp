#include "runtime/tuning.h"

#include "runtime/context_impl.h"

namespace dynrt {

std::vector<std::string> run_for_tuning(std::shared_ptr<const EngineImpl> engine,
                                        const std::vector<std::vector<std::vector<int64_t>>>& shapes,
                                        TimingCache& cache) {
  ContextOptions options;
  options.capture_graphs = false;  // each shape runs once
  ContextImpl ctx(engine, options);
  ctx.tuning = &cache;
  const ir::Graph& g = engine->graph;
  std::vector<std::string> errors;
  for (const auto& shape : shapes) {
    try {
      if (shape.size() != g.inputs.size()) throw Error(ErrorCode::kInternal, "tuning: one shape per graph input");
      std::map<std::string, Tensor> inputs, outputs;
      for (size_t i = 0; i < g.inputs.size(); ++i) {
        const ir::Value& v = g.values[static_cast<size_t>(g.inputs[i])];
        inputs.emplace(v.name, Tensor(v.dtype, shape[i]));
      }
      ctx.run(inputs, outputs);
      errors.emplace_back();
    } catch (const std::exception& e) {
      errors.emplace_back(e.what());
    }
  }
  return errors;
}

}  // namespace dynrt
