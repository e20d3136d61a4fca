// Always-true conditions: a boolean value that is true everywhere, whatever
// the inputs, stops making the tensors it meets larger than they need be.
//   And(t, b)       -> Expand(b, shape of the And)
//   Where(t, x, y)  -> Expand(x, shape of the Where)
// where t is known true: a true constant, a comparison such as
// GreaterOrEqual(Range(0, n, 1), 0) whose left side is bounded below by its
// right, an And of such, or a reshaping of one. The exported transformers
// padding mask needs it: its `q_idx >= 0` term is [1, 1, S, 1], so the And with
// the [B, 1, 1, S] key mask made a [B, 1, S, S] mask the attention read in full,
// a row at a time. After this pass the And is an Expand, sink_expand moves the
// Where past it, and the fused attention reads the [B, 1, 1, S] key mask.
#include <limits>
#include <optional>

#include "passes/pass.h"

namespace dynrt::passes {
namespace {

bool op_is(const ir::Node& n, const char* op) { return n.domain.empty() && n.op == op; }

bool int_type(DType t) {
  return t == DType::kInt64 || t == DType::kInt32 || t == DType::kInt16 || t == DType::kInt8;
}

// The smallest element of an integer constant.
std::optional<int64_t> constant_min(const Tensor& t) {
  if (t.numel() <= 0) return std::nullopt;
  int64_t lo = std::numeric_limits<int64_t>::max();
  for (int64_t i = 0; i < t.numel(); ++i) {
    int64_t x = 0;
    switch (t.dtype()) {
      case DType::kInt64: x = t.data_as<int64_t>()[i]; break;
      case DType::kInt32: x = t.data_as<int32_t>()[i]; break;
      case DType::kInt16: x = t.data_as<int16_t>()[i]; break;
      case DType::kInt8: x = t.data_as<int8_t>()[i]; break;
      default: return std::nullopt;
    }
    lo = std::min(lo, x);
  }
  return lo;
}

std::optional<int64_t> scalar_int(const ir::Graph& g, int v) {
  if (v < 0) return std::nullopt;
  const ir::Value& val = g.values[static_cast<size_t>(v)];
  if (!val.constant || val.constant->numel() != 1) return std::nullopt;
  return constant_min(*val.constant);
}

// Ops whose output holds only elements of their first input.
bool keeps_elements(const ir::Node& n) {
  static const char* const ops[] = {"Unsqueeze", "Squeeze", "Reshape", "Expand", "Identity", "Flatten", "Transpose"};
  for (const char* op : ops)
    if (op_is(n, op)) return true;
  return false;
}

struct Facts {
  std::vector<std::optional<int64_t>> lower;  // a lower bound of every element of an integer value
  std::vector<bool> all_true;                 // a boolean value true everywhere
};

Facts analyse(const ir::Graph& g) {
  Facts f;
  f.lower.resize(g.values.size());
  f.all_true.assign(g.values.size(), false);
  for (size_t v = 0; v < g.values.size(); ++v) {
    const ir::Value& val = g.values[v];
    if (!val.constant || val.constant->numel() <= 0) continue;
    if (int_type(val.dtype)) f.lower[v] = constant_min(*val.constant);
    if (val.dtype == DType::kBool) {
      bool t = true;
      for (int64_t i = 0; i < val.constant->numel() && t; ++i) t = val.constant->data_as<uint8_t>()[i] != 0;
      f.all_true[v] = t;
    }
  }
  auto in = [&](const ir::Node& n, size_t i) { return i < n.inputs.size() ? n.inputs[i] : -1; };
  for (const ir::Node& n : g.nodes) {
    if (n.outputs.empty() || n.outputs[0] < 0 || !n.domain.empty()) continue;
    const auto y = static_cast<size_t>(n.outputs[0]);
    const int a = in(n, 0), b = in(n, 1);
    if (op_is(n, "Range") && n.inputs.size() == 3) {
      // Range(start, limit, delta > 0) counts up from start.
      const auto start = scalar_int(g, a), delta = scalar_int(g, in(n, 2));
      if (start && delta && *delta > 0) f.lower[y] = start;
    } else if (keeps_elements(n) && a >= 0) {
      f.lower[y] = f.lower[static_cast<size_t>(a)];
      f.all_true[y] = f.all_true[static_cast<size_t>(a)];
    } else if ((op_is(n, "GreaterOrEqual") || op_is(n, "Greater") || op_is(n, "LessOrEqual") || op_is(n, "Less")) &&
               a >= 0 && b >= 0) {
      // x >= c, x > c, c <= x, c < x with every x at least the bound.
      const bool x_left = op_is(n, "GreaterOrEqual") || op_is(n, "Greater");
      const bool strict = op_is(n, "Greater") || op_is(n, "Less");
      const auto lo = f.lower[static_cast<size_t>(x_left ? a : b)];
      const auto c = scalar_int(g, x_left ? b : a);
      if (lo && c && int_type(g.values[static_cast<size_t>(x_left ? a : b)].dtype))
        f.all_true[y] = strict ? *lo > *c : *lo >= *c;
    } else if (op_is(n, "And") && a >= 0 && b >= 0) {
      f.all_true[y] = f.all_true[static_cast<size_t>(a)] && f.all_true[static_cast<size_t>(b)];
    } else if (op_is(n, "Or") && a >= 0 && b >= 0) {
      f.all_true[y] = f.all_true[static_cast<size_t>(a)] || f.all_true[static_cast<size_t>(b)];
    }
  }
  return f;
}

bool shape_is_static_or_symbolic(const ir::Graph& g, const ir::Value& v) {
  if (!v.rank_known || v.sym_value || v.constant) return false;
  for (const Expr& d : v.shape)
    for (int s : d.symbols())
      if (g.symbols[s].kind == ir::SymbolKind::kDataDependent) return false;
  return true;
}

}  // namespace

bool fold_always_true(ir::Graph& g) {
  g.recompute_producers();
  const Facts f = analyse(g);
  bool changed = false;
  std::vector<ir::Node> out;
  out.reserve(g.nodes.size() + 4);
  for (ir::Node& n : g.nodes) {
    int keep = -1;  // the input whose values the output takes
    if (n.outputs.size() == 1 && n.outputs[0] >= 0 && n.inputs.size() >= 2 && n.inputs[0] >= 0 &&
        n.inputs[1] >= 0) {
      const auto a = static_cast<size_t>(n.inputs[0]), b = static_cast<size_t>(n.inputs[1]);
      if (op_is(n, "And") && f.all_true[a] && !f.all_true[b]) keep = n.inputs[1];
      else if (op_is(n, "And") && f.all_true[b] && !f.all_true[a]) keep = n.inputs[0];
      else if (op_is(n, "Where") && n.inputs.size() == 3 && n.inputs[2] >= 0 && f.all_true[a]) keep = n.inputs[1];
    }
    const ir::Value* yv = keep >= 0 ? &g.values[static_cast<size_t>(n.outputs[0])] : nullptr;
    if (keep < 0 || !shape_is_static_or_symbolic(g, *yv) || g.values[static_cast<size_t>(keep)].dtype != yv->dtype) {
      out.push_back(std::move(n));
      continue;
    }
    // Expand(kept, the output's shape as expressions): bidirectional
    // broadcasting gives exactly the And's or Where's shape.
    ir::Node shape;
    shape.op = "ExprTensor";
    shape.domain = "dynrt";
    shape.name = n.name.empty() ? yv->name + "@shape" : n.name + "/shape";
    shape.provider = n.provider;
    ir::Attribute code;
    code.type = ir::Attribute::Type::kInts;
    for (const Expr& e : yv->shape) e.serialize(code.ints);
    ir::Attribute scalar;
    scalar.i = 0;
    shape.attrs["exprs"] = code;
    shape.attrs["scalar"] = scalar;
    const std::vector<Expr> dims = yv->shape;
    const int s = g.add_value(yv->name + "@shape");  // named after the output: node names may be empty
    ir::Value& sv = g.values[static_cast<size_t>(s)];
    sv.dtype = DType::kInt64;
    sv.rank_known = true;
    sv.shape = {Expr::constant(static_cast<int64_t>(dims.size()))};
    sv.sym_value = dims;
    shape.outputs = {s};
    ir::Node grow;
    grow.op = "Expand";
    grow.name = n.name + "/expand";
    grow.provider = n.provider;
    grow.inputs = {keep, s};
    grow.outputs = n.outputs;
    out.push_back(std::move(shape));
    out.push_back(std::move(grow));
    changed = true;
  }
  g.nodes = std::move(out);
  g.recompute_producers();
  if (changed) eliminate_dead_code(g);
  return changed;
}

}  // namespace dynrt::passes
