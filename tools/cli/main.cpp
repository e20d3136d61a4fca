// The `dynrt` command line: build, run, bench, inspect (flags in the style of trtexec).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>

#include "dynrt/dynrt.h"
#include "npz.h"

using namespace dynrt;

namespace {

const char* kUsage = R"(usage:
  dynrt build MODEL.onnx -o ENGINE [--min-shapes in:1x3x224x224,...] [--opt-shapes ...] [--max-shapes ...]
                                   [--dim NAME=MIN:OPT:MAX]... [--relation 'b=2*a']... [--profile ...]
                                   [--device cpu|cuda | --providers cpu|NAME,cpu,...] [--precision fp32]
      --profile starts another optimization profile; shapes/dims after it belong to it.
      --device cuda: run on the GPU, with the CPU for what the GPU provider does not support (= --providers cuda,cpu).
      --providers: execution providers in order of preference; each node runs on the first that supports it.
  dynrt run ENGINE (--inputs IN.npz | --shapes in:2x3x224x224,...) [--outputs OUT.npz] [--seed N] [--threads N]
  dynrt bench ENGINE --shapes in:8x3x224x224,... [--iterations N] [--warmup N] [--threads N] [--io host|device] [--json]
      --io device: inputs and outputs in the GPU provider's memory (no copies through the host are timed).
  dynrt inspect MODEL.onnx|ENGINE
  dynrt --version
  Every subcommand takes --help.
)";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> flags;  // in order (profiles care)

  bool has(const std::string& f) const {
    return std::any_of(flags.begin(), flags.end(), [&](const auto& p) { return p.first == f; });
  }
  std::string get(const std::string& f, const std::string& def = "") const {
    for (const auto& [k, v] : flags)
      if (k == f) return v;
    return def;
  }
};

// Flags each subcommand takes: value flags, then flags without a value.
struct FlagSet {
  const char* command;
  std::vector<std::string> values, switches;
};

const FlagSet kBuildFlags{"build",
                          {"-o", "--min-shapes", "--opt-shapes", "--max-shapes", "--dim", "--relation", "--providers",
                           "--device", "--precision"},
                          {"--profile"}};
const FlagSet kRunFlags{"run", {"--inputs", "--shapes", "--outputs", "--seed", "--threads"}, {}};
const FlagSet kBenchFlags{"bench", {"--shapes", "--iterations", "--warmup", "--threads", "--io"}, {"--json"}};
const FlagSet kInspectFlags{"inspect", {}, {}};

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// Unknown flags and flags missing their value are usage errors that name the
// flag (a value never starts with "--").
Args parse_args(int argc, char** argv, int start, const FlagSet& known) {
  Args a;
  for (int i = start; i < argc; ++i) {
    std::string s = argv[i];
    bool flag = s.rfind("--", 0) == 0 || (s.size() > 1 && s[0] == '-' && !std::isdigit(static_cast<unsigned char>(s[1])));
    if (!flag) {
      a.positional.push_back(s);
      continue;
    }
    std::string value;
    bool inline_value = false;
    if (size_t eq = s.find('='); eq != std::string::npos && s.rfind("--", 0) == 0 && s != "--dim") {
      value = s.substr(eq + 1);
      s = s.substr(0, eq);
      inline_value = true;
    }
    if (contains(known.switches, s)) {
      if (inline_value) throw UsageError("flag " + s + " takes no value");
      a.flags.emplace_back(s, "");
      continue;
    }
    if (!contains(known.values, s)) throw UsageError(std::string("unknown flag ") + s + " for '" + known.command + "'");
    if (!inline_value) {
      if (i + 1 >= argc || std::string(argv[i + 1]).rfind("--", 0) == 0) throw UsageError("flag " + s + " needs a value");
      value = argv[++i];
    }
    a.flags.emplace_back(s, value);
  }
  return a;
}

int64_t parse_int(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    int64_t v = std::stoll(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  throw Error(ErrorCode::kInvalidConfig, "bad " + what + " '" + s + "'");
}

std::vector<int64_t> parse_dims(const std::string& text) {
  std::vector<int64_t> dims;
  if (text.empty() || text == "scalar") return dims;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, 'x')) {
    try {
      size_t used = 0;
      int64_t d = std::stoll(part, &used);
      if (used != part.size() || d < 0) throw std::invalid_argument("");
      dims.push_back(d);
    } catch (const std::exception&) {
      throw Error(ErrorCode::kInvalidConfig, "bad shape '" + text + "': expected dims like 1x3x224x224");
    }
  }
  return dims;
}

