// If with a condition known at build time: the branch it takes replaces the
// node, so the rest of the build sees plain nodes. The condition is known
// when constant folding (and the shape arithmetic it folds: Shape, Gather,
// Equal, ...) made it a constant by the time inference reaches the If, as
// in AffineGrid's function body (an If on its align_corners attribute) or
// an exported model branching on a static size. An If whose condition is
// known only at run time is left to builder/control_flow.cpp.
#include "dynrt/error.h"
#include "ops/specialize.h"
#include "passes/pass.h"

namespace dynrt::passes {
namespace {

// The condition as a build-time bool: a one-element constant, or a
// small-int value whose expression is constant.
std::optional<bool> known_condition(const ir::Value& c) {
  if (c.constant && c.constant->numel() == 1) {
    const Tensor& t = *c.constant;
    switch (t.dtype()) {
      case DType::kBool: case DType::kUInt8: case DType::kInt8: return *t.data_as<uint8_t>() != 0;
      case DType::kInt64: return *t.data_as<int64_t>() != 0;
      case DType::kInt32: return *t.data_as<int32_t>() != 0;
      default: return std::nullopt;
    }
  }
  if (c.sym_value && c.sym_value->size() == 1 && (*c.sym_value)[0].is_const()) return (*c.sym_value)[0].const_value() != 0;
  return std::nullopt;
}

}  // namespace

bool inline_if(ir::Graph& g, size_t k) {
  const ir::Node& n = g.nodes[k];
  if (n.op != "If" || !n.domain.empty()) return false;
  const std::string label = g.node_label(n);
  if (n.inputs.size() != 1 || n.inputs[0] < 0)
    throw Error(ErrorCode::kInvalidModel, label + ": If takes one input, the condition");
  const ir::Value& cond = g.values[static_cast<size_t>(n.inputs[0])];
  std::optional<bool> taken = known_condition(cond);
  if (!taken) {
    // A condition computed from input dims is a constant once they are: one
    // engine per value (builder/variants.cpp) where they take few values.
    if (cond.sym_value && cond.sym_value->size() == 1 && !g.run_time_control_flow)
      throw NeedsSpecialization(label + ": its condition '" + cond.name + "' depends on input dims",
                                (*cond.sym_value)[0].symbols(), true);
    return false;  // decided at run time (builder/control_flow.cpp)
  }
  auto branch = n.attrs.find(*taken ? "then_branch" : "else_branch");
  if (branch == n.attrs.end() || branch->second.type != ir::Attribute::Type::kGraph || !branch->second.graph)
    throw Error(ErrorCode::kInvalidModel, label + ": no " + (*taken ? "then_branch" : "else_branch") + " graph");
  const ir::Graph& b = *branch->second.graph;
  if (b.outputs.size() != n.outputs.size())
    throw Error(ErrorCode::kInvalidModel, label + ": the branch taken has " + std::to_string(b.outputs.size()) +
                                              " outputs, the node " + std::to_string(n.outputs.size()));
  // The branch's constants and node outputs keep their own names (ONNX names
  // are unique across a model's graphs); what it reads from outside is found by name.
  std::vector<ir::Node> body;
  const std::vector<int> id = splice_subgraph(g, b, {}, "", label, body);
  // The branch's outputs become the node's through Identity (a branch may
  // return an outer value or a constant, which is not its own node's output).
  for (size_t j = 0; j < n.outputs.size(); ++j) {
    if (n.outputs[j] < 0) continue;
    ir::Node copy;
    copy.op = "Identity";
    copy.name = n.name + "/output" + std::to_string(j);
    copy.inputs = {id[static_cast<size_t>(b.outputs[j])]};
    copy.outputs = {n.outputs[j]};
    body.push_back(std::move(copy));
  }
  g.nodes.erase(g.nodes.begin() + static_cast<ptrdiff_t>(k));
  g.nodes.insert(g.nodes.begin() + static_cast<ptrdiff_t>(k), body.begin(), body.end());
  g.recompute_producers();
  return true;
}

}  // namespace dynrt::passes
