// Build-time tuning of cuDNN convolutions, as gemm_tuning.h does for GEMMs.
// cuDNN's heuristic (cudnnGetConvolutionForwardAlgorithm_v7) ranks the
// algorithms without running them. While the builder tunes
// (KernelContext::tuning), each convolution times the ranked algorithms at
// each tuning shape (through the timing cache: ResNet's repeated blocks are
// timed once) and records the winner for exactly that input shape. A stored
// choice is used only where cuDNN still lists it for the problem; every
// other shape takes the heuristic's pick.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backends/cuda/cuda_util.h"

namespace dynrt::cuda {

struct ConvChoice {
  bool heuristic = true;  // the heuristic's own pick won (or was within noise)
  int64_t algo = 0;       // cudnnConvolutionFwdAlgo_t
  int64_t math = 0;       // cudnnMathType_t
};

// One node's tuned choices, stored in the engine as its "dynrt.tuned"
// attribute: [format, cuDNN version, then per tuned input shape: rank,
// five dims (unused ones 0), heuristic, algo, math]. The attribute comes from
// an untrusted file: anything malformed, or written by another cuDNN
// version, is ignored.
class ConvTuning {
 public:
  ConvTuning() = default;
  explicit ConvTuning(const std::vector<int64_t>& stored);
  std::vector<int64_t> serialize() const;
  void add(const std::vector<int>& x_dims, const ConvChoice& c);
  std::optional<ConvChoice> find(const std::vector<int>& x_dims) const;

 private:
  struct Point {
    std::vector<int> dims;
    ConvChoice choice;
  };
  mutable std::mutex mu_;
  std::vector<Point> points_;
};

// "NVIDIA H200 sm90": the GPU a timing belongs to.
const std::string& device_label();

}  // namespace dynrt::cuda
