// One node run by the runtime on boxed values (boxed_ops.cpp, string_ops.cpp):
// its inputs as views (tensors) or values (sequences, optionals, strings),
// and its outputs, sized when the node knows them.
#pragma once

#include <string>
#include <vector>

#include "runtime/context_impl.h"

namespace dynrt {

struct BoxedNode {
  ContextImpl& ctx;
  size_t k;
  std::vector<TensorView>& views;
  std::vector<int64_t>& binding;
  const ir::Graph& g;
  const ir::Node& n;

  bool has(size_t i) const { return i < n.inputs.size() && n.inputs[i] >= 0; }
  const ir::Value& spec(size_t i) const { return g.values[static_cast<size_t>(n.inputs[i])]; }
  const TensorView& view(size_t i) const { return views[static_cast<size_t>(n.inputs[i])]; }
  const Value& value(size_t i) const { return ctx.boxed[static_cast<size_t>(n.inputs[i])]; }
  const ir::Value& out_spec(size_t i) const { return g.values[static_cast<size_t>(n.outputs[i])]; }
  bool has_output(size_t i) const { return i < n.outputs.size() && n.outputs[i] >= 0; }
  // Output i takes this sequence, optional or string tensor.
  void set(size_t i, Value v) const {
    if (has_output(i)) ctx.boxed[static_cast<size_t>(n.outputs[i])] = std::move(v);
  }
  // Output i as a tensor of these dims: the planned bytes (checked) or sized now. Null when unused.
  TensorView* out_tensor(size_t i, const std::vector<int64_t>& dims) const;
  // Output i: a copy of t.
  void write(size_t i, const Tensor& t) const;
};

// The string ops and LabelEncoder (string_ops.cpp). False: not one of them.
bool run_string_op(const BoxedNode& b);

}  // namespace dynrt
