// dynrt run: one engine, one set of inputs (an npz file or random at given
// shapes); prints a summary of each output and the first/second latency.
#include <iostream>
#include <memory>

#include "cli_common.h"
#include "npz.h"

namespace dynrt::cli {
namespace {

struct RunArgs {
  Common common;
  std::string engine, load_engine, inputs, shapes, outputs;
  unsigned seed = 0;
  ContextFlags context;
};

void run_run(const RunArgs& a) {
  if (a.engine.empty() == a.load_engine.empty()) throw UsageError("run needs one engine: ENGINE or --loadEngine=ENGINE");
  if (!a.inputs.empty() && !a.shapes.empty()) throw UsageError("run takes --inputs IN.npz or --shapes, not both");
  auto engine = Engine::load(a.engine.empty() ? a.load_engine : a.engine);
  for (const TensorInfo& in : engine->inputs())
    if (in.kind != ValueKind::kTensor || in.dtype == DType::kString)
      throw Error(ErrorCode::kUnsupported, "input '" + in.name + "' is a " +
                                               (in.kind == ValueKind::kTensor ? "tensor of strings" : value_kind_name(in.kind)) +
                                               "; dynrt run reads tensors of numbers from .npz files: run this engine from Python "
                                               "(lists of arrays, None, arrays of str) or C++ (ExecutionContext::run_values)");
  if (a.inputs.empty() && a.shapes.empty() && !engine->inputs().empty())  // an engine without inputs needs neither
    throw UsageError("run needs --inputs IN.npz or --shapes (one of them)");
  std::map<std::string, Tensor> inputs =
      a.inputs.empty() ? random_inputs(*engine, parse_shape_list(a.shapes), a.seed) : read_npz(a.inputs, raw_input_types(*engine));
  // Sequence and optional outputs come back as values: each tensor of a
  // sequence is written as NAME/0, NAME/1, ...; an optional without a value
  // and a tensor of strings are left out.
  std::map<std::string, Value> values;
  for (const auto& [name, t] : inputs) values.emplace(name, Value(t));
  auto ctx = engine->create_context(a.context.options());
  auto t0 = std::chrono::steady_clock::now();
  auto outputs = ctx->run_values(values);
  double first = ms_since(t0);
  t0 = std::chrono::steady_clock::now();
  outputs = ctx->run_values(values);
  double second = ms_since(t0);
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, v] : outputs) {
    if (v.holds() == Value::Holds::kTensor) tensors.emplace(name, v.tensor());
    if (v.holds() != Value::Holds::kSequence) continue;
    for (size_t i = 0; i < v.sequence().size(); ++i) tensors.emplace(name + "/" + std::to_string(i), v.sequence()[i]);
  }
  if (a.common.level() != Verbosity::kQuiet) {
    for (const auto& [name, v] : outputs) {
      if (v.holds() == Value::Holds::kTensor) continue;
      std::cout << "output " << printable(name) << ": "
                << (v.holds() == Value::Holds::kNothing ? std::string("none (an optional without a value)")
                    : v.holds() == Value::Holds::kStrings
                        ? "string " + dims_str(v.shape()) + " (not written to .npz files, which hold numbers)"
                        : "sequence of " + std::to_string(v.sequence().size()) + " tensors")
                << "\n";
    }
    for (const auto& [name, t] : tensors) std::cout << "output " << printable(name) << ": " << summary(t) << "\n";
    std::cout << "latency: first run " << first << " ms (plans for the new shape), second run " << second << " ms\n";
    RunStats stats = ctx->last_run_stats();
    if (stats.copies > 0)
      std::cout << "copies between provider memories per run: " << stats.copies << " (" << stats.copy_bytes << " bytes)\n";
  }
  if (!a.outputs.empty()) write_npz(a.outputs, tensors);
}

}  // namespace

void add_run(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Run an engine once on given or random inputs and summarise the outputs.");
  cmd->add_option("engine", a->engine, "the engine file");
  cmd->add_option("--loadEngine", a->load_engine, "the engine file (trtexec's spelling)");
  cmd->add_option("--inputs", a->inputs, "inputs from an .npz file");
  cmd->add_option("--shapes", a->shapes, "random inputs of these shapes, in:2x3x224x224,...");
  cmd->add_option("--outputs", a->outputs, "write the outputs to an .npz file");
  cmd->add_option("--seed", a->seed, "seed of the random inputs");
  add_context_flags(*cmd, a->context);
  add_verbosity(*cmd, a->common);
  refuse_flags_as_values(*cmd);
  cmd->callback([a] { run_run(*a); });
}

}  // namespace dynrt::cli
