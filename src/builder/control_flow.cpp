// If (condition known only at run time), Loop and SequenceMap: each subgraph
// is built as an engine of its own and the node becomes dynrt.If / dynrt.Loop
// / dynrt.SequenceMap, which the
// runtime runs by calling those engines (runtime/control_flow.cpp).
//
// A subgraph engine's inputs are the subgraph's own (a Loop body's iteration
// number, condition and carried values) followed by the outer values it
// reads by name. Each dim of those inputs is an input symbol standing for
// the outer expression it had (one symbol per distinct expression, so outer
// dims that were equal stay equal), with the outer range and opt; that map
// turns the engine's output shapes back into outer expressions. A Loop's
// carried dim that the body changes gets a symbol of its own over
// [0, 2^40] instead, found by building until the body keeps every other dim.
#include "builder/control_flow.h"

#include <algorithm>
#include <optional>
#include <set>

#include "dynrt/error.h"
#include "ops/control_flow.h"
#include "runtime/engine_file.h"

namespace dynrt {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 40;      // as profiles.cpp: the largest dim dynrt plans for
// Subgraph engines one top-level build may make: nested Ifs build both
// branches at every level, and a Loop may build its body more than once, so
// an untrusted model's nesting would otherwise multiply the builds.
constexpr int64_t kMaxSubgraphBuilds = 256;
thread_local int nesting = 0;         // lower_control_flow calls in progress on this thread
thread_local int64_t builds_made = 0;  // subgraph builds since the outermost one began

bool is_input(const ir::Graph& b, int id) { return std::find(b.inputs.begin(), b.inputs.end(), id) != b.inputs.end(); }

bool defined_in(const ir::Graph& b, const std::string& name) {
  const int id = b.find_value(name);
  if (id < 0) return false;
  const ir::Value& v = b.values[static_cast<size_t>(id)];
  return v.constant || v.producer >= 0 || is_input(b, id);
}

// Names a subgraph reads from enclosing graphs, its nested subgraphs' included, in first-use order.
void free_names(const ir::Graph& b, std::vector<std::string>& out) {
  std::set<std::string> seen;
  auto add = [&](const std::string& name) {
    if (!defined_in(b, name) && seen.insert(name).second) out.push_back(name);
  };
  for (const ir::Node& n : b.nodes) {
    for (int i : n.inputs)
      if (i >= 0) add(b.values[static_cast<size_t>(i)].name);
    for (const auto& [name, a] : n.attrs) {
      if (a.type != ir::Attribute::Type::kGraph || !a.graph) continue;
      std::vector<std::string> nested;
      free_names(*a.graph, nested);
      for (const std::string& s : nested) add(s);
    }
  }
  for (int o : b.outputs) add(b.values[static_cast<size_t>(o)].name);
}

const ir::Graph& graph_attr(const ir::Graph& g, const ir::Node& n, const char* name) {
  auto it = n.attrs.find(name);
  if (it == n.attrs.end() || it->second.type != ir::Attribute::Type::kGraph || !it->second.graph)
    throw Error(ErrorCode::kInvalidModel, g.node_label(n) + ": no " + name + " graph");
  return *it->second.graph;
}

Expr fresh_symbol(ir::Graph& g, const std::string& hint, int64_t hi) {
  hi = std::clamp<int64_t>(hi, 0, kMaxDim);
  return Expr::symbol(g.symbols.add(ir::Symbol{hint + std::to_string(g.symbols.size()), ir::SymbolKind::kDataDependent, 0, hi, hi}));
}

// A subgraph as a graph of its own, with the profile of its input symbols.
class Subgraph {
 public:
  Subgraph(const ir::Graph& outer, const ir::Graph& body, std::string label)
      : outer_(outer), label_(std::move(label)), g(body) {
    g.symbols = ir::SymbolTable();
    g.guards.clear();
    g.opset = outer.opset;
    g.providers = {"cpu"};
  }

