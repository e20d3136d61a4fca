// CPU kernel for ai.onnx.ml TreeEnsemble (opset 5), following the ONNX
// reference: trees are walked per row, leaf weights aggregated per target
// (SUM, AVERAGE, MIN, MAX); post_transform NONE only (checked by inference).
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backends/cpu/kernel_util.h"
#include "ops/attrs.h"

namespace dynrt::cpu {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

std::vector<double> tensor_doubles(const Tensor& t) {
  std::vector<double> out(sz(t.numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    switch (t.dtype()) {
      case DType::kFloat32: out[i] = t.data_as<float>()[i]; break;
      case DType::kFloat64: out[i] = t.data_as<double>()[i]; break;
      case DType::kUInt8: out[i] = t.data_as<uint8_t>()[i]; break;
      case DType::kInt32: out[i] = t.data_as<int32_t>()[i]; break;
      case DType::kInt64: out[i] = static_cast<double>(t.data_as<int64_t>()[i]); break;
      default: throw Error(ErrorCode::kUnsupported, std::string("TreeEnsemble: attribute tensor of type ") + dtype_name(t.dtype()));
    }
  }
  return out;
}

struct Forest {
  std::vector<double> splits, weights;
  std::vector<int64_t> modes, features, true_ids, false_ids, true_leaf, false_leaf, targets, roots, missing_true;
  std::vector<std::vector<double>> members;  // per node, for mode MEMBER (6)
  int64_t n_targets = 1, aggregate = 1;
};

enum Mode { kLeq, kLt, kGte, kGt, kEq, kNeq, kMember };

bool goes_true(const Forest& f, size_t n, double x) {
  if (std::isnan(x) && !f.missing_true.empty() && f.missing_true[n]) return true;
  double v = f.splits[n];
  switch (f.modes[n]) {
    case kLeq: return x <= v;
    case kLt: return x < v;
    case kGte: return x >= v;
    case kGt: return x > v;
    case kEq: return x == v;
    case kNeq: return x != v;
    default:
      for (double m : f.members[n])
        if (m == x) return true;
      return false;
  }
}

std::unique_ptr<Kernel> make_tree_ensemble(const KernelInit& init) {
  auto f = std::make_shared<Forest>();
  auto tensor_attr = [&](const char* name) -> std::vector<double> {
    const ir::Attribute* a = init.attr(name);
    if (!a) return {};
    return tensor_doubles(a->t);
  };
  f->splits = tensor_attr("nodes_splits");
  f->weights = tensor_attr("leaf_weights");
  for (double m : tensor_attr("nodes_modes")) f->modes.push_back(static_cast<int64_t>(m));
  f->features = init.attr_ints("nodes_featureids");
  f->true_ids = init.attr_ints("nodes_truenodeids");
  f->false_ids = init.attr_ints("nodes_falsenodeids");
  f->true_leaf = init.attr_ints("nodes_trueleafs");
  f->false_leaf = init.attr_ints("nodes_falseleafs");
  f->targets = init.attr_ints("leaf_targetids");
  f->roots = init.attr_ints("tree_roots");
  f->missing_true = init.attr_ints("nodes_missing_value_tracks_true");
  TreeEnsembleAttrs attrs = TreeEnsembleAttrs::parse(init);
  f->n_targets = attrs.n_targets;
  f->aggregate = attrs.aggregate_function;
  size_t nodes = f->modes.size();
  for (auto* v : {&f->features, &f->true_ids, &f->false_ids, &f->true_leaf, &f->false_leaf})
    if (v->size() != nodes || f->splits.size() != nodes) init.unsupported("inconsistent node attribute lengths");
  if (f->targets.size() != f->weights.size()) init.unsupported("inconsistent leaf attribute lengths");
  // Set members of MEMBER nodes, in node order, each set ended by NaN. (The
  // reference also ends a set at a 0.0 member; kept for equal results.)
  std::vector<double> members = tensor_attr("membership_values");
  f->members.resize(nodes);
  size_t next = 0;
  for (size_t n = 0; n < nodes; ++n) {
    if (f->modes[n] != kMember) continue;
    while (next < members.size()) {
      double m = members[next++];
      if (std::isnan(m) || m == 0.0) break;
      f->members[n].push_back(m);
    }
  }
  return make_kernel([f](KernelContext& c) {
    const TensorView& x = c.in(0);
    int64_t rows = x.dim(0), cols = x.dim(1);
    std::vector<double> acc(sz(f->n_targets));
    auto weight_at = [&](int64_t leaf) {
      if (leaf < 0 || sz(leaf) >= f->weights.size()) throw Error(ErrorCode::kInvalidModel, "TreeEnsemble: leaf index out of range");
      return leaf;
    };
    DYNRT_DISPATCH_FLOAT(x.dtype, "TreeEnsemble", {
      const T* px = x.as<const T>();
      T* py = c.out(0).as<T>();
      for (int64_t r = 0; r < rows; ++r) {
        double init_v = f->aggregate == 2 ? std::numeric_limits<T>::max() : f->aggregate == 3 ? std::numeric_limits<T>::lowest() : 0.0;
        std::fill(acc.begin(), acc.end(), init_v);
        for (int64_t root : f->roots) {
          auto n = sz(root);
          int64_t leaf = -1;
          if (f->true_leaf[n] && f->false_leaf[n] && f->true_ids[n] == f->false_ids[n]) leaf = root;
          for (size_t steps = 0; leaf < 0; ++steps) {
            if (steps > f->modes.size() || n >= f->modes.size()) throw Error(ErrorCode::kInvalidModel, "TreeEnsemble: malformed tree");
            int64_t feat = f->features[n];
            if (feat < 0 || feat >= cols) throw Error(ErrorCode::kInvalidInput, "TreeEnsemble: feature id out of range");
            bool t = goes_true(*f, n, static_cast<double>(px[r * cols + feat]));
            int64_t id = t ? f->true_ids[n] : f->false_ids[n];
            if (t ? f->true_leaf[n] : f->false_leaf[n]) leaf = id;
            else n = sz(id);
          }
          double w = f->weights[sz(weight_at(leaf))];
          int64_t tgt = f->targets[sz(leaf)];
          if (tgt < 0 || tgt >= f->n_targets) throw Error(ErrorCode::kInvalidModel, "TreeEnsemble: target id out of range");
          double& a = acc[sz(tgt)];
          if (f->aggregate == 1) a += w;
          else if (f->aggregate == 0) a += w / static_cast<double>(f->roots.size());
          else if (f->aggregate == 2) a = std::min(a, w);
          else a = std::max(a, w);
        }
        for (int64_t t = 0; t < f->n_targets; ++t) py[r * f->n_targets + t] = static_cast<T>(acc[sz(t)]);
      }
    });
  });
}

}  // namespace

std::unique_ptr<Kernel> make_tree_ensemble_kernel(const KernelInit& init) { return make_tree_ensemble(init); }

}  // namespace dynrt::cpu
