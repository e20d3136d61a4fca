// Expand sinking: an elementwise op whose only large operand is an Expand
// computes on the Expand's input and expands its result instead,
//   Where(Expand(c, s), a, b) -> Expand(Where(c, a, b), s)
// with a and b one-element constants (also Cast, Not, and arithmetic or
// logic with a one-element constant). Broadcasting makes both sides equal
// element for element. Exported transformers build their attention mask this
// way: [B, 1, 1, S] expanded to [B, 1, S, S] before a Where makes it
// additive, so the Where ran over S times the elements it needs; after this
// pass attention fusion reads the small mask (backends/fuse_attention.cpp
// looks through the Expand, attention kernels broadcast masks).
#include "passes/pass.h"

namespace dynrt::passes {
namespace {

bool elementwise(const ir::Node& n) {
  if (!n.domain.empty()) return false;
  static const char* const ops[] = {"Where", "Cast", "Not", "Add", "Sub", "Mul", "Div", "And", "Or", "Xor", "Equal"};
  for (const char* op : ops)
    if (n.op == op) return true;
  return false;
}

bool one_element_constant(const ir::Value& v, size_t rank) {
  return v.constant && v.constant->numel() == 1 && v.constant->shape().size() <= rank;
}

// The input slot of `n` that an Expand produces while every other input is a
// one-element constant; -1 if none.
int expanded_slot(const ir::Graph& g, const ir::Node& n) {
  if (!elementwise(n) || n.outputs.size() != 1 || n.outputs[0] < 0) return -1;
  int slot = -1;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const int v = n.inputs[i];
    if (v < 0) return -1;
    const ir::Value& val = g.values[static_cast<size_t>(v)];
    if (val.producer >= 0 && g.nodes[static_cast<size_t>(val.producer)].op == "Expand" &&
        g.nodes[static_cast<size_t>(val.producer)].domain.empty() && slot < 0) {
      slot = static_cast<int>(i);
      continue;
    }
    if (!val.constant) return -1;
  }
  if (slot < 0) return -1;
  const ir::Node& e = g.nodes[static_cast<size_t>(g.values[static_cast<size_t>(n.inputs[static_cast<size_t>(slot)])].producer)];
  if (e.inputs.size() != 2 || e.inputs[0] < 0) return -1;
  const ir::Value& c = g.values[static_cast<size_t>(e.inputs[0])];
  const ir::Value& y = g.values[static_cast<size_t>(n.outputs[0])];
  if (!c.rank_known || c.constant || c.sym_value || !y.rank_known || y.sym_value) return -1;
  for (size_t i = 0; i < n.inputs.size(); ++i)
    if (static_cast<int>(i) != slot && !one_element_constant(g.values[static_cast<size_t>(n.inputs[i])], c.shape.size()))
      return -1;
  return slot;
}

bool sink_once(ir::Graph& g) {
  // Decide first (the rewrite reads Expand nodes that precede their readers).
  struct Sink { int slot = -1, c = -1, s = -1; };
  std::vector<Sink> sinks(g.nodes.size());
  bool any = false;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const int slot = expanded_slot(g, g.nodes[k]);
    if (slot < 0) continue;
    const int e = g.values[static_cast<size_t>(g.nodes[k].inputs[static_cast<size_t>(slot)])].producer;
    sinks[k] = {slot, g.nodes[static_cast<size_t>(e)].inputs[0], g.nodes[static_cast<size_t>(e)].inputs[1]};
    any = true;
  }
  if (!any) return false;
  std::vector<ir::Node> out;
  out.reserve(g.nodes.size() + g.nodes.size() / 4);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const Sink& sk = sinks[k];
    if (sk.slot < 0) {
      out.push_back(std::move(g.nodes[k]));
      continue;
    }
    ir::Node small = std::move(g.nodes[k]);
    const int y = small.outputs[0];
    const int y_small = g.add_value(g.values[static_cast<size_t>(y)].name + "@unexpanded");
    ir::Value& ys = g.values[static_cast<size_t>(y_small)];
    const ir::Value &cv = g.values[static_cast<size_t>(sk.c)], &yv = g.values[static_cast<size_t>(y)];
    ys.dtype = yv.dtype;
    ys.rank_known = true;
    ys.shape = cv.shape;  // the other operands have one element and no more dims
    ys.provider = yv.provider;
    ir::Node grow;
    grow.op = "Expand";
    grow.name = small.name + "/expand";
    grow.provider = small.provider;
    grow.inputs = {y_small, sk.s};
    grow.outputs = {y};
    small.inputs[static_cast<size_t>(sk.slot)] = sk.c;
    small.outputs = {y_small};
    out.push_back(std::move(small));
    out.push_back(std::move(grow));
  }
  g.nodes = std::move(out);
  g.recompute_producers();
  return true;
}

}  // namespace

bool sink_expand(ir::Graph& g) {
  g.recompute_producers();
  bool changed = false;
  for (int round = 0; round < 8 && sink_once(g); ++round) changed = true;  // down a chain, one op per round
  if (changed) eliminate_dead_code(g);
  return changed;
}

}  // namespace dynrt::passes