  // Input i of the subgraph itself: this type, and dims standing for these
  // outer expressions (nullopt: a dim of its own over [0, 2^40], opt `free_opt`).
  void type_input(size_t i, DType dtype, const std::vector<std::optional<Expr>>& dims,
                  const std::vector<int64_t>& free_opt = {}) {
    if (i >= g.inputs.size()) throw Error(ErrorCode::kInvalidModel, label_ + ": the body has too few inputs");
    ir::Value& v = g.values[static_cast<size_t>(g.inputs[i])];
    v.dtype = dtype;
    v.rank_known = true;
    v.shape.clear();
    for (size_t d = 0; d < dims.size(); ++d)
      v.shape.push_back(dims[d] ? dim(*dims[d]) : free_dim(v.name + "_dim" + std::to_string(d), free_opt.at(d)));
  }

  // Input i of the subgraph itself: a sequence or optional.
  void type_boxed_input(size_t i, ValueKind kind, DType dtype, int elem_rank) {
    if (i >= g.inputs.size()) throw Error(ErrorCode::kInvalidModel, label_ + ": the body has too few inputs");
    ir::Value& v = g.values[static_cast<size_t>(g.inputs[i])];
    v.kind = kind;
    v.dtype = dtype;
    v.elem_rank = elem_rank;
    v.rank_known = false;
    v.shape.clear();
  }

  // The outer values the subgraph reads: constants are copied in, the rest
  // become inputs after its own.
  void capture(const ir::Graph& body) {
    std::vector<std::string> names;
    free_names(body, names);
    for (const std::string& name : names) {
      const int o = outer_.find_value(name);
      if (o < 0) throw Error(ErrorCode::kInvalidModel, label_ + " reads '" + name + "', which is not defined");
      const ir::Value& ov = outer_.values[static_cast<size_t>(o)];
      int id = g.find_value(name);
      if (id < 0) id = g.add_value(name);
      ir::Value& v = g.values[static_cast<size_t>(id)];
      v.dtype = ov.dtype;
      if (ov.constant) {
        v.constant = ov.constant;
        v.rank_known = true;
        v.shape.clear();
        for (int64_t d : ov.constant->shape()) v.shape.push_back(Expr::constant(d));
        v.sym_value = ov.sym_value;
        continue;
      }
      if (ov.kind != ValueKind::kTensor) {  // a sequence or optional: passed as it is
        v.kind = ov.kind;
        v.elem_rank = ov.elem_rank;
        v.rank_known = false;
        v.shape.clear();
        g.inputs.push_back(id);
        captured.push_back(o);
        continue;
      }
      if (!ov.rank_known)
        throw Error(ErrorCode::kUnsupported, label_ + " reads '" + name + "', whose rank is known only at run time");
      v.rank_known = true;
      v.shape.clear();
      for (const Expr& d : ov.shape) v.shape.push_back(dim(d));
      g.inputs.push_back(id);
      captured.push_back(o);
    }
  }

  // Builds the engine; errors name the node and subgraph.
  std::shared_ptr<EngineImpl> build(const BuildConfig& outer_cfg, const BuildSubgraph& build_fn) const {
    BuildConfig cfg = outer_cfg;
    cfg.relations.clear();
    cfg.profiles.clear();
    if (!profile_.dims.empty()) cfg.profiles.push_back(profile_);
    if (outer_cfg.progress)
      cfg.progress = [p = outer_cfg.progress, l = label_](const std::string& m) { p(l + ": " + m); };
    if (++builds_made > kMaxSubgraphBuilds)
      throw Error(ErrorCode::kUnsupported, label_ + ": the model's control flow needs more than " +
                                               std::to_string(kMaxSubgraphBuilds) + " subgraph engines");
    try {
      return build_fn(g, cfg);
    } catch (const Error& e) {  // a plain Error: symbols named inside mean nothing outside
      throw Error(e.code(), label_ + ": " + e.what());
    }
  }

