// The op schemas: one registration per op with its shape/type inference (and
// value propagation for shape tensors) and its traits. Kernels live with the
// execution providers (src/backends/<name>/), see docs/adding_an_op.md.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/expr.h"
#include "core/tensor_view.h"
#include "dynrt/error.h"
#include "dynrt/types.h"
#include "ir/attrs.h"
#include "ir/graph.h"

namespace dynrt {

// ---- build time: inference ------------------------------------------------

class DYNRT_INTERNAL InferContext : public AttrReader {
 public:
  InferContext(ir::Graph& g, size_t node_index)
      : AttrReader(g.nodes[node_index], g.opset), g_(g), n_(g.nodes[node_index]) {}

  const ir::Node& node() const { return n_; }
  const ir::Graph& graph() const { return g_; }
  const SymbolNames& names() const { return g_.symbols; }

  size_t num_inputs() const { return n_.inputs.size(); }
  bool has_input(size_t i) const { return i < n_.inputs.size() && n_.inputs[i] >= 0; }
  const ir::Value& input(size_t i) const;  // throws naming the node if absent
  DType dtype(size_t i) const { return input(i).dtype; }
  bool rank_known(size_t i) const { return input(i).rank_known; }
  const std::vector<Expr>& shape(size_t i) const;  // throws if the rank is unknown
  size_t rank(size_t i) const { return shape(i).size(); }
  const Tensor* constant(size_t i) const;  // data known at build time, else null
  // Elements of a small integer input as expressions (from a constant or a
  // propagated shape value); nullopt when not known at build time.
  std::optional<std::vector<Expr>> values(size_t i) const;

  size_t num_outputs() const { return n_.outputs.size(); }
  bool has_output(size_t i) const { return i < n_.outputs.size() && n_.outputs[i] >= 0; }
  void set_output(size_t i, DType dtype, std::vector<Expr> shape);
  void set_output_unknown_rank(size_t i, DType dtype);
  void set_output_values(size_t i, std::vector<Expr> values);  // shape-value propagation
  // Sequences and optionals (ir::Value::kind): what input i is, the rank of
  // the tensors it holds (ir::Value::elem_rank), and an output of that kind.
  ValueKind kind(size_t i) const { return input(i).kind; }
  int elem_rank(size_t i) const { return input(i).elem_rank; }
  void set_output_boxed(size_t i, ValueKind kind, DType dtype, int elem_rank);

  using AttrReader::attr_int;
  int64_t attr_int(const std::string& name) const;  // required

  // Symbolic reasoning. Each records a guard when the fact is not provable at
  // build time, and fails the build when it is provably false.
  Expr broadcast_dim(Expr a, Expr b);
  std::vector<Expr> broadcast_shapes(const std::vector<Expr>& a, const std::vector<Expr>& b);
  void require_equal(Expr a, Expr b, const std::string& what);
  void require_divisible(Expr a, Expr b, const std::string& what);
  // A fresh symbol for a size known only after running this node.
  Expr new_data_dependent_symbol(const std::string& hint, Expr upper_bound);
  // Normalize a possibly negative axis against rank, failing on out of range.
  int64_t axis(int64_t a, size_t rank, const std::string& attr = "axis") const;

  [[noreturn]] void fail(const std::string& msg) const;         // invalid model
  [[noreturn]] void unsupported(const std::string& msg) const;  // not implemented by dynrt
  // unsupported(msg), unless `e` is made of input dims the builder can try
  // each value of (ops/specialize.h): for a number needed at build time.
  [[noreturn]] void needs_constant(const Expr& e, const std::string& msg) const;

 private:
  ir::Graph& g_;
  ir::Node& n_;
};

// ---- run time: concrete output shapes --------------------------------------

// For an output whose size depends on input *values* known only while
// running (a Reshape target computed by the graph): the runtime runs the op's
// shape function on the host, with the same code as inference instantiated
// for int64_t, allocates the outputs, then runs the kernel. Facts that
// inference records as guards are checked here on numbers.
class DYNRT_INTERNAL RunShapeContext : public AttrReader {
 public:
  RunShapeContext(const ir::Graph& g, const ir::Node& n, std::span<const TensorView> inputs,
                  std::vector<std::vector<int64_t>>& outputs);

  const std::string& node_op() const { return n_.op; }
  size_t num_inputs() const { return inputs_.size(); }
  size_t num_outputs() const { return outputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i].dtype != DType::kUndefined; }
  std::vector<int64_t> shape(size_t i) const;
  // Elements of a small integer input the schema declares host_inputs.
  std::vector<int64_t> values(size_t i) const;
  // Elements of a small numeric input of any element type (Resize's scales),
  // and its first one (Range's start, OneHot's depth).
  std::vector<double> numbers(size_t i) const;
  double scalar(size_t i) const;
  // A size computed from such numbers: fails unless finite and in [0, 2^62].
  int64_t to_size(double v, const std::string& what) const;
  void set_output(size_t i, std::vector<int64_t> dims);

  void require_equal(int64_t a, int64_t b, const std::string& what) const;
  void require_divisible(int64_t a, int64_t b, const std::string& what) const;
  int64_t broadcast_dim(int64_t a, int64_t b) const;
  int64_t axis(int64_t a, size_t rank, const std::string& attr = "axis") const;
  [[noreturn]] void fail(const std::string& msg) const;  // kInvalidInput naming the node

