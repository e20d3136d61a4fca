#include "ir/graph.h"

#include "dynrt/error.h"

namespace dynrt::ir {

int SymbolTable::add(Symbol s) {
  syms_.push_back(std::move(s));
  return static_cast<int>(syms_.size()) - 1;
}

int SymbolTable::find(const std::string& name) const {
  for (size_t i = 0; i < syms_.size(); ++i)
    if (syms_[i].name == name) return static_cast<int>(i);
  return -1;
}

Interval SymbolTable::symbol_range(int id) const {
  const Symbol& s = syms_.at(static_cast<size_t>(id));
  return {s.min, s.max};
}

bool Guard::holds(std::span<const int64_t> binding) const {
  int64_t x = a.eval(binding), y = b.eval(binding);
  switch (kind) {
    case GuardKind::kEqual: return x == y;
    case GuardKind::kBroadcast: return x == y || x == 1 || y == 1;
    case GuardKind::kDivisible: return y != 0 && (y == -1 || x % y == 0);  // INT64_MIN % -1 traps
    case GuardKind::kAtLeast: return x >= y;
  }
  return false;
}

std::string Guard::describe(const SymbolNames& names) const {
  std::string x = a.str(&names), y = b.str(&names);
  switch (kind) {
    case GuardKind::kEqual: return x + " == " + y;
    case GuardKind::kBroadcast: return x + " and " + y + " broadcastable (equal or 1)";
    case GuardKind::kDivisible: return x + " divisible by " + y;
    case GuardKind::kAtLeast: return x + " >= " + y;
  }
  return "?";
}

void Graph::rename_value(int id, const std::string& name) {
  Value& v = values.at(static_cast<size_t>(id));
  auto it = by_name_.find(v.name);
  if (it != by_name_.end() && it->second == id) by_name_.erase(it);
  v.name = name;
  if (!name.empty()) by_name_[name] = id;
}

int Graph::add_value(const std::string& name) {
  values.push_back(Value{});
  values.back().name = name;
  int id = static_cast<int>(values.size()) - 1;
  if (!name.empty()) by_name_[name] = id;
  return id;
}

int Graph::add_constant(const std::string& name, Tensor t) {
  const int id = add_value(name);
  Value& v = values[static_cast<size_t>(id)];
  v.dtype = t.dtype();
  v.rank_known = true;
  for (int64_t d : t.shape()) v.shape.push_back(Expr::constant(d));
  v.constant = std::move(t);
  return id;
}

int Graph::find_value(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? -1 : it->second;
}

std::string Graph::node_label(const Node& n) const {
  std::string s = n.op + " node";
  if (!n.name.empty()) s += " '" + n.name + "'";
  else if (!n.outputs.empty() && n.outputs[0] >= 0) s += " producing '" + values[static_cast<size_t>(n.outputs[0])].name + "'";
  if (opset) s += " (opset " + std::to_string(opset) + ")";
  return s;
}

void Graph::compact(const std::vector<bool>& keep) {
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (keep[i]) kept.push_back(std::move(nodes[i]));
  nodes = std::move(kept);
  recompute_producers();
}

void Graph::recompute_producers() {
  for (Value& v : values) v.producer = -1;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int o : nodes[i].outputs)
      if (o >= 0) values[static_cast<size_t>(o)].producer = static_cast<int>(i);
}

std::vector<std::vector<int>> Graph::readers() const {
  std::vector<std::vector<int>> r(values.size());
  for (size_t k = 0; k < nodes.size(); ++k)
    for (int i : nodes[k].inputs)
      if (i >= 0) r[static_cast<size_t>(i)].push_back(static_cast<int>(k));
  return r;
}

std::vector<int> Graph::count_uses() const {
  std::vector<int> uses(values.size(), 0);
  for (const Node& n : nodes)
    for (int i : n.inputs)
      if (i >= 0) ++uses[static_cast<size_t>(i)];
  for (int o : outputs) ++uses[static_cast<size_t>(o)];
  return uses;
}

}  // namespace dynrt::ir
