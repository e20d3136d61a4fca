// Scan (opset 9 and later) that unroll_scan cannot unroll (a sequence length
// known only at run time over more values than engine variants cover, or
// longer than it unrolls) becomes a Loop, which runs at run time
// (builder/control_flow.cpp):
//   trip count   = the first scan input's length along its axis (Shape, Gather);
//   Loop body    = Gather step i of each scan input (reversed first, outside
//                  the loop, where its direction is 1), then the Scan's body,
//                  whose states are the Loop's carried values;
//   scan outputs = the Loop's, stacked on axis 0 (reversed after, where
//                  their direction is 1).
// A scan output on another axis is refused by name.
#include <algorithm>
#include <climits>
#include <string>

#include "dynrt/error.h"
#include "passes/pass.h"

namespace dynrt::passes {
namespace {

Tensor i64(std::vector<int64_t> v, bool scalar = false) {
  Tensor t(DType::kInt64, scalar ? std::vector<int64_t>{} : std::vector<int64_t>{static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data_as<int64_t>()[i] = v[i];
  return t;
}

}  // namespace

bool scan_as_loop(ir::Graph& g, size_t k, const std::vector<int64_t>& in_axes, const std::vector<int64_t>& in_dirs,
                  const std::vector<int64_t>& out_axes, const std::vector<int64_t>& out_dirs) {
  const ir::Node n = g.nodes[k];  // a copy: g.nodes changes below
  const std::string label = g.node_label(n);
  const ir::Graph& b = *n.attrs.at("body").graph;
  const size_t m = in_axes.size(), states = n.inputs.size() - m, scan_outs = n.outputs.size() - states;
  const std::string owner = !n.name.empty() ? n.name
                            : !n.outputs.empty() && n.outputs[0] >= 0 ? g.values[static_cast<size_t>(n.outputs[0])].name
                                                                      : std::string("scan");
  for (size_t s = 0; s < scan_outs; ++s)
    if (out_axes[s] != 0)
      throw Error(ErrorCode::kUnsupported, label + ": scan output " + std::to_string(s) + " is stacked on axis " +
                                               std::to_string(out_axes[s]) +
                                               "; dynrt runs a Scan of a run-time length as a Loop, which stacks on axis 0");
  if (g.opset < 10 && (std::count(in_dirs.begin(), in_dirs.end(), 1) || std::count(out_dirs.begin(), out_dirs.end(), 1)))
    throw Error(ErrorCode::kUnsupported, label + ": a reversed Scan of a run-time length needs opset 10 or later");
  auto fresh = [&](ir::Graph& in, const std::string& name) {
    std::string s = name;
    while (g.find_value(s) >= 0 || in.find_value(s) >= 0 || b.find_value(s) >= 0) s += "_";
    return in.add_value(s);
  };
  std::vector<ir::Node> pre, post;
  // Reverses `v` along `axis`: Slice with step -1.
  auto reverse = [&](std::vector<ir::Node>& list, int v, int64_t axis, int out, const std::string& tag) {
    append_node(list, "Slice",
         {v, g.add_constant(tag + "/starts", i64({-1})), g.add_constant(tag + "/ends", i64({INT64_MIN})),
          g.add_constant(tag + "/axes", i64({axis})), g.add_constant(tag + "/steps", i64({-1}))},
         {out}, tag);
  };
  // The outer values the body gathers from, and the trip count.
  std::vector<int> source(m);
  std::vector<int64_t> axis(m);
  for (size_t j = 0; j < m; ++j) {
    const ir::Value& v = g.values[static_cast<size_t>(n.inputs[states + j])];
    const auto rank = static_cast<int64_t>(v.shape.size());
    axis[j] = in_axes[j] < 0 ? in_axes[j] + rank : in_axes[j];
    source[j] = n.inputs[states + j];
    if (in_dirs[j] == 1) {
      const std::string tag = owner + "/reversed" + std::to_string(j);
      source[j] = fresh(g, tag);
      reverse(pre, n.inputs[states + j], axis[j], source[j], tag);
    }
  }
  const int shape = fresh(g, owner + "/shape"), trips = fresh(g, owner + "/trips");
  append_node(pre, "Shape", {n.inputs[states]}, {shape}, owner + "/shape");
  append_node(pre, "Gather", {shape, g.add_constant(owner + "/axis", i64({axis[0]}, true))}, {trips}, owner + "/trips")
      .attrs["axis"] = ir::Attribute::of_int(0);

  // The body: (iteration, condition, states) -> (condition, states, scan outputs).
  auto body = std::make_shared<ir::Graph>(b);
  const int iter = fresh(*body, owner + "/iteration"), cond_in = fresh(*body, owner + "/cond_in"),
            cond_out = fresh(*body, owner + "/cond_out");
  std::vector<ir::Node> gathers;
  for (size_t j = 0; j < m; ++j) {
    const std::string& name = g.values[static_cast<size_t>(source[j])].name;
    int src = body->find_value(name);
    if (src < 0) src = body->add_value(name);  // read from the enclosing graph
    append_node(gathers, "Gather", {src, iter}, {b.inputs[states + j]}, owner + "/step" + std::to_string(j)).attrs["axis"] =
        ir::Attribute::of_int(axis[j]);
  }
  append_node(body->nodes, "Identity", {cond_in}, {cond_out}, owner + "/cond");
  body->nodes.insert(body->nodes.begin(), gathers.begin(), gathers.end());
  body->inputs = {iter, cond_in};
  body->inputs.insert(body->inputs.end(), b.inputs.begin(), b.inputs.begin() + static_cast<ptrdiff_t>(states));
  body->outputs.insert(body->outputs.begin(), cond_out);
  body->recompute_producers();

  ir::Node loop;
  loop.op = "Loop";
  loop.name = n.name;
  loop.inputs = {trips, -1};
  loop.inputs.insert(loop.inputs.end(), n.inputs.begin(), n.inputs.begin() + static_cast<ptrdiff_t>(states));
  loop.outputs.assign(n.outputs.begin(), n.outputs.begin() + static_cast<ptrdiff_t>(states));
  for (size_t s = 0; s < scan_outs; ++s) {
    int result = n.outputs[states + s];
    if (result >= 0 && out_dirs[s] == 1) {
      const std::string tag = owner + "/reversed_out" + std::to_string(s);
      const int stacked = fresh(g, tag + "/stacked");
      reverse(post, stacked, 0, result, tag);
      result = stacked;
    }
    loop.outputs.push_back(result);
  }
  ir::Attribute a;
  a.type = ir::Attribute::Type::kGraph;
  a.graph = std::move(body);
  loop.attrs["body"] = std::move(a);
  std::vector<ir::Node> all = std::move(pre);
  all.push_back(std::move(loop));
  all.insert(all.end(), post.begin(), post.end());
  g.nodes.erase(g.nodes.begin() + static_cast<ptrdiff_t>(k));
  g.nodes.insert(g.nodes.begin() + static_cast<ptrdiff_t>(k), all.begin(), all.end());
  g.recompute_producers();
  return true;
}

}  // namespace dynrt::passes