 private:
  const ir::Graph& g_;
  const ir::Node& n_;
  std::span<const TensorView> inputs_;
  std::vector<std::vector<int64_t>>& outputs_;
};

// ---- op schema --------------------------------------------------------------

// What the compiler and every provider may assume about an op, declared once
// with its schema instead of guessed from op names.
struct OpTraits {
  // Output 0 may share the bytes of input 0 (a view: Reshape, Squeeze, ...);
  // the runtime then skips the node when both live in the same memory.
  bool view_of_input0 = false;
  // Inputs whose values are read on the host (shape tensors: Reshape's shape,
  // Slice's starts, ...). A device provider gets them in host memory.
  uint64_t host_inputs = 0;
  // Inputs whose dims are read but never their bytes (Shape, Size): they
  // need no copy to the node's memory.
  uint64_t metadata_inputs = 0;
  bool elementwise = false;       // output element i depends only on input elements i (after broadcast)
  bool layout_sensitive = false;  // reads spatial axes (Conv, pools, Resize, ...)
  bool data_dependent = false;    // output sizes come from input data: kernel calls allocate_output
  // Takes the narrow element types (core/narrow_types.h): conversions, and
  // ops that only move bytes. Every other op rejects them (check_narrow_types).
  bool narrow_types = false;
  // Outputs are random (RandomUniform, Bernoulli, training Dropout, ...):
  // never evaluated at build time.
  bool random = false;
  // Runs subgraph engines (dynrt.If, dynrt.Loop): the runtime runs the node
  // itself, on the host; no provider has a kernel for it.
  bool subgraphs = false;
  // Takes or gives sequences and optionals (ValueKind): a node of it whose
  // inputs or outputs are such values runs in the runtime, on the host
  // (runtime/boxed_ops.cpp). Every other op takes tensors only.
  bool boxed = false;
  // Every node of it runs in the runtime, on the host, whatever its values
  // (LabelEncoder: one lookup for strings and numbers alike).
  bool in_runtime = false;

  bool is_host_input(size_t i) const { return i < 64 && ((host_inputs >> i) & 1u); }
  bool is_metadata_input(size_t i) const { return i < 64 && ((metadata_inputs >> i) & 1u); }
};

// One registration per op: inference over Expr plus traits. Names no backend;
// each execution provider registers its kernels in its own registry.
struct OpSchema {
  std::string domain;  // "" for ai.onnx, "dynrt" for internal ops
  std::string name;
  void (*infer)(InferContext&) = nullptr;
  // Concrete output shapes from input dims and host input values, for nodes
  // whose output sizes inference could only give as run-time symbols.
  void (*run_shape)(RunShapeContext&) = nullptr;
  OpTraits traits;

  OpSchema& shape_at_run_time(void (*f)(RunShapeContext&)) {
    run_shape = f;
    return *this;
  }

  OpSchema& host_inputs(std::initializer_list<size_t> idx) {
    for (size_t i : idx) traits.host_inputs |= uint64_t{1} << i;
    return *this;
  }
  OpSchema& metadata_inputs(std::initializer_list<size_t> idx) {
    for (size_t i : idx) traits.metadata_inputs |= uint64_t{1} << i;
    return *this;
  }
  OpSchema& view() { traits.view_of_input0 = true; return *this; }
  OpSchema& elementwise() { traits.elementwise = true; return *this; }
  OpSchema& layout_sensitive() { traits.layout_sensitive = true; return *this; }
  OpSchema& data_dependent() { traits.data_dependent = true; return *this; }
  OpSchema& narrow_types() { traits.narrow_types = true; return *this; }
  OpSchema& random() { traits.random = true; return *this; }
  OpSchema& subgraphs() { traits.subgraphs = true; return *this; }
  OpSchema& boxed() { traits.boxed = true; return *this; }
  OpSchema& in_runtime() { traits.in_runtime = true; return *this; }
};

// Throws kUnsupported when node `index` reads or writes a sequence or an
// optional and its op does not take them.
DYNRT_INTERNAL void check_value_kinds(const ir::Graph& g, size_t index, const OpSchema& schema);
// Whether node `n` reads or writes a sequence or an optional (the runtime runs it).
DYNRT_INTERNAL bool touches_boxed_values(const ir::Graph& g, const ir::Node& n);

// Throws kUnsupported when node `index` reads or writes a narrow element type
// (float8, float4, int4, int2, ...) and its op does not take them.
DYNRT_INTERNAL void check_narrow_types(const ir::Graph& g, size_t index, const OpSchema& schema);

// "domain::name" with the default domain spelled "".
DYNRT_INTERNAL std::string op_key(const std::string& domain, const std::string& name);

class DYNRT_INTERNAL OpRegistry {
 public:
  static OpRegistry& instance();  // with every op family registered
  OpSchema& add(const std::string& name, void (*infer)(InferContext&), const std::string& domain = "");
  const OpSchema* find(const std::string& name, const std::string& domain = "") const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, OpSchema> ops_;
};

}  // namespace dynrt
