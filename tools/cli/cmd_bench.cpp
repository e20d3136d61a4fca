// dynrt bench: latency of one engine at given shapes (or over a swept
// dimension), with per-iteration times and JSON for scripts.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <sstream>

#include "cli_common.h"
#include "npz.h"
#include "plot.h"

namespace dynrt::cli {
namespace {

struct BenchArgs {
  Common common;
  std::string engine, load_engine, shapes, inputs, io = "host", export_times, sweep, sweep_out;
  int64_t iterations = 20, warmup = 3;
  double duration = 0;
  ContextFlags context;
  bool json = false;
};

struct Stats {
  std::vector<double> ms;  // in run order
  double min = 0, mean = 0, median = 0, p90 = 0, p95 = 0, p99 = 0, max = 0;
};

Stats stats_of(std::vector<double> ms) {
  Stats s;
  s.ms = ms;
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size() - 1) + 0.5))]; };
  s.min = ms.front();
  s.max = ms.back();
  s.mean = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  s.median = pct(0.5);
  s.p90 = pct(0.9);
  s.p95 = pct(0.95);
  s.p99 = pct(0.99);
  return s;
}

// The first device provider of the engine, for --io device.
std::string device_of(const Engine& e) {
  for (const std::string& p : e.providers())
    if (p != "cpu") return p;
  throw UsageError("--io device needs an engine built for a GPU provider (--device cuda)");
}

// Runs warm-up, then at least `iterations` runs and at least `duration` seconds.
Stats measure(const Engine& engine, ExecutionContext& ctx, std::map<std::string, Tensor> inputs, const BenchArgs& a) {
  std::map<std::string, Tensor> outputs;  // filled by the first run, reused after (no allocation per run)
  if (a.io == "device") {
    std::string device = device_of(engine);
    std::map<std::string, std::vector<int64_t>> shapes;
    for (auto& [name, t] : inputs) {
      shapes[name] = t.shape();
      Tensor d = Tensor::on_device(device, t.dtype(), t.shape());
      Tensor::copy(t, d);
      t = d;
    }
    auto out_shapes = ctx.output_shapes(shapes);
    for (const TensorInfo& o : engine.outputs()) {
      const std::vector<int64_t>& dims = out_shapes.at(o.name);
      bool known = std::all_of(dims.begin(), dims.end(), [](int64_t d) { return d >= 0; });
      if (known) outputs[o.name] = Tensor::on_device(device, o.dtype, dims);  // else: sized by data, on the host
    }
  }
  for (int64_t i = 0; i < a.warmup; ++i) ctx.run(inputs, outputs);
  std::vector<double> ms;
  auto start = std::chrono::steady_clock::now();
  while (static_cast<int64_t>(ms.size()) < a.iterations || ms_since(start) < a.duration * 1000.0) {
    auto t0 = std::chrono::steady_clock::now();
    ctx.run(inputs, outputs);
    ms.push_back(ms_since(t0));
  }
  return stats_of(std::move(ms));
}

nlohmann::json to_json(const std::string& shapes, const Stats& s, const ExecutionContext& ctx) {
  RunStats r = ctx.last_run_stats();
  return {{"shapes", shapes},       {"iterations", s.ms.size()}, {"min_ms", s.min},       {"mean_ms", s.mean},
          {"median_ms", s.median},  {"p90_ms", s.p90},           {"p95_ms", s.p95},       {"p99_ms", s.p99},
          {"max_ms", s.max},        {"throughput_per_s", 1000.0 / s.median},          {"plans", ctx.plans_created()},
          {"graph_replays", r.graph_replays}, {"copies", r.copies}, {"arena_bytes", r.arena_bytes},
          {"device_bytes", r.device_bytes}, {"threads", r.threads}};
}

void print_text(const std::string& shapes, const Stats& s) {
  std::cout << "shapes " << shapes << ": " << s.ms.size() << " iterations, mean " << s.mean << " ms, min " << s.min
            << " ms, median " << s.median << " ms, p90 " << s.p90 << " ms, p95 " << s.p95 << " ms, p99 " << s.p99
            << " ms, max " << s.max << " ms, " << 1000.0 / s.median << " runs/s\n";
}

std::string shapes_text(const std::map<std::string, Tensor>& inputs) {
  std::ostringstream t;
  const char* sep = "";
  for (const auto& [name, x] : inputs) {
    t << sep << name << ":";
    sep = ",";
    for (size_t i = 0; i < x.shape().size(); ++i) t << (i ? "x" : "") << x.shape()[i];
  }
  return t.str();
}

