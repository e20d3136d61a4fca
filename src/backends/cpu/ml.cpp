// CPU kernels for TfIdfVectorizer, Binarizer and ArrayFeatureExtractor
// (TreeEnsemble: tree_ensemble.cpp),
// following the ONNX reference (itself a port of ONNX Runtime's kernels).
#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/kernel_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"

namespace dynrt::cpu {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

// N-gram trie: node 0 is the root; id is the 1-based n-gram id (0: prefix only).
struct Trie {
  struct Node {
    int64_t id = 0;
    std::map<int64_t, size_t> next;
  };
  std::vector<Node> nodes{Node{}};
};

struct TfIdf {
  Trie trie;
  std::vector<int64_t> indexes;
  std::vector<float> weights;
  int64_t min_len = 1, max_len = 1, max_skip = 0, out_size = 0;
  int mode = 0;  // 0 TF, 1 IDF, 2 TFIDF
};

TfIdf make_tfidf_state(const KernelInit& init) {
  TfIdf s;
  TfIdfAttrs attrs = TfIdfAttrs::parse(init);
  s.min_len = attrs.min_gram_length;
  s.max_len = attrs.max_gram_length;
  s.max_skip = attrs.max_skip_count;
  s.indexes = attrs.ngram_indexes;
  s.out_size = *std::max_element(s.indexes.begin(), s.indexes.end()) + 1;
  const std::string& mode = attrs.mode;
  s.mode = mode == "TF" ? 0 : mode == "IDF" ? 1 : 2;
  if (const ir::Attribute* w = init.attr("weights"))
    for (float f : w->floats) s.weights.push_back(f);
  std::vector<int64_t> pool = init.attr_ints("pool_int64s"), counts = init.attr_ints("ngram_counts");
  int64_t id = 1;
  for (size_t i = 0; i < counts.size(); ++i) {
    auto n = static_cast<int64_t>(i) + 1;  // gram length of this pool segment
    int64_t begin = counts[i], end = i + 1 < counts.size() ? counts[i + 1] : static_cast<int64_t>(pool.size());
    int64_t grams = (end - begin) / n;
    if (grams <= 0) continue;
    if (n < s.min_len || n > s.max_len) {
      id += grams;
      continue;
    }
    for (int64_t g = 0; g < grams; ++g) {
      size_t node = 0;
      for (int64_t j = 0; j < n; ++j) {
        int64_t v = pool[sz(begin + g * n + j)];
        auto it = s.trie.nodes[node].next.find(v);
        if (it == s.trie.nodes[node].next.end()) {
          s.trie.nodes.push_back({});
          it = s.trie.nodes[node].next.emplace(v, s.trie.nodes.size() - 1).first;
        }
        node = it->second;
      }
      s.trie.nodes[node].id = id++;
    }
  }
  for (int64_t i : s.indexes)
    if (i < 0) init.unsupported("negative ngram_indexes");
  return s;
}

void tfidf_row(const TfIdf& s, const std::vector<int64_t>& x, int64_t* freq) {
  auto n = static_cast<int64_t>(x.size());
  int64_t start_len = s.min_len;
  for (int64_t skip = 1; skip <= s.max_skip + 1; ++skip) {
    for (int64_t b = 0; b < n; ++b) {
      if (b + skip * (start_len - 1) >= n) break;
      size_t node = 0;
      int64_t len = 1;
      for (int64_t item = b; len <= s.max_len && item < n && !s.trie.nodes[node].next.empty(); item += skip, ++len) {
        auto it = s.trie.nodes[node].next.find(x[sz(item)]);
        if (it == s.trie.nodes[node].next.end()) break;
        node = it->second;
        int64_t id = s.trie.nodes[node].id;
        if (len >= start_len && id != 0) {
          if (id - 1 >= static_cast<int64_t>(s.indexes.size()))
            throw Error(ErrorCode::kInvalidModel, "TfIdfVectorizer: n-gram id without an ngram_indexes entry");
          ++freq[s.indexes[sz(id - 1)]];
        }
      }
    }
    // Unigrams are counted once, not for every skip distance.
    if (start_len == 1) {
      ++start_len;
      if (start_len > s.max_len) break;
    }
  }
}

std::unique_ptr<Kernel> make_tfidf(const KernelInit& init) {
  TfIdf s = make_tfidf_state(init);
  return make_kernel([s](KernelContext& c) {
    const TensorView& x = c.in(0);
    int64_t rows = x.rank == 2 ? x.dim(0) : 1, cols = x.rank == 0 ? 1 : x.dim(x.rank - 1);
    std::vector<int64_t> freq(sz(rows * s.out_size), 0), row(sz(cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < cols; ++j) row[sz(j)] = index_at(x, r * cols + j);
      tfidf_row(s, row, freq.data() + r * s.out_size);
    }
    float* y = c.out(0).as<float>();
    for (size_t p = 0; p < freq.size(); ++p) {
      size_t col = p % sz(s.out_size);
      float f = static_cast<float>(freq[p]);
      if (s.mode == 0) y[p] = f;
      else if (s.mode == 1) y[p] = freq[p] > 0 ? (s.weights.empty() ? 1.f : s.weights[col]) : 0.f;
      else y[p] = s.weights.empty() ? f : s.weights[col] * f;
    }
  });
}

std::unique_ptr<Kernel> make_binarizer(const KernelInit& init) {
  float threshold = init.attr_float("threshold", 0.f);
  return make_kernel([threshold](KernelContext& c) {
    DYNRT_DISPATCH_NUMERIC(c.in(0).dtype, "Binarizer", {
      const T* x = c.in(0).as<const T>();
      T* y = c.out(0).as<T>();
      for (int64_t i = 0; i < c.in(0).numel(); ++i) y[i] = static_cast<double>(x[i]) > threshold ? T(1) : T(0);
    });
  });
}

std::unique_ptr<Kernel> make_array_feature_extractor(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    const TensorView &x = c.in(0), &ind = c.in(1);
    int64_t last = x.dim(x.rank - 1), rows = x.numel() / std::max<int64_t>(last, 1), k = ind.numel();
    std::vector<int64_t> idx = read_ints(ind);
    for (int64_t i : idx)
      if (i < 0 || i >= last) index_error("ArrayFeatureExtractor", i, last);
    size_t es = dtype_size(x.dtype);
    const auto* src = static_cast<const std::byte*>(x.data);
    auto* dst = static_cast<std::byte*>(c.out(0).data);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < k; ++j) std::memcpy(dst + sz(r * k + j) * es, src + sz(r * last + idx[sz(j)]) * es, es);
  });
}

}  // namespace

std::unique_ptr<Kernel> make_tree_ensemble_kernel(const KernelInit& init);  // tree_ensemble.cpp

}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_ml_kernels(KernelRegistry& r) {
  using namespace cpu;
  r.add_kernel("TfIdfVectorizer", make_tfidf);
  r.add_kernel("Binarizer", make_binarizer, "ai.onnx.ml");
  r.add_kernel("ArrayFeatureExtractor", make_array_feature_extractor, "ai.onnx.ml");
  r.add_kernel("TreeEnsemble", make_tree_ensemble_kernel, "ai.onnx.ml");
}

}  // namespace dynrt
