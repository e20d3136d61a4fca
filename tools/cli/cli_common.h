// What the `dynrt` subcommands share: parsing of shapes and lists, random
// inputs for an engine, output summaries, and the usage-error type that
// main() turns into exit status 2.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "dynrt/dynrt.h"
#include "npz.h"

namespace dynrt::cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// How much a command reports on stderr: --quiet, default, --verbose.
enum class Verbosity { kQuiet, kNormal, kVerbose };
struct Common {
  int verbose = 0;
  bool quiet = false;
  Verbosity level() const { return quiet ? Verbosity::kQuiet : verbose > 0 ? Verbosity::kVerbose : Verbosity::kNormal; }
};
void add_verbosity(CLI::App& cmd, Common& c);

// The ContextOptions flags of run and bench: --threads, --max-arena, --max-tensor, --max-loop-iterations.
struct ContextFlags {
  int threads = 0;
  std::string max_arena, max_tensor;  // sizes: bytes, or with a K/M/G/T suffix (powers of 1024)
  int64_t max_loop_iterations = ContextOptions{}.max_loop_iterations;
  ContextOptions options() const;
};
void add_context_flags(CLI::App& cmd, ContextFlags& f);
// "4096", "512M", "2G": bytes (suffixes K, M, G, T are powers of 1024).
int64_t parse_bytes(const std::string& s, const std::string& what);
// Every option of cmd that takes a value refuses one that is a flag
// ("--shapes --json" is a missing value, not the shape list "--json").
void refuse_flags_as_values(CLI::App& cmd);

// s with control bytes and invalid UTF-8 shown as \xNN: names from untrusted
// files cannot drive the terminal.
std::string printable(const std::string& s);

int64_t parse_int(const std::string& s, const std::string& what);
std::vector<int64_t> parse_dims(const std::string& text);  // "1x3x224x224"
// "name:1x3x224x224,mask:1x128"
std::map<std::string, std::vector<int64_t>> parse_shape_list(const std::string& text);
std::vector<std::string> split_list(const std::string& text, char sep = ',');
Precision parse_precision(const std::string& s);

// Inputs of the engine at the given shapes (inputs whose dims are all fixed
// may be left out), random values.
// The engine inputs of a narrow type (float8, float4, int4, int2, ...), which
// an .npz holds as raw bytes ('|V1').
RawTypes raw_input_types(const Engine& e);
std::map<std::string, Tensor> random_inputs(const Engine& e, const std::map<std::string, std::vector<int64_t>>& dims,
                                            unsigned seed);
std::string summary(const Tensor& t);
double ms_since(std::chrono::steady_clock::time_point t0);

void add_build(CLI::App& app);    // cmd_build.cpp
void add_run(CLI::App& app);      // cmd_run.cpp
void add_bench(CLI::App& app);    // cmd_bench.cpp
void add_inspect(CLI::App& app);  // cmd_inspect.cpp

}  // namespace dynrt::cli
