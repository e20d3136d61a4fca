// The in-memory graph every stage works on: values with symbolic shapes,
// nodes in topological order, the symbol table and the guards.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/expr.h"
#include "dynrt/types.h"

namespace dynrt::ir {

// Not exported: the IR's code (graph.cpp) holds no state, so libdynrt_runtime,
// libdynrt_compiler and each provider plug-in link their own hidden copy
// (CMake target dynrt_ir) and no dynrt::ir symbol is part of any library's ABI.
// The state they share (expression interning, the op, kernel and provider
// registries) lives in libdynrt_runtime.

enum class SymbolKind : uint8_t {
  kInput,          // a dimension of a graph input (batch, seq, ...)
  kDataDependent,  // size produced by running an op (NonZero, masks)
};

struct Symbol {
  std::string name;
  SymbolKind kind = SymbolKind::kInput;
  int64_t min = 0;
  int64_t max = 0;
  int64_t opt = 0;
};

class SymbolTable : public SymbolNames {
 public:
  int add(Symbol s);
  int find(const std::string& name) const;  // -1 if absent
  Symbol& operator[](int id) { return syms_.at(static_cast<size_t>(id)); }
  const Symbol& operator[](int id) const { return syms_.at(static_cast<size_t>(id)); }
  int size() const { return static_cast<int>(syms_.size()); }
  std::string symbol_name(int id) const override { return syms_.at(static_cast<size_t>(id)).name; }
  Interval symbol_range(int id) const override;

 private:
  std::vector<Symbol> syms_;
};

enum class GuardKind : uint8_t {
  kEqual,       // a == b
  kBroadcast,   // a == b || a == 1 || b == 1
  kDivisible,   // a % b == 0
  kAtLeast,     // a >= b
};

// A fact about input shapes that compilation relied on; checked once per new
// input shape before anything runs.
struct Guard {
  GuardKind kind;
  Expr a, b;
  std::string what;  // which node / input relies on it
  bool holds(std::span<const int64_t> binding) const;
  std::string describe(const SymbolNames& names) const;
};

struct Graph;

struct Attribute {
  enum class Type : uint8_t { kInt, kFloat, kString, kInts, kFloats, kStrings, kTensor, kGraph };
  Type type = Type::kInt;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  Tensor t;
  // kGraph: the subgraph (an If branch, a Loop or Scan body), null for a list
  // of graphs. A value of it that no node of it produces, that is neither its
  // input nor a constant, is read from an enclosing graph by that name.
  std::shared_ptr<const Graph> graph;

  static Attribute of_int(int64_t v) {
    Attribute a;
    a.type = Type::kInt;
    a.i = v;
    return a;
  }
  static Attribute of_float(float v) {
    Attribute a;
    a.type = Type::kFloat;
    a.f = v;
    return a;
  }
  static Attribute of_string(std::string v) {
    Attribute a;
    a.type = Type::kString;
    a.s = std::move(v);
    return a;
  }
};

// How a value's bytes are ordered. Shapes in the IR are always logical
// (N, C, spatial...); kChannelsLast values hold NHWC (NDHWC, NWC) bytes.
enum class Layout : uint8_t { kRowMajor, kChannelsLast };

struct Value {
  std::string name;
  // A tensor, or a sequence or optional ("boxed": held per run outside the
  // arenas, run by the runtime on the host, runtime/boxed_ops.cpp). A
  // sequence's or optional's dtype is its elements'; rank_known is false and
  // shape empty, and elem_rank is the rank of every tensor it holds (-1:
  // unknown or mixed).
  ValueKind kind = ValueKind::kTensor;
  int elem_rank = -1;
  // Strings are boxed too: a tensor of them (kind kTensor, dtype kString) has
  // a shape like any tensor, and its strings live in ContextImpl::boxed.
  bool boxed() const { return kind != ValueKind::kTensor || dtype == DType::kString; }
  // "sequence", "optional tensor", ..., or "tensor of strings": for messages.
  const char* kind_name() const {
    return kind == ValueKind::kTensor && dtype == DType::kString ? "tensor of strings" : value_kind_name(kind);
  }
  DType dtype = DType::kUndefined;
  bool rank_known = false;
  std::vector<Expr> shape;  // valid when rank_known
  std::optional<Tensor> constant;             // data known at build time
  std::optional<std::vector<Expr>> sym_value;  // small int tensor whose elements are expressions
  int producer = -1;                          // node index, -1 for inputs/constants
  // Where the bytes live: an index into Graph::providers (the provider whose
  // memory holds them). Graph inputs, outputs and constants are host values
  // (provider 0); the runtime uploads constants a device node reads.
  int provider = 0;
  Layout layout = Layout::kRowMajor;
};

// Value::elem_rank of a sequence holding the elements of sequences (or
// tensors) of element ranks a and b: -2 (no elements yet) joins any rank,
// -1 is unknown or mixed.
inline int join_elem_rank(int a, int b) {
  if (a == -2) return b;
  if (b == -2) return a;
  return a == b ? a : -1;
}

struct Node {
  std::string op;
  std::string domain;
  std::string name;
  std::vector<int> inputs;   // value ids; -1 for an omitted optional input
  std::vector<int> outputs;  // value ids; -1 for an omitted optional output
  std::map<std::string, Attribute> attrs;
  int provider = 0;  // index into Graph::providers: who runs this node
};

struct Graph {
  SymbolTable symbols;
  std::vector<Value> values;
  std::vector<Node> nodes;  // topological order
  std::vector<int> inputs;
  std::vector<int> outputs;
  std::vector<Guard> guards;
  int64_t opset = 0;
  // Execution providers this graph was partitioned over, in preference order.
  // Index 0 is always a provider whose memory is host memory ("cpu").
  std::vector<std::string> providers = {"cpu"};
  // Build-time choice, not stored: an If whose branch or a Scan whose length
  // depends on input dims runs at run time (builder/control_flow.cpp) instead
  // of asking for one engine per value (builder/variants.cpp sets it when the
  // values are too many).
  bool run_time_control_flow = false;

  int add_value(const std::string& name);
  int add_constant(const std::string& name, Tensor t);  // a value holding t, its shape t's dims
  int find_value(const std::string& name) const;  // -1 if absent
  void rename_value(int id, const std::string& name);
  std::string node_label(const Node& n) const;    // "Conv node 'conv1' (opset 17)"
  // Remove nodes marked by keep[i] == false and recompute producers.
  void compact(const std::vector<bool>& keep);
  void recompute_producers();
  std::vector<int> count_uses() const;  // per value: #node inputs + #graph outputs
  std::vector<std::vector<int>> readers() const;  // per value: the nodes reading it (once per input slot)

 private:
  std::map<std::string, int> by_name_;
};

}  // namespace dynrt::ir
