#include "backends/cuda/gemm_tuning.h"

#include <cstring>

#include "backends/cuda/conv_tuning.h"
#include "backends/cuda/lt_gemm.h"

namespace dynrt::cuda {
namespace {

constexpr int64_t kFormat = 1;
constexpr size_t kHeader = 2, kRecord = 5 + std::tuple_size_v<AlgoConfig>;
constexpr size_t kMaxPoints = 256;

constexpr cublasLtMatmulAlgoConfigAttributes_t kConfigAttrs[] = {
    CUBLASLT_ALGO_CONFIG_ID,          CUBLASLT_ALGO_CONFIG_TILE_ID,        CUBLASLT_ALGO_CONFIG_SPLITK_NUM,
    CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING, CUBLASLT_ALGO_CONFIG_CUSTOM_OPTION,
    CUBLASLT_ALGO_CONFIG_STAGES_ID,   CUBLASLT_ALGO_CONFIG_INNER_SHAPE_ID, CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID};
static_assert(std::size(kConfigAttrs) == std::tuple_size_v<AlgoConfig>);

int64_t lt_version() { return static_cast<int64_t>(cublasLtGetVersion()); }

// The size cuBLASLt stores an attribute in (2 or 4 bytes, by attribute and version).
size_t attr_size(const cublasLtMatmulAlgo_t& algo, cublasLtMatmulAlgoConfigAttributes_t a) {
  size_t n = 0;
  if (cublasLtMatmulAlgoConfigGetAttribute(&algo, a, nullptr, 0, &n) != CUBLAS_STATUS_SUCCESS || n > 8) return 0;
  return n;
}

}  // namespace

AlgoConfig config_of(const cublasLtMatmulAlgo_t& algo) {
  AlgoConfig c{};
  for (size_t i = 0; i < c.size(); ++i) {
    uint64_t v = 0;
    size_t n = attr_size(algo, kConfigAttrs[i]), written = 0;
    if (n && cublasLtMatmulAlgoConfigGetAttribute(&algo, kConfigAttrs[i], &v, n, &written) == CUBLAS_STATUS_SUCCESS) {
      // little-endian: the low bytes hold the value; ID is the one signed attribute (never negative in practice)
      c[i] = static_cast<int64_t>(v);
    }
  }
  return c;
}

std::optional<cublasLtMatmulAlgo_t> algo_from_config(cublasLtHandle_t h, cublasLtMatmulDesc_t op,
                                                     cublasLtMatrixLayout_t w, cublasLtMatrixLayout_t x,
                                                     cublasLtMatrixLayout_t d, cudaDataType_t type,
                                                     const AlgoConfig& c, size_t max_workspace, size_t* workspace) {
  if (c[0] < 0 || c[0] > INT32_MAX) return std::nullopt;
  cublasLtMatmulAlgo_t algo{};
  if (cublasLtMatmulAlgoInit(h, CUBLAS_COMPUTE_32F, CUDA_R_32F, type, type, type, type, static_cast<int>(c[0]), &algo) !=
      CUBLAS_STATUS_SUCCESS)
    return std::nullopt;
  for (size_t i = 1; i < c.size(); ++i) {
    size_t n = attr_size(algo, kConfigAttrs[i]);
    if (!n || c[i] < 0 || (n < 8 && static_cast<uint64_t>(c[i]) >> (8 * n) != 0)) return std::nullopt;
    uint64_t v = static_cast<uint64_t>(c[i]);
    if (cublasLtMatmulAlgoConfigSetAttribute(&algo, kConfigAttrs[i], &v, n) != CUBLAS_STATUS_SUCCESS) return std::nullopt;
  }
  cublasLtMatmulHeuristicResult_t r{};
  if (cublasLtMatmulAlgoCheck(h, op, w, x, d, d, &algo, &r) != CUBLAS_STATUS_SUCCESS || r.workspaceSize > max_workspace)
    return std::nullopt;
  *workspace = r.workspaceSize;
  return algo;
}

GemmTuning::GemmTuning(const std::vector<int64_t>& s) {
  if (s.size() < kHeader || s[0] != kFormat || s[1] != lt_version() || (s.size() - kHeader) % kRecord != 0 ||
      (s.size() - kHeader) / kRecord > kMaxPoints)
    return;
  for (size_t i = kHeader; i < s.size(); i += kRecord) {
    Point p{s[i], s[i + 1], s[i + 2], s[i + 3], {}};
    if (p.m < 1 || p.n < 1 || p.k < 1 || p.batch < 1 || (s[i + 4] != 0 && s[i + 4] != 1)) {
      points_.clear();  // one bad record: the attribute is not what dynrt wrote
      return;
    }
    p.choice.heuristic = s[i + 4] == 1;
    std::copy(s.begin() + static_cast<ptrdiff_t>(i + 5), s.begin() + static_cast<ptrdiff_t>(i + kRecord),
              p.choice.config.begin());
    points_.push_back(p);
  }
}

std::vector<int64_t> GemmTuning::serialize() const {
  std::lock_guard lock(mu_);
  if (points_.empty()) return {};
  std::vector<int64_t> s = {kFormat, lt_version()};
  for (const Point& p : points_) {
    s.insert(s.end(), {p.m, p.n, p.k, p.batch, p.choice.heuristic ? 1 : 0});
    s.insert(s.end(), p.choice.config.begin(), p.choice.config.end());
  }
  return s;
}

void GemmTuning::add(const GemmShape& g, const GemmChoice& c) {
  std::lock_guard lock(mu_);
  for (Point& p : points_)
    if (p.m == g.m && p.n == g.n && p.k == g.k && p.batch == g.batch) {
      p.choice = c;
      return;
    }
  if (points_.size() < kMaxPoints) points_.push_back({g.m, g.n, g.k, g.batch, c});
}

std::optional<GemmChoice> GemmTuning::find(const GemmShape& g) const {
  std::lock_guard lock(mu_);
  for (const Point& p : points_)
    if (p.m == g.m && p.n == g.n && p.k == g.k && p.batch == g.batch) return p.choice;
  return std::nullopt;
}

std::string gemm_cache_key(const GemmShape& g) {
  auto b = [](bool v) { return v ? '1' : '0'; };
  return "gemm cublasLt" + std::to_string(lt_version()) + " " + device_label() + " " + dtype_name(g.dtype) +
         " m" + std::to_string(g.m) + " n" + std::to_string(g.n) + " k" + std::to_string(g.k) + " b" +
         std::to_string(g.batch) + " s" + std::to_string(g.stride_a) + "," + std::to_string(g.stride_b) + "," +
         std::to_string(g.stride_y) + " t" + b(g.trans_a) + b(g.trans_b) + " e" + b(g.bias) + b(g.relu) + b(g.gelu) +
         b(g.residual) + " a" + std::to_string(g.alignment);
}

}  // namespace dynrt::cuda
