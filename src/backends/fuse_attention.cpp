// Attention fusion shared by the providers (fuse_attention.h).
#include "backends/fuse_attention.h"

#include <optional>
#include <utility>

#include "core/half.h"

namespace dynrt {
namespace {

struct Matcher {
  ir::Graph& g;
  int self;
  bool (*dtype_ok)(DType);
  std::vector<int> uses;

  const ir::Value& val(int v) const { return g.values[static_cast<size_t>(v)]; }
  // The node producing v if it is an op of provider `self`, else null.
  ir::Node* made_by(int v, const char* op) {
    if (v < 0) return nullptr;
    int p = val(v).producer;
    if (p < 0) return nullptr;
    ir::Node& n = g.nodes[static_cast<size_t>(p)];
    return n.provider == self && n.domain.empty() && n.op == op ? &n : nullptr;
  }
  bool single_use(int v) const { return v >= 0 && uses[static_cast<size_t>(v)] == 1; }
  bool rank4(int v) const { return v >= 0 && val(v).rank_known && val(v).shape.size() == 4 && dtype_ok(val(v).dtype); }

  std::optional<double> scalar(int v) const {
    if (v < 0 || !val(v).constant || val(v).constant->numel() != 1) return std::nullopt;
    const Tensor& t = *val(v).constant;
    switch (t.dtype()) {
      case DType::kFloat32: return t.data_as<float>()[0];
      case DType::kFloat16: return half_to_float(t.data_as<uint16_t>()[0]);
      case DType::kBFloat16: return bf16_to_float(t.data_as<uint16_t>()[0]);
      default: return std::nullopt;
    }
  }

  // v = Mul(x, c) / Div(x, c) with a scalar constant c, v used once: x and the factor.
  int unscale(int v, double& factor) {
    if (!single_use(v)) return v;
    for (const char* op : {"Mul", "Div"}) {
      ir::Node* n = made_by(v, op);
      if (!n || n->inputs.size() != 2) continue;
      for (int side = 0; side < 2; ++side) {
        if (op[0] == 'D' && side == 0) continue;  // c / x is not a scaling
        std::optional<double> c = scalar(n->inputs[static_cast<size_t>(side)]);
        int x = n->inputs[static_cast<size_t>(1 - side)];
        if (!c || *c == 0 || !rank4(x)) continue;
        factor *= op[0] == 'M' ? *c : 1.0 / *c;
        return x;
      }
    }
    return v;
  }

  bool softmax_last_axis(const ir::Node& sm) const {
    auto it = sm.attrs.find("axis");
    int64_t axis = it != sm.attrs.end() ? it->second.i : (g.opset >= 13 ? -1 : 1);
    return axis == -1 || axis == 3;
  }

  // The dynamo exporter transposes K in 3-D: K^T = Reshape(Transpose(0, 2, 1)(
  // Reshape(K, [B*H, S, D])), [B, H, D, S]). The merges and splits of the
  // leading dims only view the bytes, so that K^T is K's own transpose: K
  // itself, or -1 when kt is not that chain.
  int key_through_3d(int kt) {
    ir::Node* back = made_by(kt, "Reshape");
    if (!back || !single_use(kt) || back->inputs.empty()) return -1;
    const int y = back->inputs[0];
    ir::Node* t = made_by(y, "Transpose");
    if (!t || !single_use(y) || t->inputs.size() != 1 || !t->attrs.count("perm") ||
        t->attrs.at("perm").ints != std::vector<int64_t>{0, 2, 1})
      return -1;
    const int x3 = t->inputs[0];
    ir::Node* merge = made_by(x3, "Reshape");
    if (!merge || !single_use(x3) || merge->inputs.empty()) return -1;
    const int k4 = merge->inputs[0];
    if (!rank4(k4) || !rank4(kt) || !val(x3).rank_known || val(x3).shape.size() != 3) return -1;
    const std::vector<Expr>&k = val(k4).shape, &kts = val(kt).shape, &m = val(x3).shape;
    const bool views = m[0] == k[0] * k[1] && m[1] == k[2] && m[2] == k[3];
    const bool transposed = kts[0] == k[0] && kts[1] == k[1] && kts[2] == k[3] && kts[3] == k[2];
    return views && transposed ? k4 : -1;
  }

  // The value whose Transpose gives K (perm fixed up), or a new Transpose of kt.
  int key_from(int kt, size_t at, std::vector<ir::Node>& inserted) {
    if (ir::Node* t = made_by(kt, "Transpose"); t && single_use(kt) && t->attrs.count("perm")) {
      std::vector<int64_t>& p = t->attrs["perm"].ints;
      if (p.size() == 4) {
        std::swap(p[2], p[3]);  // the same Transpose now gives K itself
        std::swap(g.values[static_cast<size_t>(kt)].shape[2], g.values[static_cast<size_t>(kt)].shape[3]);
        return kt;
      }
    }
    if (int k = key_through_3d(kt); k >= 0) return k;
    ir::Node t;
    t.op = "Transpose";
    t.name = g.nodes[at].name + "/key";
    t.provider = self;
    ir::Attribute perm;
    perm.type = ir::Attribute::Type::kInts;
    perm.ints = {0, 1, 3, 2};
    t.attrs["perm"] = perm;
    int k = g.add_value(val(kt).name + "@key");
    ir::Value& kv = g.values[static_cast<size_t>(k)];
    const ir::Value& ktv = val(kt);
    kv.dtype = ktv.dtype;
    kv.rank_known = true;
    kv.shape = {ktv.shape[0], ktv.shape[1], ktv.shape[3], ktv.shape[2]};
    kv.provider = ktv.provider;
    t.inputs = {kt};
    t.outputs = {k};
    inserted.push_back(std::move(t));
    return k;
  }

