// dynrt build: an ONNX model and optimization profiles -> an engine file.
// Shapes and dims belong to the profile opened by the last --profile before
// them, so the options are read in the order they were given.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <set>

#include "cli_common.h"

namespace dynrt::cli {
namespace {

struct BuildArgs {
  Common common;
  std::string model, onnx, output, providers, device, precision, timing_cache, tune;
  std::vector<std::string> min_shapes, opt_shapes, max_shapes, dims, relations;
  int profiles = 0;
  bool fp16 = false, bf16 = false, no_tune = false;
};

DimRange parse_dim_range(const std::string& name, const std::string& range, const std::string& text) {
  std::vector<int64_t> r;
  for (const std::string& part : split_list(range, ':')) r.push_back(parse_int(part, "dimension range for '" + name + "'"));
  if (r.size() == 1) r = {r[0], r[0], r[0]};
  if (r.size() == 2) r = {r[0], r[1], r[1]};  // MIN:MAX, opt = max
  if (r.size() != 3) throw UsageError("--dim wants NAME=MIN:OPT:MAX, got '" + text + "'");
  return DimRange{r[0], r[1], r[2]};
}

// The profiles, walking the options in the order given (--profile opens the next one).
void read_profiles(const CLI::App& cmd, BuildConfig& cfg) {
  std::vector<std::map<std::string, std::vector<int64_t>>> mins(1), opts(1), maxs(1);
  cfg.profiles.assign(1, Profile{});
  bool used = false;
  std::map<const CLI::Option*, size_t> seen;
  for (const CLI::Option* o : cmd.parse_order()) {
    size_t k = seen[o]++;
    const std::string name = o->get_name();
    const std::string v = k < o->results().size() ? o->results()[k] : "";
    if (name == "--profile") {
      cfg.profiles.emplace_back();
      mins.emplace_back();
      opts.emplace_back();
      maxs.emplace_back();
    } else if (name == "--min-shapes" || name == "--opt-shapes" || name == "--max-shapes") {
      auto& m = name == "--min-shapes" ? mins : name == "--opt-shapes" ? opts : maxs;
      m.back() = parse_shape_list(v);
      used = true;
    } else if (name == "--dim") {
      size_t eq = v.find('=');
      if (eq == std::string::npos) throw UsageError("--dim wants NAME=MIN:OPT:MAX, got '" + v + "'");
      std::string dim = v.substr(0, eq);
      cfg.profiles.back().dims[dim] = parse_dim_range(dim, v.substr(eq + 1), v);
      used = true;
    }
  }
  for (size_t p = 0; p < cfg.profiles.size(); ++p) {
    std::set<std::string> names;
    for (auto* m : {&mins[p], &opts[p], &maxs[p]})
      for (const auto& [n, d] : *m) names.insert(n);
    for (const std::string& n : names) {
      // Missing min/max default to opt (and opt to max), as trtexec does.
      auto pick = [&](auto& m, auto& f1, auto& f2) -> std::vector<int64_t> {
        if (m.count(n)) return m.at(n);
        if (f1.count(n)) return f1.at(n);
        return f2.at(n);
      };
      cfg.profiles[p].inputs[n] = InputShapes{pick(mins[p], opts[p], maxs[p]), pick(opts[p], maxs[p], mins[p]),
                                              pick(maxs[p], opts[p], mins[p])};
    }
  }
  if (!used) cfg.profiles.clear();
}

// Progress: every message with --verbose; one line rewritten in place when
// stderr is a terminal; nothing otherwise.
std::function<void(const std::string&)> progress_for(Verbosity v, bool& line_open) {
  if (v == Verbosity::kVerbose) return [](const std::string& msg) { std::cerr << "[dynrt] " << msg << "\n"; };
  if (v == Verbosity::kQuiet || !isatty(STDERR_FILENO)) return nullptr;
  return [&line_open](const std::string& msg) {
    std::cerr << "\r\033[K[dynrt] " << msg << std::flush;
    line_open = true;
  };
}

void run_build(const CLI::App& cmd, const BuildArgs& a) {
  if (a.model.empty() == a.onnx.empty()) throw UsageError("build needs one model: MODEL.onnx or --onnx=MODEL.onnx");
  BuildConfig cfg;
  read_profiles(cmd, cfg);
  cfg.relations = a.relations;
  if (!a.providers.empty() && !a.device.empty()) throw UsageError("give --device or --providers, not both");
  if (!a.providers.empty()) cfg.providers = split_list(a.providers);
  if (a.device == "cpu") cfg.providers = {"cpu"};
  else if (a.device == "cuda") cfg.providers = {"cuda", "cpu"};
  else if (!a.device.empty()) throw UsageError("bad --device '" + a.device + "': expected cpu or cuda");
  if (int(a.fp16) + int(a.bf16) + int(!a.precision.empty()) > 1)
    throw UsageError("give one of --precision, --fp16, --bf16");
  if (!a.precision.empty()) cfg.precision = parse_precision(a.precision);
  if (a.fp16) cfg.precision = Precision::kFp16;
  if (a.bf16) cfg.precision = Precision::kBf16;
  if (a.no_tune && !a.tune.empty()) throw UsageError("give --tune or --no-tune, not both");
  if (a.no_tune || a.tune == "off") cfg.tune = Tuning::kOff;
  else if (a.tune == "range") cfg.tune = Tuning::kRange;
  else if (!a.tune.empty() && a.tune != "opt") throw UsageError("bad --tune '" + a.tune + "': expected off, opt or range");
  cfg.timing_cache = a.timing_cache;
  bool line_open = false;
  cfg.progress = progress_for(a.common.level(), line_open);
  auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<Engine> engine;
  try {
    engine = build(a.model.empty() ? a.onnx : a.model, cfg);
  } catch (...) {
    if (line_open) std::cerr << "\r\033[K";
    throw;
  }
  if (line_open) std::cerr << "\r\033[K";
  engine->save(a.output);
  if (a.common.level() != Verbosity::kQuiet) std::cout << "built " << a.output << " in " << ms_since(t0) << " ms\n";
}

}  // namespace

void add_build(CLI::App& app) {
  auto a = std::make_shared<BuildArgs>();
  CLI::App* cmd = app.add_subcommand("build", "Build an engine for a range of input shapes from an ONNX model.");
  cmd->add_option("model", a->model, "the ONNX model");
  cmd->add_option("--onnx", a->onnx, "the ONNX model (trtexec's spelling)");
  cmd->add_option("-o,--output,--saveEngine", a->output, "where to write the engine")->required();
  cmd->add_option("--min-shapes,--minShapes", a->min_shapes, "smallest shapes, in:1x3x224x224,...")->allow_extra_args(false);
  cmd->add_option("--opt-shapes,--optShapes", a->opt_shapes, "shapes to tune for")->allow_extra_args(false);
  cmd->add_option("--max-shapes,--maxShapes", a->max_shapes, "largest shapes")->allow_extra_args(false);
  cmd->add_option("--dim", a->dims, "a named dimension's range, NAME=MIN:OPT:MAX (or MIN:MAX, or N)")
      ->allow_extra_args(false);
  cmd->add_option("--relation", a->relations, "a relation between dims, e.g. 'dec=2*enc'")->allow_extra_args(false);
  cmd->add_flag("--profile", a->profiles, "start another optimization profile: shapes and dims after it belong to it");
  cmd->add_option("--device", a->device, "cpu, or cuda (the GPU, with the CPU for what it does not support)");
  cmd->add_option("--providers", a->providers, "execution providers in order of preference, e.g. cuda,cpu");
  cmd->add_option("--precision", a->precision,
                  "fp32 (default), fp16 (GPU providers) or bf16 (GPU providers; on the CPU, bf16 products in "
                  "MatMul/Gemm/Conv on CPUs with AVX512-BF16 or AMX)");
  cmd->add_flag("--fp16", a->fp16, "= --precision fp16");
  cmd->add_flag("--bf16", a->bf16, "= --precision bf16");
  cmd->add_option("--timing-cache,--timingCacheFile", a->timing_cache,
                  "GPU: keep the tuning's timings in this file (read if it exists, then updated), so rebuilds "
                  "do not time again");
  cmd->add_option("--tune", a->tune,
                  "GPU: time the GEMMs' candidate algorithms and keep the fastest at each profile's opt shape "
                  "(opt, the default), also at min, max and the powers of two between, per dimension (range), or not (off)");
  cmd->add_flag("--no-tune", a->no_tune, "= --tune off");
  add_verbosity(*cmd, a->common);
  refuse_flags_as_values(*cmd);
  cmd->callback([cmd, a] { run_build(*cmd, *a); });
}

}  // namespace dynrt::cli
