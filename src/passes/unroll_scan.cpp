// Scan (opset 9 and later) whose sequence length is a constant at build time
// and at most kMaxSteps: the body is repeated once per step, so the rest of
// the build sees plain nodes. Step t reads element t of each scan input
// along its axis (Gather with a scalar index, which drops the axis; from the
// end for reversed inputs), the states flow from one step's body to the
// next, and each scan output is the steps' values stacked along its axis
// (Unsqueeze, then Concat; reversed for reversed outputs). A Scan whose
// length is known only at run time (over more values than engine variants
// cover), or longer, or whose body holds a Scan or Loop, runs as a Loop
// instead (scan_as_loop.cpp).
#include <string>

#include "dynrt/error.h"
#include "ops/specialize.h"
#include "passes/pass.h"

namespace dynrt::passes {
namespace {

constexpr int64_t kMaxSteps = 256;
// The graph after unrolling, nested Scans included: a bound on what an untrusted model can make us build.
constexpr int64_t kMaxGraphNodes = 200000;

std::vector<int64_t> ints_attr(const ir::Node& n, const char* name) {
  auto it = n.attrs.find(name);
  return it == n.attrs.end() ? std::vector<int64_t>{} : it->second.ints;
}

int64_t int_attr(const ir::Node& n, const char* name, int64_t def) {
  auto it = n.attrs.find(name);
  return it == n.attrs.end() ? def : it->second.i;
}

// Scan before opset 9 runs each batch element's sequence: inputs
// (sequence_lens, states..., scan inputs...), every one with the batch first
// and scan inputs [batch, sequence, ...]. As one opset-9 Scan per batch
// element (marked dynrt.scan9: the graph's opset would say 8) on that
// element's slices, stacked back along the batch: for a batch size known at
// build time (a few input-dim values: one engine per value). sequence_lens
// (sequences of other lengths, padded) is not supported.
bool batched_scan_as_scans(ir::Graph& g, size_t k) {
  const ir::Node n = g.nodes[k];
  const std::string label = g.node_label(n);
  if (!n.inputs.empty() && n.inputs[0] >= 0)
    throw Error(ErrorCode::kUnsupported, label + ": Scan before opset 9 with sequence_lens is not supported");
  const int64_t m = int_attr(n, "num_scan_inputs", -1);
  const auto n_in = static_cast<int64_t>(n.inputs.size()) - 1;
  if (m < 1 || m > n_in) throw Error(ErrorCode::kInvalidModel, label + ": num_scan_inputs must be in [1, inputs - 1]");
  Expr batch;
  for (size_t i = 1; i < n.inputs.size(); ++i) {
    const ir::Value& v = g.values[static_cast<size_t>(n.inputs[i])];
    if (n.inputs[i] < 0 || !v.rank_known || v.shape.size() < (static_cast<int64_t>(i) > n_in - m ? 2u : 1u))
      throw Error(ErrorCode::kInvalidModel, label + ": its inputs must have a batch dim (and scan inputs a sequence dim)");
    if (!v.shape[0].is_const()) {
      if (!g.run_time_control_flow)
        throw NeedsSpecialization(label + ": its batch size is known only at run time", v.shape[0].symbols(), false);
      throw Error(ErrorCode::kUnsupported, label + ": Scan before opset 9 needs its batch size at build time");
    }
    batch = v.shape[0];
  }
  const int64_t batches = batch.const_value();
  if (batches < 1 || batches > kMaxSteps)
    throw Error(ErrorCode::kUnsupported, label + ": Scan before opset 9 over a batch of " + std::to_string(batches) +
                                             " (dynrt takes 1 to " + std::to_string(kMaxSteps) + ")");
  const std::string tag = (n.name.empty() ? g.values[static_cast<size_t>(n.outputs.at(0))].name : n.name) + "/batch";
  std::vector<ir::Node> out;
  std::vector<std::vector<int>> per_batch(n.outputs.size());
  for (int64_t b = 0; b < batches; ++b) {
    const std::string bt = tag + std::to_string(b);
    Tensor index(DType::kInt64, {});
    *index.data_as<int64_t>() = b;
    const int idx = g.add_constant(bt + "/index", std::move(index));
    ir::Node scan = n;
    scan.name = bt + "/scan";
    scan.inputs.clear();
    for (size_t i = 1; i < n.inputs.size(); ++i) {
      const int slice = g.add_value(bt + "/in" + std::to_string(i));
      append_node(out, "Gather", {n.inputs[i], idx}, {slice}, bt + "/gather" + std::to_string(i)).attrs["axis"] =
          ir::Attribute::of_int(0);
      scan.inputs.push_back(slice);
    }
    scan.attrs.erase("directions");
    if (auto d = n.attrs.find("directions"); d != n.attrs.end()) scan.attrs["scan_input_directions"] = d->second;
    scan.attrs["dynrt.scan9"] = ir::Attribute::of_int(1);
    scan.outputs.clear();
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      scan.outputs.push_back(g.add_value(bt + "/out" + std::to_string(o)));
      per_batch[o].push_back(scan.outputs.back());
    }
    out.push_back(std::move(scan));
  }
  for (size_t o = 0; o < n.outputs.size(); ++o) {
    if (n.outputs[o] < 0) continue;
    std::vector<int> stacked;
    for (size_t b = 0; b < per_batch[o].size(); ++b) {
      stacked.push_back(g.add_value(tag + std::to_string(b) + "/out" + std::to_string(o) + "_batched"));
      // axes [0]: an attribute before opset 13 (these models are opset 8)
      ir::Attribute axes;
      axes.type = ir::Attribute::Type::kInts;
      axes.ints = {0};
      append_node(out, "Unsqueeze", {per_batch[o][b]}, {stacked.back()},
                  tag + std::to_string(b) + "/unsqueeze" + std::to_string(o)).attrs["axes"] = axes;
    }
    append_node(out, "Concat", stacked, {n.outputs[o]}, tag + "/stack" + std::to_string(o)).attrs["axis"] =
        ir::Attribute::of_int(0);
  }
  g.nodes.erase(g.nodes.begin() + static_cast<ptrdiff_t>(k));
  g.nodes.insert(g.nodes.begin() + static_cast<ptrdiff_t>(k), out.begin(), out.end());
  g.recompute_producers();
  return true;
}

}  // namespace