// --sweep NAME=LO:HI:STEP: the base shapes with every dim the engine names NAME set to each value.
void run_sweep(const Engine& engine, ExecutionContext& ctx, const BenchArgs& a) {
  size_t eq = a.sweep.find('=');
  std::vector<std::string> r = eq == std::string::npos ? std::vector<std::string>{} : split_list(a.sweep.substr(eq + 1), ':');
  if (r.size() < 2 || r.size() > 3) throw UsageError("--sweep wants NAME=LO:HI[:STEP], got '" + a.sweep + "'");
  std::string dim = a.sweep.substr(0, eq);
  int64_t lo = parse_int(r[0], "sweep start"), hi = parse_int(r[1], "sweep end"),
          step = r.size() == 3 ? parse_int(r[2], "sweep step") : 1;
  if (lo < 0 || hi < lo || step < 1) throw UsageError("--sweep range " + a.sweep.substr(eq + 1) + " is empty or backwards");
  auto base = a.shapes.empty() ? std::map<std::string, std::vector<int64_t>>{} : parse_shape_list(a.shapes);
  bool named = false;
  for (const TensorInfo& in : engine.inputs())
    for (const std::string& d : in.dims) named = named || d == dim;
  if (!named) throw UsageError("--sweep: no input of this engine has a dimension named '" + dim + "'");
  std::string prefix = a.sweep_out.empty() ? "sweep_" + dim : a.sweep_out;
  std::ofstream csv(prefix + ".csv");
  if (!csv) throw Error(ErrorCode::kIo, "cannot write '" + prefix + ".csv'");
  csv << dim << ",shapes,median_ms,mean_ms,p90_ms,min_ms,max_ms\n";
  std::vector<std::pair<double, double>> points;
  for (int64_t v = lo; v <= hi; v += step) {
    std::map<std::string, std::vector<int64_t>> dims = base;
    for (const TensorInfo& in : engine.inputs()) {
      std::vector<int64_t> d = dims.count(in.name) ? dims[in.name] : std::vector<int64_t>(in.dims.size(), -1);
      if (d.size() != in.dims.size())
        throw UsageError("--shapes gives " + in.name + " " + std::to_string(d.size()) + " dims; it has " +
                         std::to_string(in.dims.size()));
      for (size_t i = 0; i < d.size(); ++i) {
        if (in.dims[i] == dim) d[i] = v;
        else if (d[i] < 0 && in.dims[i].find_first_not_of("0123456789") == std::string::npos) d[i] = std::stoll(in.dims[i]);
        else if (d[i] < 0)
          throw UsageError("--sweep: give --shapes for input '" + in.name + "' (its dim '" + in.dims[i] + "' is not swept)");
      }
      dims[in.name] = d;
    }
    auto inputs = random_inputs(engine, dims, 0);
    std::string shapes = shapes_text(inputs);
    Stats s = measure(engine, ctx, inputs, a);
    if (a.json) std::cout << to_json(shapes, s, ctx).dump() << "\n";
    else if (a.common.level() != Verbosity::kQuiet) print_text(shapes, s);
    csv << v << ",\"" << shapes << "\"," << s.median << "," << s.mean << "," << s.p90 << "," << s.min << "," << s.max << "\n";
    points.emplace_back(static_cast<double>(v), s.median);
  }
  write_svg_plot(prefix + ".svg", "dynrt bench: median latency against " + dim, dim, "ms", points);
  if (a.common.level() != Verbosity::kQuiet && !a.json)
    std::cout << "wrote " << prefix << ".csv and " << prefix << ".svg\n";
}

void run_bench(const BenchArgs& a) {
  if (a.engine.empty() == a.load_engine.empty()) throw UsageError("bench needs one engine: ENGINE or --loadEngine=ENGINE");
  if (a.iterations < 1) throw UsageError("--iterations must be at least 1, got " + std::to_string(a.iterations));
  if (a.warmup < 0) throw UsageError("--warmup must be 0 or more, got " + std::to_string(a.warmup));
  if (a.duration < 0) throw UsageError("--duration must be 0 or more seconds");
  if (a.io != "host" && a.io != "device") throw UsageError("bad --io '" + a.io + "': expected host or device");
  auto engine = Engine::load(a.engine.empty() ? a.load_engine : a.engine);
  auto ctx = engine->create_context(a.context.options());
  if (!a.sweep.empty()) {
    if (!a.inputs.empty() || !a.export_times.empty()) throw UsageError("--sweep takes --shapes, not --inputs or --export-times");
    run_sweep(*engine, *ctx, a);
    return;
  }
  if (a.inputs.empty() == a.shapes.empty()) throw UsageError("bench needs --shapes or --inputs IN.npz (one of them)");
  auto inputs = a.inputs.empty() ? random_inputs(*engine, parse_shape_list(a.shapes), 0) : read_npz(a.inputs, raw_input_types(*engine));
  std::string shapes = a.shapes.empty() ? shapes_text(inputs) : a.shapes;
  Stats s = measure(*engine, *ctx, inputs, a);
  nlohmann::json j = to_json(shapes, s, *ctx);
  if (a.json) std::cout << j.dump() << "\n";
  else if (a.common.level() != Verbosity::kQuiet) print_text(shapes, s);
  if (!a.export_times.empty()) {
    j["times_ms"] = s.ms;
    std::ofstream f(a.export_times);
    if (!f || !(f << j.dump(1) << "\n")) throw Error(ErrorCode::kIo, "cannot write '" + a.export_times + "'");
  }
}

}  // namespace

void add_bench(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Time an engine at given shapes, or over a range of one dimension.");
  cmd->add_option("engine", a->engine, "the engine file");
  cmd->add_option("--loadEngine", a->load_engine, "the engine file (trtexec's spelling)");
  cmd->add_option("--shapes", a->shapes, "random inputs of these shapes, in:8x3x224x224,...");
  cmd->add_option("--inputs", a->inputs, "inputs from an .npz file");
  cmd->add_option("--iterations", a->iterations, "timed runs (at least; default 20)");
  cmd->add_option("--warmup", a->warmup, "untimed runs first (default 3)");
  cmd->add_option("--duration", a->duration, "keep timing for at least this many seconds");
  add_context_flags(*cmd, a->context);
  cmd->add_option("--io", a->io, "host (default) or device: inputs and outputs in GPU memory, no copies timed");
  cmd->add_flag("--json", a->json, "one line of JSON per measurement");
  cmd->add_option("--export-times", a->export_times, "write every iteration's time and the statistics to a JSON file");
  cmd->add_option("--sweep", a->sweep, "NAME=LO:HI[:STEP]: time each value of the dimension NAME (other dims from --shapes)");
  cmd->add_option("--sweep-out", a->sweep_out, "file prefix of the sweep's .csv and .svg (default sweep_NAME)");
  add_verbosity(*cmd, a->common);
  refuse_flags_as_values(*cmd);
  cmd->callback([a] { run_bench(*a); });
}

}  // namespace dynrt::cli