// "name:1x3x224x224,mask:1x128"
std::map<std::string, std::vector<int64_t>> parse_shape_list(const std::string& text) {
  std::map<std::string, std::vector<int64_t>> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw Error(ErrorCode::kInvalidConfig, "bad shape list item '" + item + "': expected NAME:DIMS like input:1x3x224x224");
    out[item.substr(0, colon)] = parse_dims(item.substr(colon + 1));
  }
  return out;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::kFp32;
  if (s == "fp16") return Precision::kFp16;
  if (s == "bf16") return Precision::kBf16;
  throw Error(ErrorCode::kInvalidConfig, "bad --precision '" + s + "': expected fp32, fp16 or bf16");
}

ContextOptions context_options(const Args& a) {
  ContextOptions o;
  o.threads = static_cast<int>(parse_int(a.get("--threads", "0"), "thread count"));
  return o;
}

BuildConfig config_from(const Args& a) {
  BuildConfig cfg;
  std::vector<std::map<std::string, std::vector<int64_t>>> mins(1), opts(1), maxs(1);
  cfg.profiles.emplace_back();
  bool used = false;
  for (const auto& [k, v] : a.flags) {
    if (k == "--profile") {
      cfg.profiles.emplace_back();
      mins.emplace_back();
      opts.emplace_back();
      maxs.emplace_back();
    } else if (k == "--min-shapes") {
      mins.back() = parse_shape_list(v);
      used = true;
    } else if (k == "--opt-shapes") {
      opts.back() = parse_shape_list(v);
      used = true;
    } else if (k == "--max-shapes") {
      maxs.back() = parse_shape_list(v);
      used = true;
    } else if (k == "--dim") {
      size_t eq = v.find('=');
      if (eq == std::string::npos) throw UsageError("--dim wants NAME=MIN:OPT:MAX, got '" + v + "'");
      std::string name = v.substr(0, eq), range = v.substr(eq + 1);
      std::vector<int64_t> r;
      std::stringstream ss(range);
      std::string part;
      while (std::getline(ss, part, ':')) r.push_back(parse_int(part, "dimension range for '" + name + "'"));
      if (r.size() == 1) r = {r[0], r[0], r[0]};
      if (r.size() == 2) r = {r[0], r[1], r[1]};  // MIN:MAX, opt = max
      if (r.size() != 3) throw UsageError("--dim wants NAME=MIN:OPT:MAX, got '" + v + "'");
      cfg.profiles.back().dims[name] = DimRange{r[0], r[1], r[2]};
      used = true;
    } else if (k == "--relation") {
      cfg.relations.push_back(v);
    } else if (k == "--providers") {
      if (a.has("--device")) throw UsageError("give --device or --providers, not both");
      cfg.providers = split_list(v);
    } else if (k == "--device") {
      if (v == "cpu") cfg.providers = {"cpu"};
      else if (v == "cuda") cfg.providers = {"cuda", "cpu"};
      else throw UsageError("bad --device '" + v + "': expected cpu or cuda");
    } else if (k == "--precision") {
      cfg.precision = parse_precision(v);
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
  cfg.progress = [](const std::string& msg) { std::cerr << "[dynrt] " << msg << "\n"; };
  return cfg;
}

Tensor random_tensor(DType t, const std::vector<int64_t>& dims, std::mt19937& rng) {
  Tensor x(t, dims);
  int64_t n = x.numel();
  std::uniform_real_distribution<float> uf(-1.f, 1.f);
  std::uniform_int_distribution<int> ui(0, 1);
  for (int64_t i = 0; i < n; ++i) {
    switch (t) {
      case DType::kFloat32: x.data_as<float>()[i] = uf(rng); break;
      case DType::kFloat64: x.data_as<double>()[i] = uf(rng); break;
      case DType::kInt64: x.data_as<int64_t>()[i] = ui(rng); break;
      case DType::kInt32: x.data_as<int32_t>()[i] = ui(rng); break;
      case DType::kBool: case DType::kUInt8: x.data_as<uint8_t>()[i] = static_cast<uint8_t>(ui(rng)); break;
      default: break;
    }
  }
  return x;
}

std::map<std::string, Tensor> random_inputs(const Engine& e, const std::string& shapes, unsigned seed) {
  auto dims = parse_shape_list(shapes);
  std::mt19937 rng(seed);
  std::map<std::string, Tensor> inputs;
  for (const TensorInfo& in : e.inputs()) {
    auto it = dims.find(in.name);
    std::vector<int64_t> d;
    if (it != dims.end()) {
      d = it->second;
    } else {
      for (const std::string& s : in.dims) {
        if (s.find_first_not_of("0123456789") != std::string::npos)
          throw Error(ErrorCode::kInvalidInput, "--shapes gives no shape for dynamic input '" + in.name + "'");
        d.push_back(std::stoll(s));
      }
    }
    inputs[in.name] = random_tensor(in.dtype, d, rng);
  }
  for (const auto& [name, d] : dims)
    if (!inputs.count(name)) throw Error(ErrorCode::kInvalidInput, "--shapes names '" + name + "', which is not an engine input");
  return inputs;
}

std::string summary(const Tensor& t) {
  std::ostringstream s;
  s << dtype_name(t.dtype()) << " " << dims_str(t.shape());
  if (t.dtype() == DType::kFloat32 && t.numel() > 0) {
    const float* p = t.data_as<float>();
    double sum = 0, lo = p[0], hi = p[0];
    for (int64_t i = 0; i < t.numel(); ++i) {
      sum += p[i];
      lo = std::min<double>(lo, p[i]);
      hi = std::max<double>(hi, p[i]);
    }
    s << "  mean " << sum / static_cast<double>(t.numel()) << "  min " << lo << "  max " << hi;
  }
  return s.str();
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

int cmd_build(int argc, char** argv) {
  Args a = parse_args(argc, argv, 2, kBuildFlags);
  if (a.positional.size() != 1 || !a.has("-o")) throw UsageError("build needs MODEL.onnx and -o ENGINE");
  auto t0 = std::chrono::steady_clock::now();
  auto engine = build(a.positional[0], config_from(a));
  engine->save(a.get("-o"));
  std::cout << "built " << a.get("-o") << " in " << ms_since(t0) << " ms\n";
  return 0;
}

int cmd_run(int argc, char** argv) {
  Args a = parse_args(argc, argv, 2, kRunFlags);
  if (a.positional.size() != 1) throw UsageError("run needs ENGINE");
  auto engine = Engine::load(a.positional[0]);
  std::map<std::string, Tensor> inputs;
  if (a.has("--inputs")) inputs = read_npz(a.get("--inputs"));
  else if (a.has("--shapes")) inputs = random_inputs(*engine, a.get("--shapes"), static_cast<unsigned>(parse_int(a.get("--seed", "0"), "seed")));
  else throw UsageError("run needs --inputs IN.npz or --shapes");
  auto ctx = engine->create_context(context_options(a));
  auto t0 = std::chrono::steady_clock::now();
  auto outputs = ctx->run(inputs);
  double first = ms_since(t0);
  t0 = std::chrono::steady_clock::now();
  outputs = ctx->run(inputs);
  double second = ms_since(t0);
  for (const auto& [name, t] : outputs) std::cout << "output " << name << ": " << summary(t) << "\n";
  std::cout << "latency: first run " << first << " ms (plans for the new shape), second run " << second << " ms\n";
  RunStats stats = ctx->last_run_stats();
  if (stats.copies > 0)
    std::cout << "copies between provider memories per run: " << stats.copies << " (" << stats.copy_bytes << " bytes)\n";
  if (a.has("--outputs")) write_npz(a.get("--outputs"), outputs);
  return 0;
}

int cmd_bench(int argc, char** argv) {
  Args a = parse_args(argc, argv, 2, kBenchFlags);
  if (a.positional.size() != 1 || !a.has("--shapes")) throw UsageError("bench needs ENGINE and --shapes");
  auto engine = Engine::load(a.positional[0]);
  auto inputs = random_inputs(*engine, a.get("--shapes"), 0);
  int64_t iters = parse_int(a.get("--iterations", "20"), "iteration count");
  int64_t warmup = parse_int(a.get("--warmup", "3"), "warmup count");
  if (iters < 1) throw UsageError("--iterations must be at least 1, got " + std::to_string(iters));
  if (warmup < 0) throw UsageError("--warmup must be 0 or more, got " + std::to_string(warmup));
  auto ctx = engine->create_context(context_options(a));
  std::map<std::string, Tensor> outputs;  // filled by the first run, reused after (no allocation per run)
  std::string io = a.get("--io", "host");
  if (io != "host" && io != "device") throw UsageError("bad --io '" + io + "': expected host or device");
  if (io == "device") {
    std::string device;
    for (const std::string& p : engine->providers())
      if (p != "cpu" && device.empty()) device = p;
    if (device.empty()) throw UsageError("--io device needs an engine built for a GPU provider (--device cuda)");
    std::map<std::string, std::vector<int64_t>> shapes;
    for (auto& [name, t] : inputs) {
      shapes[name] = t.shape();
      Tensor d = Tensor::on_device(device, t.dtype(), t.shape());
      Tensor::copy(t, d);
      t = d;
    }
    auto out_shapes = ctx->output_shapes(shapes);
    for (const TensorInfo& o : engine->outputs()) {
      const std::vector<int64_t>& dims = out_shapes.at(o.name);
      bool known = std::all_of(dims.begin(), dims.end(), [](int64_t d) { return d >= 0; });
      if (known) outputs[o.name] = Tensor::on_device(device, o.dtype, dims);  // else: sized by data, on the host
    }
  }
  for (int64_t i = 0; i < warmup; ++i) ctx->run(inputs, outputs);
  std::vector<double> ms;
  for (int64_t i = 0; i < iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    ctx->run(inputs, outputs);
    ms.push_back(ms_since(t0));
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size() - 1) + 0.5))]; };
  double median = pct(0.5);
  if (a.has("--json")) {
    std::cout << "{\"shapes\": \"" << a.get("--shapes") << "\", \"iterations\": " << iters << ", \"min_ms\": " << ms.front()
              << ", \"median_ms\": " << median << ", \"p90_ms\": " << pct(0.9) << ", \"max_ms\": " << ms.back()
              << ", \"throughput_per_s\": " << 1000.0 / median << ", \"plans\": " << ctx->plans_created()
              << ", \"graph_replays\": " << ctx->last_run_stats().graph_replays
              << ", \"copies\": " << ctx->last_run_stats().copies
              << ", \"arena_bytes\": " << ctx->last_run_stats().arena_bytes
              << ", \"device_bytes\": " << ctx->last_run_stats().device_bytes << "}\n";
  } else {
    std::cout << "shapes " << a.get("--shapes") << ": " << iters << " iterations, min " << ms.front() << " ms, median "
              << median << " ms, p90 " << pct(0.9) << " ms, max " << ms.back() << " ms, " << 1000.0 / median
              << " runs/s\n";
  }
  return 0;
}