  // Output i of the built engine: its type, and each dim as an outer
  // expression (nullopt where it depends on something else) with an upper bound.
  struct OuterDim {
    std::optional<Expr> expr;
    int64_t hi = kMaxDim;
  };
  std::vector<OuterDim> output_dims(const EngineImpl& e, size_t i, DType& dtype) const {
    std::vector<OuterDim> out;
    if (!e.variants.empty()) {
      const TensorInfo& t = e.variant_outputs.at(i);
      dtype = t.dtype;
      if (t.kind != ValueKind::kTensor) return out;
      if (!t.rank_known)
        throw Error(ErrorCode::kUnsupported, label_ + ": output '" + t.name + "' has a rank that depends on input dims");
      dtype = t.dtype;
      out.resize(t.dims.size());
      return out;
    }
    const ir::Value& v = e.graph.values[static_cast<size_t>(e.graph.outputs.at(i))];
    dtype = v.dtype;
    for (const Expr& d : v.shape) {
      OuterDim od;
      od.hi = std::min(kMaxDim, d.bounds(e.graph.symbols).hi);
      bool mapped = true;
      for (int s : d.symbols()) mapped = mapped && static_cast<size_t>(s) < outer_of_.size() && outer_of_[static_cast<size_t>(s)];
      if (mapped)
        od.expr = d.substitute([&](int s, Expr& to) {
          to = *outer_of_[static_cast<size_t>(s)];
          return true;
        });
      out.push_back(od);
    }
    return out;
  }

  // Output i's kind and, for a sequence or optional, its elements' rank.
  std::pair<ValueKind, int> output_kind(const EngineImpl& e, size_t i) const {
    if (!e.variants.empty()) return {e.variant_outputs.at(i).kind, -1};
    const ir::Value& v = e.graph.values[static_cast<size_t>(e.graph.outputs.at(i))];
    return {v.kind, v.elem_rank};
  }

  // The shape of input i as built (inner expressions), to compare with an output's.
  const std::vector<Expr>& input_shape(size_t i) const { return g.values[static_cast<size_t>(g.inputs.at(i))].shape; }

  std::vector<int> captured;  // outer value ids, in input order after the subgraph's own

 private:
  Expr dim(const Expr& e) {
    if (e.is_const()) return e;
    for (const auto& [oe, s] : symbol_of_)
      if (oe == e) return Expr::symbol(s);
    const Interval b = e.bounds(outer_.symbols);
    const int64_t lo = std::clamp<int64_t>(b.lo, 0, kMaxDim), hi = std::clamp<int64_t>(b.hi, lo, kMaxDim);
    bool from_inputs = true;
    for (int s : e.symbols()) from_inputs = from_inputs && outer_.symbols[s].kind == ir::SymbolKind::kInput;
    int64_t opt = lo;
    if (from_inputs) {
      std::vector<int64_t> binding(static_cast<size_t>(outer_.symbols.size()), 0);
      for (int s = 0; s < outer_.symbols.size(); ++s) binding[static_cast<size_t>(s)] = outer_.symbols[s].opt;
      opt = std::clamp(e.eval(binding), lo, hi);
    } else {
      opt = std::clamp<int64_t>(1, lo, hi);
    }
    const int s = add_symbol(e.str(&outer_.symbols), lo, opt, hi);
    symbol_of_.emplace_back(e, s);
    outer_of_.resize(static_cast<size_t>(s) + 1);
    outer_of_[static_cast<size_t>(s)] = e;
    return Expr::symbol(s);
  }

  Expr free_dim(const std::string& name, int64_t opt) {
    const int s = add_symbol(name, 0, std::clamp<int64_t>(opt, 0, kMaxDim), kMaxDim);
    outer_of_.resize(static_cast<size_t>(s) + 1);
    return Expr::symbol(s);
  }

  int add_symbol(std::string name, int64_t lo, int64_t opt, int64_t hi) {
    while (g.symbols.find(name) >= 0) name += "'";
    const int s = g.symbols.add(ir::Symbol{name, ir::SymbolKind::kInput, lo, hi, opt});
    profile_.dims[name] = DimRange{lo, opt, hi};
    return s;
  }