  // Rewrites the pattern ending at node `at` (the second MatMul); false if it is not one.
  bool match(size_t at, std::vector<ir::Node>& inserted) {
    ir::Node& mm2 = g.nodes[at];
    if (mm2.provider != self || !mm2.domain.empty() || mm2.op != "MatMul" || mm2.inputs.size() != 2) return false;
    int p = mm2.inputs[0], v = mm2.inputs[1];
    if (!rank4(p) || !rank4(v) || !rank4(mm2.outputs[0])) return false;
    // [Where(IsNaN(p), 0, p)]
    if (ir::Node* w = made_by(p, "Where"); w && single_use(p) && w->inputs.size() == 3) {
      int probs = w->inputs[2];
      ir::Node* isnan = made_by(w->inputs[0], "IsNaN");
      std::optional<double> zero = scalar(w->inputs[1]);
      if (!isnan || isnan->inputs[0] != probs || !single_use(w->inputs[0]) || !zero || *zero != 0 ||
          uses[static_cast<size_t>(probs)] != 2)
        return false;
      p = probs;
    } else if (!single_use(p)) {
      return false;
    }
    ir::Node* sm = made_by(p, "Softmax");
    if (!sm || !softmax_last_axis(*sm)) return false;
    int x = sm->inputs[0], mask = -1;
    if (!single_use(x)) return false;
    if (ir::Node* add = made_by(x, "Add"); add && add->inputs.size() == 2) {
      // The scores side leads (through an optional scaling) to a MatMul.
      for (int side = 0; side < 2; ++side) {
        double f = 1;
        int s = unscale(add->inputs[static_cast<size_t>(side)], f);
        if (made_by(s, "MatMul") && single_use(s)) {
          x = add->inputs[static_cast<size_t>(side)];
          mask = add->inputs[static_cast<size_t>(1 - side)];
          break;
        }
      }
      if (mask < 0 || !single_use(x) || val(add->outputs[0]).shape != val(x).shape) return false;
      // A mask expanded to the scores' shape: the Attention broadcasts the
      // Expand's input itself (passes/sink_expand.cpp moves the expansion of
      // exported masks here), reading S times fewer mask elements.
      if (ir::Node* e = made_by(mask, "Expand"); e && e->inputs.size() == 2 && e->inputs[0] >= 0 &&
                                                  val(e->inputs[0]).rank_known && val(e->inputs[0]).shape.size() <= 4 &&
                                                  val(e->inputs[0]).dtype == val(mask).dtype)
        mask = e->inputs[0];
      const ir::Value& m = val(mask);
      // Attention takes a mask of rank 1 to 4 (a scalar added to every score is not one).
      if (!m.rank_known || m.shape.empty() || m.shape.size() > 4 || m.dtype != val(x).dtype) return false;
    }
    double scale = 1;
    int scores = unscale(x, scale);
    ir::Node* mm1 = made_by(scores, "MatMul");
    if (!mm1 || !single_use(scores) || mm1->inputs.size() != 2) return false;
    int q = unscale(mm1->inputs[0], scale), kt = unscale(mm1->inputs[1], scale);
    if (!rank4(q) || !rank4(kt) || val(q).dtype != val(v).dtype || val(kt).dtype != val(v).dtype) return false;
    const std::vector<Expr>&qs = val(q).shape, &ks = val(kt).shape, &vs = val(v).shape;
    // Same batch and heads everywhere; K^T is [.., head_dim, seq_kv], V [.., seq_kv, head_dim_v].
    if (qs[0] != ks[0] || qs[0] != vs[0] || qs[1] != ks[1] || qs[1] != vs[1] || qs[3] != ks[2] || ks[3] != vs[2])
      return false;

    int k = key_from(kt, at, inserted);
    ir::Node att;
    att.op = "Attention";
    att.name = mm2.name.empty() ? "attention" : mm2.name + "/attention";
    att.provider = self;
    att.inputs = {q, k, v};
    if (mask >= 0) att.inputs.push_back(mask);
    att.outputs = {mm2.outputs[0]};
    ir::Attribute sc;
    sc.type = ir::Attribute::Type::kFloat;
    sc.f = static_cast<float>(scale);
    att.attrs["scale"] = sc;
    ir::Attribute fused;
    fused.type = ir::Attribute::Type::kString;
    fused.s = "Attention";
    att.attrs["dynrt.fused"] = fused;
    inserted.push_back(std::move(att));
    return true;
  }
};

}  // namespace

bool fuse_attention(ir::Graph& g, int self, bool (*dtype_ok)(DType)) {
  g.recompute_producers();
  Matcher m{g, self, dtype_ok, g.count_uses()};
  // Match first (a match may retarget an earlier Transpose in place), then
  // rebuild the node list with each second MatMul replaced by what replaces
  // it. The old chains' nodes are left to dead-code elimination.
  std::vector<std::vector<ir::Node>> replace(g.nodes.size());
  std::vector<bool> matched(g.nodes.size(), false);
  bool changed = false;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    matched[k] = m.match(k, replace[k]);
    changed = changed || matched[k];
  }
  if (!changed) return false;
  std::vector<ir::Node> out;
  out.reserve(g.nodes.size());
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (!matched[k]) {
      out.push_back(std::move(g.nodes[k]));
      continue;
    }
    for (ir::Node& n : replace[k]) out.push_back(std::move(n));
  }
  g.nodes = std::move(out);
  g.recompute_producers();
  return true;
}

}  // namespace dynrt
