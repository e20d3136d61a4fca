// The kernel contract every execution provider implements: a factory per op
// makes a Kernel once per engine (weights may be packed or uploaded there),
// Kernel::prepare runs once per distinct input shape, Kernel::run per run.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/tensor_view.h"
#include "ir/graph.h"
#include "ops/registry.h"

namespace dynrt {

class ProviderStream;
class TimingCache;

struct KernelState {
  virtual ~KernelState() = default;
};

// Allocates outputs whose sizes a kernel learns while running (NonZero,
// a Reshape to a shape computed at run time); the runtime implements it.
class OutputAllocator {
 public:
  virtual void allocate(size_t output, std::span<const int64_t> dims) = 0;

 protected:
  ~OutputAllocator() = default;
};

struct KernelContext {
  std::span<const TensorView> inputs;  // absent optional inputs have dtype kUndefined
  std::span<TensorView> outputs;       // shapes resolved and memory bound, except for
                                       // data-dependent ops (see allocate_output)
  std::span<const int64_t> binding;    // symbol values of this run
  KernelState* state = nullptr;        // from Kernel::prepare for this shape
  OutputAllocator* allocator = nullptr;  // set for nodes with outputs sized while running
  ProviderStream* stream = nullptr;      // the context's queue on this node's provider (null on the CPU)
  // Set while the builder tunes the engine (BuildConfig::tune): prepare() may
  // time its alternatives for this shape on `stream` (the measurements go
  // through this cache) and keep the winner for Kernel::tuning().
  TimingCache* tuning = nullptr;

  const TensorView& in(size_t i) const { return inputs[i]; }
  bool has_in(size_t i) const { return i < inputs.size() && inputs[i].dtype != DType::kUndefined; }
  TensorView& out(size_t i) const { return outputs[i]; }
  // For data-dependent ops: allocate output i with the given dims.
  void allocate_output(size_t i, std::span<const int64_t> dims) const {
    if (!allocator) throw Error(ErrorCode::kInternal, "a kernel sized an output the runtime planned");
    allocator->allocate(i, dims);
  }
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Once per distinct input shape: build shape-specific state (primitives,
  // blocking parameters). Inputs and outputs carry dims; data may be null.
  virtual std::unique_ptr<KernelState> prepare(const KernelContext&) const { return nullptr; }
  virtual void run(KernelContext& ctx) const = 0;
  // What tuning chose, stored in the engine as the node's "dynrt.tuned"
  // attribute; the kernel's factory reads it back (KernelInit::tuned()).
  // Empty: nothing tuned.
  virtual std::vector<int64_t> tuning() const { return {}; }
  // An input whose buffer output 0 may take over (-1: none): the kernel
  // accepts that input and the output at one address (it reads each element
  // before writing it, or reads the input whole first). The runtime grants
  // it only when that value has the output's type, shape and layout and
  // nothing reads it afterwards; the kernel must work either way.
  virtual int inplace_input() const { return -1; }
};

// A kernel defined by a lambda over KernelContext: for ops with no per-shape state.
template <class F>
class LambdaKernel : public Kernel {
 public:
  explicit LambdaKernel(F f) : f_(std::move(f)) {}
  void run(KernelContext& ctx) const override { f_(ctx); }

 private:
  F f_;
};

template <class F>
std::unique_ptr<Kernel> make_kernel(F f) {
  return std::make_unique<LambdaKernel<F>>(std::move(f));
}

// What a kernel factory sees of its node: attributes, input/output types,
// shapes and layouts, and constant inputs (weights, packed once per engine).
// Not the graph: a kernel knows only its own node.
class DYNRT_INTERNAL KernelInit : public AttrReader {
 public:
  KernelInit(const ir::Graph& graph, const ir::Node& node) : AttrReader(node, graph.opset), graph(graph), node(node) {}

  const std::string& op() const { return node.op; }
  std::string label() const { return graph.node_label(node); }
  size_t num_inputs() const { return node.inputs.size(); }
  size_t num_outputs() const { return node.outputs.size(); }
  bool has_input(size_t i) const { return i < node.inputs.size() && node.inputs[i] >= 0; }
  bool has_output(size_t i) const { return i < node.outputs.size() && node.outputs[i] >= 0; }
  const Tensor* constant_input(size_t i) const;
  DType input_dtype(size_t i) const;
  DType output_dtype(size_t i) const;
  size_t input_rank(size_t i) const;
  const std::vector<Expr>& input_shape(size_t i) const;
  ir::Layout input_layout(size_t i) const;
  ir::Layout output_layout(size_t i) const;
  [[noreturn]] void unsupported(const std::string& msg) const;

 private:
  const ir::Graph& graph;
  const ir::Node& node;
};

using KernelFactory = std::function<std::unique_ptr<Kernel>(const KernelInit&)>;
// A provider's capability check for one node (dtypes, ranks, attributes).
using KernelSupports = std::function<bool(const KernelInit&)>;

// The kernels of one execution provider, by op.
class DYNRT_INTERNAL KernelRegistry {
 public:
  struct Entry {
    KernelFactory make;
    KernelSupports supports;  // empty: every node of this op
  };
  void add_kernel(const std::string& name, KernelFactory f, const std::string& domain = "");
  void add_kernel(const std::string& name, KernelFactory f, KernelSupports supports, const std::string& domain);
  const Entry* find(const std::string& name, const std::string& domain = "") const;

 private:
  std::map<std::string, Entry> kernels_;
};


}  // namespace dynrt
