#include "cli_common.h"

#include <cctype>
#include <limits>
#include <random>
#include <sstream>

namespace dynrt::cli {

void add_verbosity(CLI::App& cmd, Common& c) {
  cmd.add_flag("-v,--verbose", c.verbose, "report every step on stderr");
  cmd.add_flag("-q,--quiet", c.quiet, "report nothing but errors");
}

void add_context_flags(CLI::App& cmd, ContextFlags& f) {
  cmd.add_option("--threads", f.threads, "CPU threads (0: OMP_NUM_THREADS, else the cores)")->check(CLI::NonNegativeNumber);
  cmd.add_option("--max-arena", f.max_arena,
                 "most memory for one shape's intermediate tensors, per provider memory (bytes or 512M, 4G; "
                 "default: no limit)");
  cmd.add_option("--max-tensor", f.max_tensor, "largest single tensor a run may hold (bytes or 512M, 4G; default 2^46)");
  cmd.add_option("--max-loop-iterations", f.max_loop_iterations,
                 "most iterations one Loop node may run (1 to 2^20, the default)");
}

ContextOptions ContextFlags::options() const {
  ContextOptions o;
  o.threads = threads;
  if (!max_arena.empty()) o.max_arena_bytes = parse_bytes(max_arena, "--max-arena");
  if (!max_tensor.empty()) o.max_tensor_bytes = parse_bytes(max_tensor, "--max-tensor");
  o.max_loop_iterations = max_loop_iterations;
  return o;
}

int64_t parse_bytes(const std::string& s, const std::string& what) {
  std::string digits = s;
  int shift = 0;
  if (!s.empty()) {
    const std::string units = "KMGT";
    if (size_t u = units.find(static_cast<char>(std::toupper(static_cast<unsigned char>(s.back()))));
        u != std::string::npos) {
      shift = 10 * static_cast<int>(u + 1);
      digits.pop_back();
    }
  }
  int64_t v = -1;
  try {
    size_t used = 0;
    v = std::stoll(digits, &used);
    if (used != digits.size()) v = -1;
  } catch (const std::exception&) {
  }
  if (v <= 0 || v > (std::numeric_limits<int64_t>::max() >> shift))
    throw UsageError("bad " + what + " '" + s + "': expected a positive size in bytes, or with K, M, G or T");
  return v << shift;
}

// Text that quotes names from untrusted files (errors, inspect): control bytes and invalid
// UTF-8 are shown as \xNN, so a crafted name cannot drive the terminal.
std::string printable(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok && len == 1 && ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)) ok = false;
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
      ++i;
    }
  }
  return out;
}

void refuse_flags_as_values(CLI::App& cmd) {
  CLI::Validator not_a_flag(
      [](std::string& v) { return v.rfind("--", 0) == 0 ? "needs a value, got the flag " + v : std::string(); }, "");
  for (CLI::Option* o : cmd.get_options())
    if (o->get_type_size() > 0 && o->get_name() != "--help") o->check(not_a_flag);
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
  for (const std::string& part : split_list(text, 'x')) {
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

std::map<std::string, std::vector<int64_t>> parse_shape_list(const std::string& text) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const std::string& item : split_list(text)) {
    size_t colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw Error(ErrorCode::kInvalidConfig, "bad shape list item '" + item + "': expected NAME:DIMS like input:1x3x224x224");
    out[item.substr(0, colon)] = parse_dims(item.substr(colon + 1));
  }
  return out;
}

std::vector<std::string> split_list(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::kFp32;
  if (s == "fp16") return Precision::kFp16;
  if (s == "bf16") return Precision::kBf16;
  throw UsageError("bad --precision '" + s + "': expected fp32, fp16 or bf16");
}

namespace {

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

}  // namespace

RawTypes raw_input_types(const Engine& e) {
  RawTypes raw;
  for (const TensorInfo& in : e.inputs())
    if (dtype_size(in.dtype) == 1 && in.dtype != DType::kUInt8 && in.dtype != DType::kInt8 && in.dtype != DType::kBool)
      raw[in.name] = in.dtype;
  return raw;
}

std::map<std::string, Tensor> random_inputs(const Engine& e, const std::map<std::string, std::vector<int64_t>>& dims,
                                            unsigned seed) {
  std::mt19937 rng(seed);
  std::map<std::string, Tensor> inputs;
  for (const auto& [name, d] : dims) {
    bool known = false;
    for (const TensorInfo& in : e.inputs()) known = known || in.name == name;
    if (!known) {
      std::string names;
      for (const TensorInfo& in : e.inputs()) names += (names.empty() ? "" : ", ") + in.name;
      throw Error(ErrorCode::kInvalidInput, "--shapes names '" + name + "', which is not an engine input (inputs: " + names + ")");
    }
  }
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

}  // namespace dynrt::cli