int cmd_inspect(int argc, char** argv) {
  Args a = parse_args(argc, argv, 2, kInspectFlags);
  if (a.positional.size() != 1) throw UsageError("inspect needs MODEL.onnx or ENGINE");
  const std::string& path = a.positional[0];
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kIo, "cannot open '" + path + "'");
  char magic[8] = {};
  f.read(magic, 8);
  if (std::memcmp(magic, "DYNRTENG", 8) == 0) {
    std::cout << Engine::load(path)->describe();
    return 0;
  }
  std::cout << describe_model(path);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  std::string cmd = argv[1];
  if (cmd == "--version" || cmd == "version") {
    std::cout << "dynrt " << dynrt::version() << "\n";
    return 0;
  }
  for (int i = 2; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::cout << kUsage;
      return 0;
    }
  try {
    if (cmd == "build") return cmd_build(argc, argv);
    if (cmd == "run") return cmd_run(argc, argv);
    if (cmd == "bench") return cmd_bench(argc, argv);
    if (cmd == "inspect") return cmd_inspect(argc, argv);
    throw UsageError("unknown command '" + cmd + "'");
  } catch (const UsageError& e) {
    std::cerr << "dynrt: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const Error& e) {
    std::cerr << "dynrt: error (" << error_code_name(e.code()) << "): " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "dynrt: error (internal): " << e.what() << "\n";
    return 1;
  }
}
