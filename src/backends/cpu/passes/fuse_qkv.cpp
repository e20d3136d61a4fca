// CPU lowering: an attention's Q, K and V projections as one MatMul
// (backends/fuse_qkv.h): one oneDNN product and, in bf16, one input
// conversion instead of three. DYNRT_CPU_FUSE_QKV=0 turns the pass off (for
// A/B measurements).
#include <cstdlib>
#include <string_view>

#include "backends/cpu/passes/passes.h"
#include "backends/fuse_qkv.h"

namespace dynrt::cpu {

bool fuse_qkv(ir::Graph& g, int self) {
  const char* env = std::getenv("DYNRT_CPU_FUSE_QKV");
  if (env && std::string_view(env) == "0") return false;
  return dynrt::fuse_qkv(g, self);
}

}  // namespace dynrt::cpu
