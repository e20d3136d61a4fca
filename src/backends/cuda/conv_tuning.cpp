#include "backends/cuda/conv_tuning.h"

namespace dynrt::cuda {
namespace {

constexpr int64_t kFormat = 1;
constexpr size_t kHeader = 2, kDims = 5, kRecord = 1 + kDims + 3;
constexpr size_t kMaxPoints = 256;

int64_t dnn_version() { return static_cast<int64_t>(cudnnGetVersion()); }

}  // namespace

ConvTuning::ConvTuning(const std::vector<int64_t>& s) {
  if (s.size() < kHeader || s[0] != kFormat || s[1] != dnn_version() || (s.size() - kHeader) % kRecord != 0 ||
      (s.size() - kHeader) / kRecord > kMaxPoints)
    return;
  for (size_t i = kHeader; i < s.size(); i += kRecord) {
    const int64_t rank = s[i];
    Point p;
    bool ok = rank >= 3 && rank <= static_cast<int64_t>(kDims);
    for (int64_t d = 0; ok && d < rank; ++d) {
      const int64_t v = s[i + 1 + static_cast<size_t>(d)];
      ok = v >= 1 && v <= INT32_MAX;
      p.dims.push_back(static_cast<int>(v));
    }
    const int64_t heuristic = s[i + 1 + kDims], algo = s[i + 2 + kDims], math = s[i + 3 + kDims];
    ok = ok && (heuristic == 0 || heuristic == 1) && algo >= 0 && algo < CUDNN_CONVOLUTION_FWD_ALGO_COUNT &&
         math >= 0 && math <= CUDNN_FMA_MATH;
    if (!ok) {
      points_.clear();  // one bad record: the attribute is not what dynrt wrote
      return;
    }
    p.choice = {heuristic == 1, algo, math};
    points_.push_back(std::move(p));
  }
}

std::vector<int64_t> ConvTuning::serialize() const {
  std::lock_guard lock(mu_);
  if (points_.empty()) return {};
  std::vector<int64_t> s = {kFormat, dnn_version()};
  for (const Point& p : points_) {
    s.push_back(static_cast<int64_t>(p.dims.size()));
    for (size_t d = 0; d < kDims; ++d) s.push_back(d < p.dims.size() ? p.dims[d] : 0);
    s.insert(s.end(), {p.choice.heuristic ? 1 : 0, p.choice.algo, p.choice.math});
  }
  return s;
}

void ConvTuning::add(const std::vector<int>& x_dims, const ConvChoice& c) {
  if (x_dims.size() < 3 || x_dims.size() > kDims) return;
  std::lock_guard lock(mu_);
  for (Point& p : points_)
    if (p.dims == x_dims) {
      p.choice = c;
      return;
    }
  if (points_.size() < kMaxPoints) points_.push_back({x_dims, c});
}

std::optional<ConvChoice> ConvTuning::find(const std::vector<int>& x_dims) const {
  std::lock_guard lock(mu_);
  for (const Point& p : points_)
    if (p.dims == x_dims) return p.choice;
  return std::nullopt;
}

const std::string& device_label() {
  static const std::string label = [] {
    int dev = 0;
    cudaDeviceProp prop{};
    if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&prop, dev) != cudaSuccess) return std::string("?");
    std::string name = prop.name;
    for (char& ch : name)
      if (ch == '\t' || ch == '\n') ch = ' ';
    return name + " sm" + std::to_string(prop.major) + std::to_string(prop.minor);
  }();
  return label;
}

}  // namespace dynrt::cuda
