// Inference for classic-ML ops: TfIdfVectorizer (integer n-grams; string
// pools are not supported) and ai.onnx.ml Binarizer, ArrayFeatureExtractor,
// TreeEnsemble.
#include <algorithm>

#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

void infer_tfidf(InferContext& c) {
  DType t = c.dtype(0);
  if (t != DType::kInt32 && t != DType::kInt64) c.unsupported(std::string("input type ") + dtype_name(t) + " (int32/int64 n-grams are supported)");
  if (c.has_attr("pool_strings")) c.unsupported("pool_strings");
  TfIdfAttrs attrs = TfIdfAttrs::parse(c);
  const std::string& mode = attrs.mode;
  if (mode != "TF" && mode != "IDF" && mode != "TFIDF") c.fail("mode must be TF, IDF or TFIDF");
  const std::vector<int64_t>& idx = attrs.ngram_indexes;
  if (idx.empty()) c.fail("ngram_indexes is required");
  for (const char* req : {"min_gram_length", "max_gram_length"})
    if (!c.has_attr(req)) c.fail(std::string("required attribute '") + req + "' is missing");
  int64_t lo = attrs.min_gram_length, hi = attrs.max_gram_length;
  if (lo < 1 || hi < lo) c.fail("invalid min_gram_length / max_gram_length");
  Expr size = Expr::constant(*std::max_element(idx.begin(), idx.end()) + 1);
  const std::vector<Expr>& x = c.shape(0);
  if (x.size() > 2) c.fail("input must be [C] or [N, C]");
  c.set_output(0, DType::kFloat32, x.size() == 2 ? std::vector<Expr>{x[0], size} : std::vector<Expr>{size});
}

void infer_binarizer(InferContext& c) {
  DType t = c.dtype(0);
  if (t != DType::kFloat32 && t != DType::kFloat64 && t != DType::kInt64 && t != DType::kInt32)
    c.unsupported(std::string("input type ") + dtype_name(t));
  c.set_output(0, t, c.shape(0));
}

void infer_array_feature_extractor(InferContext& c) {
  const std::vector<Expr>&x = c.shape(0), &ind = c.shape(1);
  if (c.dtype(1) != DType::kInt64) c.fail("Y must be int64");
  if (x.empty()) c.fail("X must have rank >= 1");
  Expr n = Expr::constant(1);
  for (const Expr& d : ind) n = n * d;
  std::vector<Expr> out = x.size() == 1 ? std::vector<Expr>{Expr::constant(1)} : std::vector<Expr>(x.begin(), x.end() - 1);
  out.push_back(n);
  c.set_output(0, c.dtype(0), out);
}

// TreeEnsemble (ai.onnx.ml 5): X [N, F] -> [N, n_targets].
void infer_tree_ensemble(InferContext& c) {
  DType t = c.dtype(0);
  if (t != DType::kFloat32 && t != DType::kFloat64) c.unsupported(std::string("X of type ") + dtype_name(t));
  TreeEnsembleAttrs attrs = TreeEnsembleAttrs::parse(c);
  if (attrs.post_transform != 0) c.unsupported("post_transform other than NONE");
  int64_t agg = attrs.aggregate_function;
  if (agg < 0 || agg > 3) c.fail("unknown aggregate_function");
  for (const char* a : {"nodes_splits", "nodes_modes", "leaf_weights"})
    if (!c.attr_tensor(a)) c.fail(std::string(a) + " is required");
  const std::vector<Expr>& x = c.shape(0);
  if (x.size() != 2) c.fail("X must be 2-D");
  if (!c.has_attr("n_targets")) c.fail("required attribute 'n_targets' is missing");
  c.set_output(0, t, {x[0], Expr::constant(attrs.n_targets)});
}

}  // namespace

void register_ml_ops(OpRegistry& r) {
  r.add("TfIdfVectorizer", infer_tfidf);
  r.add("Binarizer", infer_binarizer, "ai.onnx.ml");
  r.add("ArrayFeatureExtractor", infer_array_feature_extractor, "ai.onnx.ml");
  r.add("TreeEnsemble", infer_tree_ensemble, "ai.onnx.ml");
}

}  // namespace dynrt