  const ir::Graph& outer_;
  std::string label_;
  std::vector<std::pair<Expr, int>> symbol_of_;  // outer expression -> inner symbol
  std::vector<std::optional<Expr>> outer_of_;    // inner symbol -> the outer expression it stands for
  Profile profile_;

 public:
  ir::Graph g;
};

std::string engine_attr(const EngineImpl& e, const std::string& label) {
  std::string bytes = engine_file_bytes(e);
  if (bytes.size() > UINT32_MAX)
    throw Error(ErrorCode::kUnsupported, label + ": its engine is over 4 GiB, more than an engine file holds for a subgraph");
  return bytes;
}

bool lower_if(ir::Graph& g, size_t k, const BuildConfig& cfg, const BuildSubgraph& build) {
  const ir::Node n = g.nodes[k];
  const std::string label = g.node_label(n);
  if (n.inputs.size() != 1 || n.inputs[0] < 0) throw Error(ErrorCode::kInvalidModel, label + ": If takes one input, the condition");
  const ir::Value& cond = g.values[static_cast<size_t>(n.inputs[0])];
  if (cond.rank_known && !cond.shape.empty() && !(cond.shape.size() == 1 && cond.shape[0] == Expr::constant(1)))
    throw Error(ErrorCode::kInvalidModel, label + ": its condition '" + cond.name + "' must hold one element");
  std::shared_ptr<EngineImpl> engines[2];
  std::string errors[2];  // a branch invalid over part of the range: its build error, given when it is taken
  std::vector<int> captured[2];
  std::vector<std::vector<Subgraph::OuterDim>> dims[2];
  std::vector<DType> types[2];
  std::vector<std::pair<ValueKind, int>> kinds[2];
  const char* names[2] = {"then_branch", "else_branch"};
  for (int b = 0; b < 2; ++b) {
    const ir::Graph& body = graph_attr(g, n, names[b]);
    if (body.outputs.size() != n.outputs.size())
      throw Error(ErrorCode::kInvalidModel, label + ": its " + names[b] + " has " + std::to_string(body.outputs.size()) +
                                                " outputs, the node " + std::to_string(n.outputs.size()));
    Subgraph sub(g, body, label + " " + names[b]);
    sub.capture(body);
    try {
      engines[b] = sub.build(cfg, build);
    } catch (const Error& e) {
      // A branch that only some inputs take may be invalid for the others
      // (ONNX's AffineGrid function branches on the rank it was given).
      if (e.code() != ErrorCode::kInvalidModel && e.code() != ErrorCode::kInvalidConfig) throw;
      if (b == 1 && !engines[0]) throw Error(e.code(), errors[0]);
      errors[b] = e.what();
      continue;
    }
    captured[b] = sub.captured;
    for (size_t j = 0; j < n.outputs.size(); ++j) {
      types[b].emplace_back();
      dims[b].push_back(sub.output_dims(*engines[b], j, types[b].back()));
      kinds[b].push_back(sub.output_kind(*engines[b], j));
    }
  }
  for (int b = 0; b < 2; ++b)  // the branch that built stands for both
    if (!engines[b]) {
      types[b] = types[1 - b];
      dims[b] = dims[1 - b];
      kinds[b] = kinds[1 - b];
    }
  for (size_t j = 0; j < n.outputs.size(); ++j) {
    if (n.outputs[j] < 0) continue;
    ir::Value& out = g.values[static_cast<size_t>(n.outputs[j])];
    if (types[0][j] != types[1][j])
      throw Error(ErrorCode::kInvalidModel, label + ": its branches give output '" + out.name + "' types " +
                                                dtype_name(types[0][j]) + " and " + dtype_name(types[1][j]));
    if (kinds[0][j].first != kinds[1][j].first)
      throw Error(ErrorCode::kInvalidModel, label + ": its branches give output '" + out.name + "' as a " +
                                                value_kind_name(kinds[0][j].first) + " and a " +
                                                value_kind_name(kinds[1][j].first));
    if (kinds[0][j].first != ValueKind::kTensor) {  // a sequence or optional: its elements' rank where both agree
      out.kind = kinds[0][j].first;
      out.dtype = types[0][j];
      out.elem_rank = ir::join_elem_rank(kinds[0][j].second, kinds[1][j].second);
      out.rank_known = false;
      out.shape.clear();
      out.constant.reset();
      out.sym_value.reset();
      continue;
    }
    if (dims[0][j].size() != dims[1][j].size())
      throw Error(ErrorCode::kUnsupported, label + ": its branches give output '" + out.name + "' ranks " +
                                               std::to_string(dims[0][j].size()) + " and " +
                                               std::to_string(dims[1][j].size()) + "; dynrt needs one rank");
    out.dtype = types[0][j];
    out.rank_known = true;
    out.shape.clear();
    out.constant.reset();
    out.sym_value.reset();
    for (size_t d = 0; d < dims[0][j].size(); ++d) {
      const Subgraph::OuterDim &a = dims[0][j][d], &b = dims[1][j][d];
      out.shape.push_back(a.expr && b.expr && *a.expr == *b.expr ? *a.expr
                                                                  : fresh_symbol(g, "if_dim", std::max(a.hi, b.hi)));
    }
  }
  ir::Node r;
  r.op = "If";
  r.domain = "dynrt";
  r.name = n.name;
  r.inputs = {n.inputs[0]};
  r.inputs.insert(r.inputs.end(), captured[0].begin(), captured[0].end());
  r.inputs.insert(r.inputs.end(), captured[1].begin(), captured[1].end());
  r.outputs = n.outputs;
  for (int b = 0; b < 2; ++b) {
    const std::string key = b == 0 ? "then" : "else";
    if (engines[b]) r.attrs[key + "_engine"] = ir::Attribute::of_string(engine_attr(*engines[b], label));
    else r.attrs[key + "_error"] = ir::Attribute::of_string(errors[b]);
  }
  r.attrs["then_inputs"] = ir::Attribute::of_int(static_cast<int64_t>(captured[0].size()));
  g.nodes[k] = std::move(r);
  g.recompute_producers();
  return true;
}

bool lower_loop(ir::Graph& g, size_t k, const BuildConfig& cfg, const BuildSubgraph& build) {
  const ir::Node n = g.nodes[k];
  const std::string label = g.node_label(n);
  const ir::Graph& body = graph_attr(g, n, "body");
  if (n.inputs.size() < 2) throw Error(ErrorCode::kInvalidModel, label + ": Loop takes at least two inputs (M, cond)");
  const size_t carried = n.inputs.size() - 2;
  if (body.inputs.size() != carried + 2 || body.outputs.size() < carried + 1 || n.outputs.size() != body.outputs.size() - 1)
    throw Error(ErrorCode::kInvalidModel, label + ": the body's inputs and outputs do not match the node's");
  const size_t scans = body.outputs.size() - 1 - carried;
  auto scalar_input = [&](size_t i, DType want, const char* what) {
    if (n.inputs[i] < 0) return;
    const ir::Value& v = g.values[static_cast<size_t>(n.inputs[i])];
    if (v.dtype != want || (v.rank_known && !v.shape.empty() && !(v.shape.size() == 1 && v.shape[0] == Expr::constant(1))))
      throw Error(ErrorCode::kInvalidModel, label + ": its " + what + " '" + v.name + "' must be one " + dtype_name(want));
  };
  scalar_input(0, DType::kInt64, "trip count");
  scalar_input(1, DType::kBool, "condition");
  std::vector<const ir::Value*> init(carried);
  for (size_t j = 0; j < carried; ++j) {
    if (n.inputs[2 + j] < 0) throw Error(ErrorCode::kInvalidModel, label + ": loop-carried input " + std::to_string(j) + " is missing");
    init[j] = &g.values[static_cast<size_t>(n.inputs[2 + j])];
    if (!init[j]->boxed() && !init[j]->rank_known)
      throw Error(ErrorCode::kUnsupported, label + ": loop-carried '" + init[j]->name + "' has a rank known only at run time");
  }
  // Which dims of each carried value the body may change: none at first,
  // then those a build showed changing, until a build keeps the rest.
  std::vector<std::vector<bool>> varies(carried);
  for (size_t j = 0; j < carried; ++j) varies[j].assign(init[j]->shape.size(), false);
  // A carried sequence's elements' rank: the initial value's, joined with what the body gives.
  std::vector<int> elem_rank(carried);
  for (size_t j = 0; j < carried; ++j) elem_rank[j] = init[j]->elem_rank;
  std::vector<std::pair<ValueKind, int>> out_kinds;
  std::shared_ptr<EngineImpl> engine;
  std::vector<int> captured;
  std::vector<std::vector<Subgraph::OuterDim>> out_dims;
  std::vector<DType> out_types;
  for (int attempt = 0;; ++attempt) {
    Subgraph sub(g, body, label + " body");
    sub.type_input(0, DType::kInt64, {});
    sub.type_input(1, DType::kBool, {});
    for (size_t j = 0; j < carried; ++j) {
      if (init[j]->boxed()) {
        sub.type_boxed_input(2 + j, init[j]->kind, init[j]->dtype, elem_rank[j]);
        continue;
      }
      std::vector<std::optional<Expr>> dims;
      std::vector<int64_t> opt;
      for (size_t d = 0; d < init[j]->shape.size(); ++d) {
        const Expr& e = init[j]->shape[d];
        dims.push_back(varies[j][d] ? std::nullopt : std::optional<Expr>(e));
        opt.push_back(std::clamp<int64_t>(e.bounds(g.symbols).lo, 0, kMaxDim));
      }
      sub.type_input(2 + j, init[j]->dtype, dims, opt);
    }
    sub.capture(body);
    engine = sub.build(cfg, build);
    captured = sub.captured;
    out_dims.clear();
    out_types.clear();
    out_kinds.clear();
    for (size_t i = 0; i < body.outputs.size(); ++i) {
      out_types.emplace_back();
      out_dims.push_back(sub.output_dims(*engine, i, out_types.back()));
      out_kinds.push_back(sub.output_kind(*engine, i));
    }
    if (out_kinds[0].first != ValueKind::kTensor)
      throw Error(ErrorCode::kInvalidModel, label + ": the body's first output (the condition) must be one bool");
    for (size_t i = 1 + carried; i < out_kinds.size(); ++i)
      if (out_kinds[i].first != ValueKind::kTensor)
        throw Error(ErrorCode::kInvalidModel, label + ": the body's scan output " + std::to_string(i - 1 - carried) +
                                                  " is a " + value_kind_name(out_kinds[i].first) + "; scan outputs are tensors");
    const bool one = out_dims[0].empty() || (out_dims[0].size() == 1 && out_dims[0][0].expr == Expr::constant(1));
    if (out_types[0] != DType::kBool || !one)
      throw Error(ErrorCode::kInvalidModel, label + ": the body's first output (the condition) must be one bool");
    bool changed = false;
    for (size_t j = 0; j < carried; ++j) {
      const auto [kind, rank] = out_kinds[1 + j];
      // A carried optional sequence may come back as a plain sequence (a present optional).
      const bool kind_ok = kind == init[j]->kind ||
                           (init[j]->kind == ValueKind::kOptionalSequence && kind == ValueKind::kSequence);
      if (!kind_ok || (kind != ValueKind::kTensor && out_types[1 + j] != init[j]->dtype))
        throw Error(ErrorCode::kInvalidModel, label + ": the body gives loop-carried '" + init[j]->name +
                                                  "' another kind or type than its initial value");
      if (kind != ValueKind::kTensor) {
        const int joined = ir::join_elem_rank(elem_rank[j], rank);
        changed = changed || joined != elem_rank[j];
        elem_rank[j] = joined;
        continue;
      }
      const std::vector<Subgraph::OuterDim>& od = out_dims[1 + j];
      if (out_types[1 + j] != init[j]->dtype || od.size() != init[j]->shape.size())
        throw Error(ErrorCode::kInvalidModel, label + ": the body gives loop-carried '" + init[j]->name +
                                                  "' another type or rank than its initial value");
      for (size_t d = 0; d < od.size(); ++d)
        if (!varies[j][d] && !(od[d].expr && *od[d].expr == init[j]->shape[d])) {
          varies[j][d] = true;
          changed = true;
        }
    }
    if (!changed) break;
    if (attempt == 2)  // rare chains of carried values: give every dim its own symbol
      for (auto& v : varies) v.assign(v.size(), true);
  }
  // Outputs: the carried values' final values, then each scan output stacked over the iterations.
  int64_t trip_hi = kMaxLoopIterations;
  if (n.inputs[0] >= 0) {
    const ir::Value& m = g.values[static_cast<size_t>(n.inputs[0])];
    if (m.sym_value && m.sym_value->size() == 1) trip_hi = std::min(trip_hi, std::max<int64_t>(0, (*m.sym_value)[0].bounds(g.symbols).hi));
  }
  Expr trips = scans > 0 ? fresh_symbol(g, "loop_iterations", trip_hi) : Expr::constant(0);
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    if (n.outputs[i] < 0) continue;
    ir::Value& out = g.values[static_cast<size_t>(n.outputs[i])];
    out.dtype = out_types[1 + i];
    out.rank_known = true;
    out.shape.clear();
    out.constant.reset();
    out.sym_value.reset();
    if (i < carried && out_kinds[1 + i].first != ValueKind::kTensor) {
      out.kind = out_kinds[1 + i].first;
      out.elem_rank = elem_rank[i];
      out.rank_known = false;
    } else if (i < carried) {
      for (size_t d = 0; d < init[i]->shape.size(); ++d)
        out.shape.push_back(varies[i][d] ? fresh_symbol(g, "loop_dim", kMaxDim) : init[i]->shape[d]);
    } else {
      out.shape.push_back(trips);
      for (const Subgraph::OuterDim& od : out_dims[1 + i]) out.shape.push_back(od.expr ? *od.expr : fresh_symbol(g, "loop_dim", od.hi));
    }
  }
  ir::Node r;
  r.op = "Loop";
  r.domain = "dynrt";
  r.name = n.name;
  r.inputs = n.inputs;
  r.inputs.insert(r.inputs.end(), captured.begin(), captured.end());
  r.outputs = n.outputs;
  r.attrs["body_engine"] = ir::Attribute::of_string(engine_attr(*engine, label));
  r.attrs["carried"] = ir::Attribute::of_int(static_cast<int64_t>(carried));
  // Carried tensors whose every dim the body keeps: the runtime writes them
  // into buffers it reuses across iterations.
  ir::Attribute fixed;
  fixed.type = ir::Attribute::Type::kInts;
  for (size_t j = 0; j < carried; ++j)
    fixed.ints.push_back(!init[j]->boxed() && std::find(varies[j].begin(), varies[j].end(), true) == varies[j].end());
  r.attrs["fixed_carried"] = fixed;
  g.nodes[k] = std::move(r);
  g.recompute_producers();
  return true;
}

