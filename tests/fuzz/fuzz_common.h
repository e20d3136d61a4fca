// What the fuzz targets share: inputs for an engine at small shapes, and one
// run whose only allowed failure is a dynrt::Error.
#pragma once

#include <cstring>
#include <map>
#include <string>

#include "dynrt/dynrt.h"

namespace dynrt::fuzz {

// Inputs with every named (dynamic) dim at `n`, numeric dims as written,
// filled with a repeating byte pattern (valid for every element type).
inline std::map<std::string, Tensor> small_inputs(const Engine& e, int64_t n) {
  std::map<std::string, Tensor> in;
  for (const TensorInfo& t : e.inputs()) {
    std::vector<int64_t> dims;
    int64_t numel = 1;
    for (const std::string& d : t.dims) {
      int64_t v = d.find_first_not_of("0123456789") == std::string::npos && !d.empty() && d.size() < 7 ? std::stoll(d) : n;
      dims.push_back(v);
      numel *= v;
    }
    if (numel > (1 << 20)) return {};  // not a small model: skip running it
    Tensor x(t.dtype, dims);
    auto* p = static_cast<unsigned char*>(x.data());
    for (size_t i = 0; i < x.nbytes(); ++i) p[i] = static_cast<unsigned char>(i % 7 == 0 ? 0 : 1);
    in[t.name] = std::move(x);
  }
  return in;
}

inline void run_once(const std::shared_ptr<Engine>& e) {
  ContextOptions o;
  o.threads = 1;
  // 64 MiB: legitimate work on a few hundred MB takes tens of seconds under ASan
  // (a Range of 15.8M elements broadcast to 252 MB took 16 s; 0.2 s in a release
  // build) and would read as a hang. Data-dependent sizes are capped too, so they
  // end in the clean out-of-memory error a user who sets the limits gets.
  o.max_arena_bytes = int64_t{1} << 26;
  o.max_tensor_bytes = int64_t{1} << 26;
  // A Loop's iterations each run its body's engine (about 1 ms under ASan for a
  // small body): the filler bytes make an int64 trip count of about 2^48, so
  // the built-in 2^20 would read as a hang.
  o.max_loop_iterations = 64;
  auto ctx = e->create_context(o);
  for (int64_t n : {1, 2}) {
    auto in = small_inputs(*e, n);
    if (in.empty() && !e->inputs().empty()) return;
    try {
      ctx->run(in);
    } catch (const Error&) {
    }
  }
}

}  // namespace dynrt::fuzz
