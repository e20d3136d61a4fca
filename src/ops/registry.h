// One registration record per op: its shape/type inference (with value
// propagation for shape tensors) and its kernels per backend.
//
// Adding an op: write `infer` in src/ops/<family>.cpp, a kernel in
// src/backends/cpu/<family>.cpp, and register both from that family's
// register_* function (see docs/adding_an_op.md).
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/expr.h"
#include "dynrt/error.h"
#include "dynrt/types.h"
#include "ir/graph.h"

namespace dynrt {

constexpr int kMaxRank = 8;

// ---- build time: inference ------------------------------------------------

class InferContext {
 public:
  InferContext(ir::Graph& g, size_t node_index) : g_(g), n_(g.nodes[node_index]) {}

  const ir::Node& node() const { return n_; }
  const ir::Graph& graph() const { return g_; }
  int64_t opset() const { return g_.opset; }
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

  bool has_attr(const std::string& name) const { return n_.attrs.count(name) != 0; }
  int64_t attr_int(const std::string& name, int64_t def) const;
  int64_t attr_int(const std::string& name) const;  // required
  float attr_float(const std::string& name, float def) const;
  std::string attr_string(const std::string& name, const std::string& def) const;
  std::vector<int64_t> attr_ints(const std::string& name, std::vector<int64_t> def = {}) const;
  std::vector<float> attr_floats(const std::string& name) const;
  const Tensor* attr_tensor(const std::string& name) const;

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

 private:
  ir::Graph& g_;
  ir::Node& n_;
};

// ---- run time: kernels ----------------------------------------------------

struct TensorView {
  DType dtype = DType::kUndefined;
  int rank = 0;
  std::array<int64_t, kMaxRank> dims{};
  void* data = nullptr;

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[static_cast<size_t>(i)];
    return n;
  }
  std::span<const int64_t> shape() const { return {dims.data(), static_cast<size_t>(rank)}; }
  int64_t dim(int i) const { return dims[static_cast<size_t>(i)]; }
  template <class T> T* as() const { return static_cast<T*>(data); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
};

struct KernelState {
  virtual ~KernelState() = default;
};

struct KernelContext {
  std::span<const TensorView> inputs;  // absent optional inputs have dtype kUndefined
  std::span<TensorView> outputs;       // shapes resolved and memory bound, except for
                                       // data-dependent ops (see allocate_output)
  std::span<const int64_t> binding;    // symbol values of this run
  KernelState* state = nullptr;        // from Kernel::prepare for this shape
  // For data-dependent ops: allocate output i with the given dims.
  std::function<void(size_t, std::span<const int64_t>)> allocate_output;

  const TensorView& in(size_t i) const { return inputs[i]; }
  bool has_in(size_t i) const { return i < inputs.size() && inputs[i].dtype != DType::kUndefined; }
  TensorView& out(size_t i) const { return outputs[i]; }
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Once per distinct input shape: build shape-specific state (primitives,
  // blocking parameters). Inputs and outputs carry dims; data may be null.
  virtual std::unique_ptr<KernelState> prepare(const KernelContext&) const { return nullptr; }
  virtual void run(KernelContext& ctx) const = 0;
};

// What a kernel factory sees: the node and its graph (constant inputs, e.g.
// weights, can be pre-packed here once per engine).
struct KernelInit {
  const ir::Graph& graph;
  const ir::Node& node;
  const ir::Attribute* attr(const std::string& name) const;
  int64_t attr_int(const std::string& name, int64_t def) const;
  float attr_float(const std::string& name, float def) const;
  std::string attr_string(const std::string& name, const std::string& def) const;
  std::vector<int64_t> attr_ints(const std::string& name, std::vector<int64_t> def = {}) const;
  const Tensor* constant_input(size_t i) const;
  DType input_dtype(size_t i) const;
  DType output_dtype(size_t i) const;
  size_t input_rank(size_t i) const;
  [[noreturn]] void unsupported(const std::string& msg) const;
};

using KernelFactory = std::function<std::unique_ptr<Kernel>(const KernelInit&)>;

enum class Backend : uint8_t { kCpu };

struct OpDef {
  std::string domain;  // "" for ai.onnx, "dynrt" for internal ops
  std::string name;
  void (*infer)(InferContext&) = nullptr;
  bool data_dependent = false;  // kernel allocates outputs via allocate_output
  std::map<Backend, KernelFactory> kernels;
};

class OpRegistry {
 public:
  static OpRegistry& instance();  // with every op family registered
  OpDef& add(const std::string& name, void (*infer)(InferContext&), const std::string& domain = "");
  void add_kernel(const std::string& name, Backend backend, KernelFactory f, const std::string& domain = "");
  const OpDef* find(const std::string& name, const std::string& domain = "") const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, OpDef> ops_;
};

}  // namespace dynrt
