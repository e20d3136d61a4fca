// FlexAttention (ai.onnx.preview) with score_mod or prob_mod subgraphs, as
// the ops its definition is written in:
//   scores = (Q @ K^T) * scale          (in softmax_precision's type)
//   scores = score_mod(scores)          (the subgraph's nodes, inlined)
//   probs  = Softmax(scores, axis=-1)
//   probs  = prob_mod(probs)
//   Y      = probs @ V
// With fewer K/V heads than Q heads (GQA), query head h uses K/V head
// h / group: Q reshaped to [B, Hkv, group * L, E] meets each K/V head in one
// MatMul, and the results are reshaped back. Without subgraphs the node
// stays whole (the CPU provider's fused kernel).
#include <cmath>

#include "dynrt/error.h"
#include "passes/pass.h"

namespace dynrt::passes {
namespace {

Tensor ints(std::vector<int64_t> v) {
  Tensor t(DType::kInt64, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data_as<int64_t>()[i] = v[i];
  return t;
}

}  // namespace

bool expand_flex_attention(ir::Graph& g, size_t k) {
  const ir::Node n = g.nodes[k];
  if (n.op != "FlexAttention" || n.domain != "ai.onnx.preview") return false;
  auto graph_of = [&](const char* name) -> const ir::Graph* {
    auto it = n.attrs.find(name);
    if (it == n.attrs.end()) return nullptr;
    if (it->second.type != ir::Attribute::Type::kGraph || !it->second.graph)
      throw Error(ErrorCode::kInvalidModel, g.node_label(n) + ": '" + name + "' is not a graph");
    return it->second.graph.get();
  };
  const ir::Graph *score_mod = graph_of("score_mod"), *prob_mod = graph_of("prob_mod");
  if (!score_mod && !prob_mod) return false;
  const std::string label = g.node_label(n);
  if (n.inputs.size() != 3 || n.outputs.size() != 1 || n.inputs[0] < 0 || n.inputs[1] < 0 || n.inputs[2] < 0)
    throw Error(ErrorCode::kInvalidModel, label + ": FlexAttention takes Q, K and V and gives Y");
  for (const ir::Graph* mod : {score_mod, prob_mod})
    if (mod && (mod->inputs.size() != 1 || mod->outputs.size() != 1))
      throw Error(ErrorCode::kInvalidModel, label + ": a modifier subgraph takes one tensor and gives one");
  const ir::Value &q = g.values[static_cast<size_t>(n.inputs[0])], &kv = g.values[static_cast<size_t>(n.inputs[1])];
  for (int i : n.inputs) {
    const ir::Value& v = g.values[static_cast<size_t>(i)];
    if (!v.rank_known || v.shape.size() != 4)
      throw Error(ErrorCode::kInvalidModel, label + ": Q, K and V must be 4-D ('" + v.name + "' is not)");
    if (v.dtype != q.dtype) throw Error(ErrorCode::kInvalidModel, label + ": K and V must have Q's type");
  }
  const DType t = q.dtype;
  if (t != DType::kFloat32 && t != DType::kFloat64 && t != DType::kFloat16 && t != DType::kBFloat16)
    throw Error(ErrorCode::kInvalidModel, label + ": Q must be a floating-point tensor");
  DType st = t == DType::kFloat64 ? DType::kFloat64 : DType::kFloat32;  // softmax_precision's default
  if (auto it = n.attrs.find("softmax_precision"); it != n.attrs.end()) st = static_cast<DType>(it->second.i);
  if (st != DType::kFloat32 && st != DType::kFloat64 && st != DType::kFloat16 && st != DType::kBFloat16)
    throw Error(ErrorCode::kInvalidModel, label + ": softmax_precision must be a floating-point type");
  const bool grouped = !(q.shape[1] == kv.shape[1]);
  const std::string tag = (n.name.empty() ? g.values[static_cast<size_t>(n.outputs[0])].name : n.name) + "/flex";

  std::vector<ir::Node> out;
  int counter = 0;
  auto value = [&](const std::string& what) {
    std::string name = tag + "/" + what;
    while (g.find_value(name) >= 0) name = tag + "/" + what + std::to_string(++counter);
    return g.add_value(name);
  };
  auto node = [&](const char* op, std::vector<int> ins, const std::string& what) {
    const int o = value(what);
    append_node(out, op, std::move(ins), {o}, tag + "/" + what);
    return o;
  };
  auto constant = [&](const std::string& what, Tensor c) { return g.add_constant(tag + "/" + what + std::to_string(++counter), std::move(c)); };
  auto attr_int = [](ir::Node& nd, const char* name, int64_t v) { nd.attrs[name] = ir::Attribute::of_int(v); };
  // Dims [from, to) of a value's shape, as a 1-D shape tensor.
  auto dims = [&](int v, int64_t from, int64_t to, const std::string& what) {
    const int shape = node("Shape", {v}, what + "_shape");
    return node("Slice", {shape, constant("start", ints({from})), constant("end", ints({to}))}, what);
  };
  auto cast = [&](int v, DType to, const std::string& what) {
    const int o = node("Cast", {v}, what);
    attr_int(out.back(), "to", static_cast<int64_t>(to));
    return o;
  };
  // [B, Hq, L, X] as [B, Hkv, group * L, X] (0 copies a dim, -1 takes the rest).
  auto by_kv_heads = [&](int v, const std::string& what) {
    const int kv_heads = dims(n.inputs[1], 1, 2, what + "_kv_heads");
    const int shape = node("Concat", {constant("zero", ints({0})), kv_heads, constant("rest", ints({-1, 0}))}, what + "_shape");
    attr_int(out.back(), "axis", 0);
    return node("Reshape", {v, shape}, what);
  };
  // [B, Hkv, group * L, X] back to [B, Hq, L, X], X dim `x_dim` of value `x_of`.
  auto by_q_heads = [&](int v, int x_of, int64_t x_dim, const std::string& what) {
    const int shape = node("Concat", {dims(n.inputs[0], 0, 3, what + "_bhl"), dims(x_of, x_dim, x_dim + 1, what + "_x")},
                           what + "_shape");
    attr_int(out.back(), "axis", 0);
    return node("Reshape", {v, shape}, what);
  };

  const int k_t = node("Transpose", {n.inputs[1]}, "k_t");
  out.back().attrs["perm"].type = ir::Attribute::Type::kInts;
  out.back().attrs["perm"].ints = {0, 1, 3, 2};
  int scores = node("MatMul", {grouped ? by_kv_heads(n.inputs[0], "q_grouped") : n.inputs[0], k_t}, "qk");
  if (grouped) scores = by_q_heads(scores, n.inputs[1], 2, "scores_by_head");  // [.., L, S]
  if (st != t) scores = cast(scores, st, "scores_cast");
  int scale = -1;
  if (auto it = n.attrs.find("scale"); it != n.attrs.end()) {
    Tensor s(DType::kFloat64, {});
    *s.data_as<double>() = it->second.f;
    scale = cast(constant("scale", std::move(s)), st, "scale");
  } else {  // 1 / sqrt(head size), folded where the head size is known
    const int e = cast(dims(n.inputs[0], 3, 4, "head_size"), st, "head_size_cast");
    scale = node("Reciprocal", {node("Sqrt", {e}, "sqrt_head_size")}, "scale");
  }
  scores = node("Mul", {scores, scale}, "scores");
  if (score_mod) {
    std::vector<int> id(score_mod->values.size(), -1);
    id[static_cast<size_t>(score_mod->inputs[0])] = scores;
    id = splice_subgraph(g, *score_mod, std::move(id), tag + "/score_mod", label, out);
    scores = id[static_cast<size_t>(score_mod->outputs[0])];
  }
  int probs = node("Softmax", {scores}, "probs");
  attr_int(out.back(), "axis", -1);
  if (prob_mod) {
    std::vector<int> id(prob_mod->values.size(), -1);
    id[static_cast<size_t>(prob_mod->inputs[0])] = probs;
    id = splice_subgraph(g, *prob_mod, std::move(id), tag + "/prob_mod", label, out);
    probs = id[static_cast<size_t>(prob_mod->outputs[0])];
  }
  if (st != t) probs = cast(probs, t, "probs_cast");
  int y = node("MatMul", {grouped ? by_kv_heads(probs, "probs_grouped") : probs, n.inputs[2]}, "pv");
  if (grouped) y = by_q_heads(y, n.inputs[2], 3, "y");  // [.., L, Ev]
  append_node(out, "Identity", {y}, {n.outputs[0]}, tag + "/output");
  g.nodes.erase(g.nodes.begin() + static_cast<ptrdiff_t>(k));
  g.nodes.insert(g.nodes.begin() + static_cast<ptrdiff_t>(k), out.begin(), out.end());
  g.recompute_producers();
  return true;
}

}  // namespace dynrt::passes