// SequenceMap: the body runs once per position of the input sequences, on
// their elements there (and on the tensor inputs whole); each output is the
// sequence of what it gave. Built as an engine with a dim of its own over
// [0, 2^40] for each dim of a sequence's elements.
bool lower_sequence_map(ir::Graph& g, size_t k, const BuildConfig& cfg, const BuildSubgraph& build) {
  const ir::Node n = g.nodes[k];
  const std::string label = g.node_label(n);
  const ir::Graph& body = graph_attr(g, n, "body");
  if (n.inputs.empty() || n.inputs[0] < 0) throw Error(ErrorCode::kInvalidModel, label + ": its first input, a sequence, is missing");
  if (body.inputs.size() != n.inputs.size() || body.outputs.size() != n.outputs.size())
    throw Error(ErrorCode::kInvalidModel, label + ": the body's inputs and outputs do not match the node's");
  Subgraph sub(g, body, label + " body");
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] < 0) throw Error(ErrorCode::kInvalidModel, label + ": input " + std::to_string(i) + " is missing");
    const ir::Value& v = g.values[static_cast<size_t>(n.inputs[i])];
    if (v.kind == ValueKind::kSequence) {
      if (v.elem_rank < 0)
        throw Error(ErrorCode::kUnsupported, label + ": the rank of the tensors in sequence '" + v.name +
                                                 "' is not known at build time");
      const auto r = static_cast<size_t>(v.elem_rank);
      sub.type_input(i, v.dtype, std::vector<std::optional<Expr>>(r), std::vector<int64_t>(r, 1));
    } else if (v.kind == ValueKind::kTensor && v.rank_known) {
      std::vector<std::optional<Expr>> dims(v.shape.begin(), v.shape.end());
      sub.type_input(i, v.dtype, dims);
    } else {
      throw Error(ErrorCode::kUnsupported, label + ": input '" + v.name + "' is a " + value_kind_name(v.kind) +
                                               (v.kind == ValueKind::kTensor ? " of unknown rank" : "") +
                                               "; SequenceMap takes sequences and tensors");
    }
    if (i == 0 && v.kind != ValueKind::kSequence)
      throw Error(ErrorCode::kInvalidModel, label + ": its first input '" + v.name + "' must be a sequence");
  }
  sub.capture(body);
  std::shared_ptr<EngineImpl> engine = sub.build(cfg, build);
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    DType dtype = DType::kUndefined;
    const size_t rank = sub.output_dims(*engine, i, dtype).size();
    if (sub.output_kind(*engine, i).first != ValueKind::kTensor)
      throw Error(ErrorCode::kUnsupported, label + ": the body's output " + std::to_string(i) + " is not a tensor");
    if (n.outputs[i] < 0) continue;
    ir::Value& out = g.values[static_cast<size_t>(n.outputs[i])];
    out.kind = ValueKind::kSequence;
    out.dtype = dtype;
    out.elem_rank = static_cast<int>(rank);
    out.rank_known = false;
    out.shape.clear();
    out.constant.reset();
    out.sym_value.reset();
  }
  ir::Node r;
  r.op = "SequenceMap";
  r.domain = "dynrt";
  r.name = n.name;
  r.inputs = n.inputs;
  r.inputs.insert(r.inputs.end(), sub.captured.begin(), sub.captured.end());
  r.outputs = n.outputs;
  r.attrs["body_engine"] = ir::Attribute::of_string(engine_attr(*engine, label));
  r.attrs["mapped"] = ir::Attribute::of_int(static_cast<int64_t>(n.inputs.size()));
  g.nodes[k] = std::move(r);
  g.recompute_producers();
  return true;
}

}  // namespace

bool lower_control_flow(ir::Graph& g, size_t k, const BuildConfig& cfg, const BuildSubgraph& build) {
  const ir::Node& n = g.nodes[k];
  if (!n.domain.empty() || (n.op != "If" && n.op != "Loop" && n.op != "SequenceMap")) return false;
  struct Nesting {  // counts the builds of one outermost call, nested ones included
    Nesting() {
      if (nesting++ == 0) builds_made = 0;
    }
    ~Nesting() { --nesting; }
  } scope;
  if (n.op == "SequenceMap") return lower_sequence_map(g, k, cfg, build);
  return n.op == "If" ? lower_if(g, k, cfg, build) : lower_loop(g, k, cfg, build);
}

}  // namespace dynrt