bool unroll_scan(ir::Graph& g, size_t k) {
  const ir::Node n = g.nodes[k];  // a copy: g.nodes changes below
  if (n.op != "Scan" || !n.domain.empty()) return false;
  const std::string label = g.node_label(n);
  if (g.opset < 9 && !n.attrs.count("dynrt.scan9")) return batched_scan_as_scans(g, k);
  auto body_attr = n.attrs.find("body");
  if (body_attr == n.attrs.end() || body_attr->second.type != ir::Attribute::Type::kGraph || !body_attr->second.graph)
    throw Error(ErrorCode::kInvalidModel, label + ": no body graph");
  const ir::Graph& b = *body_attr->second.graph;
  const int64_t m = int_attr(n, "num_scan_inputs", -1);
  const auto n_in = static_cast<int64_t>(n.inputs.size());
  if (m < 1 || m > n_in) throw Error(ErrorCode::kInvalidModel, label + ": num_scan_inputs must be in [1, inputs]");
  const int64_t states = n_in - m;
  const auto body_out = static_cast<int64_t>(b.outputs.size());
  if (static_cast<int64_t>(b.inputs.size()) != n_in || body_out < states ||
      static_cast<int64_t>(n.outputs.size()) != body_out)
    throw Error(ErrorCode::kInvalidModel, label + ": the body's inputs and outputs do not match the node's");
  const int64_t scan_outs = body_out - states;
  auto attr_at = [&](const std::vector<int64_t>& v, int64_t i) { return v.empty() ? 0 : v.at(static_cast<size_t>(i)); };
  const std::vector<int64_t> in_axes = ints_attr(n, "scan_input_axes"), in_dirs = ints_attr(n, "scan_input_directions");
  const std::vector<int64_t> out_axes = ints_attr(n, "scan_output_axes"), out_dirs = ints_attr(n, "scan_output_directions");
  if ((!in_axes.empty() && static_cast<int64_t>(in_axes.size()) != m) ||
      (!in_dirs.empty() && static_cast<int64_t>(in_dirs.size()) != m) ||
      (!out_axes.empty() && static_cast<int64_t>(out_axes.size()) != scan_outs) ||
      (!out_dirs.empty() && static_cast<int64_t>(out_dirs.size()) != scan_outs))
    throw Error(ErrorCode::kInvalidModel, label + ": a scan axes/directions attribute has the wrong length");

  // The sequence length: every scan input's length along its axis, equal and constant.
  int64_t steps = -1;
  std::vector<int> run_time;  // symbols of lengths known only at run time
  std::vector<int64_t> axis(static_cast<size_t>(m));
  for (int64_t j = 0; j < m; ++j) {
    const int in = n.inputs[static_cast<size_t>(states + j)];
    if (in < 0) throw Error(ErrorCode::kInvalidModel, label + ": a scan input is missing");
    const ir::Value& v = g.values[static_cast<size_t>(in)];
    const auto rank = static_cast<int64_t>(v.shape.size());
    int64_t a = attr_at(in_axes, j);
    if (!v.rank_known || a < -rank || a >= rank)
      throw Error(ErrorCode::kInvalidModel, label + ": scan input '" + v.name + "' has no axis " + std::to_string(a));
    a = a < 0 ? a + rank : a;
    axis[static_cast<size_t>(j)] = a;
    const Expr& len = v.shape[static_cast<size_t>(a)];
    if (!len.is_const()) {
      const std::vector<int> symbols = len.symbols();
      run_time.insert(run_time.end(), symbols.begin(), symbols.end());
      continue;
    }
    if (steps >= 0 && len.const_value() != steps)
      throw Error(ErrorCode::kInvalidModel, label + ": the scan inputs' lengths differ");
    steps = len.const_value();
  }
  // What the unrolling does not take runs as a Loop (scan_as_loop.cpp).
  auto full = [&](const std::vector<int64_t>& v, int64_t count) {
    std::vector<int64_t> f;
    for (int64_t i = 0; i < count; ++i) f.push_back(attr_at(v, i));
    return f;
  };
  auto as_loop = [&] { return scan_as_loop(g, k, full(in_axes, m), full(in_dirs, m), full(out_axes, scan_outs), full(out_dirs, scan_outs)); };
  if (!run_time.empty()) {
    // A length of a few input-dim values: one engine per value, each unrolled (builder/variants.cpp).
    if (!g.run_time_control_flow)
      throw NeedsSpecialization(label + ": its sequence length is known only at run time", run_time, true);
    return as_loop();
  }
  // A body that loops itself (a Scan or Loop in it) runs as a Loop: unrolling
  // both levels multiplies the graph.
  bool nested_loop = false;
  for (const ir::Node& bn : b.nodes) nested_loop = nested_loop || (bn.domain.empty() && (bn.op == "Scan" || bn.op == "Loop"));
  const auto body_nodes = static_cast<int64_t>(b.nodes.size()) + m + 2 * scan_outs;
  if (steps < 1 || steps > kMaxSteps || (nested_loop && steps > 1) ||
      static_cast<int64_t>(g.nodes.size()) + steps * body_nodes > kMaxGraphNodes)
    return as_loop();
  std::vector<ir::Node> out;
  auto fresh = [&](const std::string& name) {
    if (g.find_value(name) >= 0) throw Error(ErrorCode::kInvalidModel, label + ": the unrolled Scan would redefine '" + name + "'");
    return g.add_value(name);
  };
  auto node = [&](const char* op, std::vector<int> ins, std::vector<int> outs, const std::string& name) {
    return &append_node(out, op, std::move(ins), std::move(outs), name);
  };
  // Names of the unrolled values and nodes: "<node or first output>/step<t>/<body name>".
  const std::string owner = !n.name.empty() ? n.name
                            : !n.outputs.empty() && n.outputs[0] >= 0 ? g.values[static_cast<size_t>(n.outputs[0])].name
                                                                      : std::string("scan");
  const std::string base = owner + "/step";
  std::vector<int> state(n.inputs.begin(), n.inputs.begin() + states);
  std::vector<std::vector<int>> per_step(static_cast<size_t>(scan_outs));
  for (int64_t t = 0; t < steps; ++t) {
    const std::string tag = base + std::to_string(t);
    std::vector<int> id(b.values.size(), -1);
    for (int64_t i = 0; i < states; ++i) id[static_cast<size_t>(b.inputs[static_cast<size_t>(i)])] = state[static_cast<size_t>(i)];
    for (int64_t j = 0; j < m; ++j) {
      const int64_t at = attr_at(in_dirs, j) == 1 ? steps - 1 - t : t;
      Tensor index(DType::kInt64, {});
      *index.data_as<int64_t>() = at;
      const int idx = g.add_constant(tag + "/index" + std::to_string(j), std::move(index));
      const int slice = fresh(tag + "/in" + std::to_string(j));
      ir::Node* gather = node("Gather", {n.inputs[static_cast<size_t>(states + j)], idx}, {slice}, tag + "/gather" + std::to_string(j));
      ir::Attribute ax;
      ax.type = ir::Attribute::Type::kInt;
      ax.i = axis[static_cast<size_t>(j)];
      gather->attrs["axis"] = ax;
      id[static_cast<size_t>(b.inputs[static_cast<size_t>(states + j)])] = slice;
    }
    id = splice_subgraph(g, b, std::move(id), tag, label, out);
    for (int64_t i = 0; i < states; ++i) state[static_cast<size_t>(i)] = id[static_cast<size_t>(b.outputs[static_cast<size_t>(i)])];
    for (int64_t s = 0; s < scan_outs; ++s)
      per_step[static_cast<size_t>(s)].push_back(id[static_cast<size_t>(b.outputs[static_cast<size_t>(states + s)])]);
  }
  // Final states, then the stacked scan outputs.
  for (int64_t i = 0; i < states; ++i)
    if (n.outputs[static_cast<size_t>(i)] >= 0)
      node("Identity", {state[static_cast<size_t>(i)]}, {n.outputs[static_cast<size_t>(i)]}, base + "/state" + std::to_string(i));
  for (int64_t s = 0; s < scan_outs; ++s) {
    const int result = n.outputs[static_cast<size_t>(states + s)];
    if (result < 0) continue;
    const int64_t a = attr_at(out_axes, s);  // may be negative: Unsqueeze and Concat normalise it against the output rank
    std::vector<int> parts;
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t from = attr_at(out_dirs, s) == 1 ? steps - 1 - t : t;
      const std::string tag = base + "/out" + std::to_string(s) + "_" + std::to_string(t);
      const int up = fresh(tag);
      ir::Node* u = node("Unsqueeze", {per_step[static_cast<size_t>(s)][static_cast<size_t>(from)]}, {up}, tag);
      ir::Attribute ax;
      if (g.opset >= 13) {
        Tensor axes(DType::kInt64, {1});
        *axes.data_as<int64_t>() = a;
        u->inputs.push_back(g.add_constant(tag + "/axes", std::move(axes)));
      } else {
        ax.type = ir::Attribute::Type::kInts;
        ax.ints = {a};
        u->attrs["axes"] = ax;
      }
      parts.push_back(up);
    }
    ir::Node* cat = node("Concat", parts, {result}, base + "/out" + std::to_string(s));
    ir::Attribute ax;
    ax.type = ir::Attribute::Type::kInt;
    ax.i = a;
    cat->attrs["axis"] = ax;
  }
  g.nodes.erase(g.nodes.begin() + static_cast<ptrdiff_t>(k));
  g.nodes.insert(g.nodes.begin() + static_cast<ptrdiff_t>(k), out.begin(), out.end());
  g.recompute_producers();
  return true;
}

}  // namespace dynrt::passes
