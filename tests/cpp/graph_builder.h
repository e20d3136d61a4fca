// Building small ir::Graphs by hand for IR-level tests: inputs with symbolic
// dims, constants, nodes; infer() runs the op schemas' shape inference.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "backends/provider.h"
#include "backends/testdev/testdev.h"
#include "ir/graph.h"
#include "shape/infer.h"

namespace dynrt::testing {

class GraphBuilder {
 public:
  GraphBuilder() { g.opset = 17; }

  // A dim given as a name becomes a symbol in [lo, hi] with opt `opt`.
  int symbol(const std::string& name, int64_t lo, int64_t opt, int64_t hi) {
    ir::Symbol s;
    s.name = name;
    s.min = lo;
    s.opt = opt;
    s.max = hi;
    return g.symbols.add(s);
  }
  int input(const std::string& name, DType t, std::vector<Expr> shape) {
    int v = g.add_value(name);
    g.values[static_cast<size_t>(v)].dtype = t;
    g.values[static_cast<size_t>(v)].rank_known = true;
    g.values[static_cast<size_t>(v)].shape = std::move(shape);
    g.inputs.push_back(v);
    return v;
  }
  int constant(const std::string& name, Tensor t) { return g.add_constant(name, std::move(t)); }
  // A shape tensor whose elements are expressions (what shape arithmetic leaves).
  int shape_tensor(const std::string& name, std::vector<Expr> dims) {
    int v = g.add_value(name);
    ir::Value& val = g.values[static_cast<size_t>(v)];
    val.dtype = DType::kInt64;
    val.rank_known = true;
    val.shape = {Expr::constant(static_cast<int64_t>(dims.size()))};
    val.sym_value = std::move(dims);
    return v;
  }
  // Returns the first output's value id.
  int node(const std::string& op, std::vector<int> inputs, const std::string& out, const std::string& name = "") {
    ir::Node n;
    n.op = op;
    n.name = name.empty() ? out : name;
    n.inputs = std::move(inputs);
    n.outputs = {g.add_value(out)};
    g.nodes.push_back(std::move(n));
    return g.nodes.back().outputs[0];
  }
  void output(int v) { g.outputs.push_back(v); }
  ir::Graph& infer() {
    g.recompute_producers();
    infer_shapes(g);
    return g;
  }

  ir::Graph g;
};

inline Tensor floats(std::vector<int64_t> shape, float start = 0.25f) {
  Tensor t(DType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = start * static_cast<float>((i % 7) - 3);
  return t;
}

// The test-only device provider, registered in this process once.
inline void register_testdev() {
  static bool done = [] {
    dynrt_register_provider(ProviderRegistry::instance());
    return true;
  }();
  (void)done;
}

}  // namespace dynrt::testing
