// Build-time tuning of cuBLASLt GEMMs. cuBLASLt's heuristic picks one
// algorithm per problem without running anything; timed alone on the H200,
// its pick was up to 1.2x slower than the best of its own top candidates
// (BERT-base's FFN GEMMs at 4096-16384 rows). While the builder tunes
// (KernelContext::tuning), each GEMM times the top candidates at each tuning
// shape (through the timing cache, so equal problems are timed once) and
// records the winner. The winner is used for exactly the problem it was
// timed at, where cuBLASLt accepts it (cublasLtMatmulAlgoCheck); every other
// shape takes the heuristic's pick: carried to nearby shapes (M within 1.5x)
// a winner made BERT-base slower in the network (8x384: 1.89 against 1.77 ms).
#pragma once

#include <array>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backends/cuda/cuda_util.h"

namespace dynrt {
class TimingCache;
}

namespace dynrt::cuda {

struct GemmShape;

// cuBLASLt's algorithm configuration attributes (CUBLASLT_ALGO_CONFIG_ID ..
// CLUSTER_SHAPE_ID), enough to rebuild an algorithm with AlgoInit.
using AlgoConfig = std::array<int64_t, 9>;

struct GemmChoice {
  bool heuristic = true;  // the heuristic's own pick won (or was within noise)
  AlgoConfig config{};
};

// One node's tuned choices, stored in the engine as its "dynrt.tuned"
// attribute: [format, cuBLASLt version, then per tuned shape: m, n, k,
// batch, heuristic, config...]. The attribute comes from an untrusted file:
// anything malformed, or written by another cuBLASLt version, is ignored.
class GemmTuning {
 public:
  GemmTuning() = default;
  explicit GemmTuning(const std::vector<int64_t>& stored);
  std::vector<int64_t> serialize() const;
  void add(const GemmShape& g, const GemmChoice& c);
  // The choice tuned for exactly this problem's m, n, k and batch.
  std::optional<GemmChoice> find(const GemmShape& g) const;

 private:
  struct Point {
    int64_t m, n, k, batch;
    GemmChoice choice;
  };
  mutable std::mutex mu_;
  std::vector<Point> points_;
};

// The algorithm a configuration describes, if cuBLASLt accepts it for this
// problem; *workspace is then the bytes it needs.
std::optional<cublasLtMatmulAlgo_t> algo_from_config(cublasLtHandle_t h, cublasLtMatmulDesc_t op,
                                                     cublasLtMatrixLayout_t w, cublasLtMatrixLayout_t x,
                                                     cublasLtMatrixLayout_t d, cudaDataType_t type,
                                                     const AlgoConfig& c, size_t max_workspace, size_t* workspace);
AlgoConfig config_of(const cublasLtMatmulAlgo_t& algo);

// The timing cache's key for a problem on this GPU and cuBLASLt version.
std::string gemm_cache_key(const GemmShape& g);

}  // namespace dynrt::cuda
