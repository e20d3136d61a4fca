// Output sizes that depend on input *values* known only at run time (a
// Reshape target, Slice starts or Reduce axes fed as graph inputs rather than
// constants). Inference gives such dims fresh data-dependent symbols; while
// running, the op's schema shape function (OpSchema::run_shape) computes the
// sizes on the host, and the runtime binds the symbols and allocates the
// outputs before the kernel runs.
#pragma once

#include <string>
#include <vector>

#include "ops/registry.h"

namespace dynrt {

// Upper bound for a size with no better bound known at build time.
inline constexpr int64_t kRuntimeDimMax = int64_t{1} << 40;

// `rank` fresh symbols (bounded by ub) for an output whose dims are decided
// by input values at run time.
inline std::vector<Expr> runtime_dims(InferContext& c, size_t rank, Expr ub = Expr::constant(kRuntimeDimMax)) {
  // Before making any symbol: a shape input of 2^28 elements once made 2^28 symbols (fuzz_model timeout).
  if (rank > static_cast<size_t>(kMaxRank))
    c.unsupported("an output of rank " + std::to_string(rank) + " (tensors of rank above " + std::to_string(kMaxRank) +
                  " are not supported)");
  std::vector<Expr> out;
  for (size_t i = 0; i < rank; ++i) out.push_back(c.new_data_dependent_symbol(c.node().op + "_dim", ub));
  return out;
}

inline Expr runtime_dim(InferContext& c, Expr ub = Expr::constant(kRuntimeDimMax)) {
  return c.new_data_dependent_symbol(c.node().op + "_dim", ub);
}

// Length of a 1-D input (e.g. the shape tensor of Reshape), which fixes an
// output rank; it must be a build-time constant.
inline size_t static_length(InferContext& c, size_t i, const std::string& what) {
  const std::vector<Expr>& s = c.shape(i);
  if (s.size() > 1) c.fail(what + " must be 1-D");
  if (s.empty()) return 1;
  if (!s[0].is_const())
    c.needs_constant(s[0], what + " has a length known only at run time (" + s[0].str(&c.names()) +
                               "), so the output rank is unknown at build time");
  return static_cast<size_t>(s[0].const_value());
}

}  // namespace dynrt
