#include "ops/registry.h"

#include <cmath>

#include "core/half.h"
#include "core/narrow_types.h"
#include "ops/families.h"
#include "ops/specialize.h"

namespace dynrt {

// ---- InferContext -----------------------------------------------------------

const ir::Value& InferContext::input(size_t i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is required but missing");
  return g_.values[static_cast<size_t>(n_.inputs[i])];
}

const std::vector<Expr>& InferContext::shape(size_t i) const {
  const ir::Value& v = input(i);
  if (!v.rank_known) unsupported("input '" + v.name + "' has unknown rank");
  return v.shape;
}

const Tensor* InferContext::constant(size_t i) const {
  if (!has_input(i)) return nullptr;
  const ir::Value& v = input(i);
  return v.constant ? &*v.constant : nullptr;
}

std::optional<std::vector<Expr>> InferContext::values(size_t i) const {
  if (!has_input(i)) return std::nullopt;
  const ir::Value& v = input(i);
  if (v.sym_value) return v.sym_value;
  if (v.constant && v.constant->numel() <= 4096) {
    DType t = v.constant->dtype();
    if (t == DType::kInt64 || t == DType::kInt32 || t == DType::kInt16 || t == DType::kInt8 || t == DType::kUInt8 ||
        t == DType::kBool || t == DType::kUInt32) {
      std::vector<Expr> out;
      for (int64_t x : v.constant->to_int64_vector()) out.push_back(Expr::constant(x));
      return out;
    }
  }
  return std::nullopt;
}

void InferContext::set_output(size_t i, DType dtype, std::vector<Expr> shape) {
  if (!has_output(i)) return;
  if (shape.size() > static_cast<size_t>(kMaxRank)) unsupported("tensors of rank above " + std::to_string(kMaxRank));
  ir::Value& v = g_.values[static_cast<size_t>(n_.outputs[i])];
  for (Expr& d : shape) d = d.simplify(g_.symbols);
  v.dtype = dtype;
  v.rank_known = true;
  v.shape = std::move(shape);
}

void InferContext::set_output_boxed(size_t i, ValueKind kind, DType dtype, int elem_rank) {
  if (!has_output(i)) return;
  ir::Value& v = g_.values[static_cast<size_t>(n_.outputs[i])];
  v.kind = kind;
  v.dtype = dtype;
  v.elem_rank = kind == ValueKind::kTensor ? -1 : elem_rank;
  v.rank_known = false;
  v.shape.clear();
  v.constant.reset();
  v.sym_value.reset();
}

void InferContext::set_output_unknown_rank(size_t i, DType dtype) {
  if (!has_output(i)) return;
  ir::Value& v = g_.values[static_cast<size_t>(n_.outputs[i])];
  v.dtype = dtype;
  v.rank_known = false;
  v.shape.clear();
}

void InferContext::set_output_values(size_t i, std::vector<Expr> values) {
  if (!has_output(i)) return;
  for (Expr& e : values) e = e.simplify(g_.symbols);
  g_.values[static_cast<size_t>(n_.outputs[i])].sym_value = std::move(values);
}

int64_t InferContext::attr_int(const std::string& name) const {
  auto it = n_.attrs.find(name);
  if (it == n_.attrs.end()) fail("required attribute '" + name + "' is missing");
  return it->second.i;
}

void InferContext::require_equal(Expr a, Expr b, const std::string& what) {
  if (a == b) return;
  Interval x = a.bounds(g_.symbols), y = b.bounds(g_.symbols);
  if ((a.is_const() && b.is_const()) || x.hi < y.lo || y.hi < x.lo)
    fail(what + ": " + a.str(&g_.symbols) + " != " + b.str(&g_.symbols));
  g_.guards.push_back(ir::Guard{ir::GuardKind::kEqual, a, b, g_.node_label(n_) + ": " + what});
}

void InferContext::require_divisible(Expr a, Expr b, const std::string& what) {
  Expr r = mod(a, b);
  if (r.is_const()) {
    if (r.const_value() != 0) fail(what + ": " + a.str(&g_.symbols) + " is not divisible by " + b.str(&g_.symbols));
    return;
  }
  g_.guards.push_back(ir::Guard{ir::GuardKind::kDivisible, a, b, g_.node_label(n_) + ": " + what});
}

Expr InferContext::broadcast_dim(Expr a, Expr b) {
  if (a == b) return a;
  if (a.is_const() && a.const_value() == 1) return b;
  if (b.is_const() && b.const_value() == 1) return a;
  if (a.is_const() && b.is_const())
    fail("cannot broadcast dimensions " + a.str() + " and " + b.str());
  Interval x = a.bounds(g_.symbols), y = b.bounds(g_.symbols);
  bool a_may_be_1 = x.lo <= 1 && 1 <= x.hi, b_may_be_1 = y.lo <= 1 && 1 <= y.hi;
  std::string what = g_.node_label(n_) + ": broadcast";
  if (!a_may_be_1 && !b_may_be_1) {
    require_equal(a, b, "broadcast");
    return a.is_const() ? a : b;
  }
  if (b.is_const() && !a_may_be_1) std::swap(a, b);  // keep the dim that can't be 1
  if (a.is_const()) {
    g_.guards.push_back(ir::Guard{ir::GuardKind::kBroadcast, a, b, what});
    return a.const_value() == 1 ? b : a;
  }
  if (!b_may_be_1) {
    g_.guards.push_back(ir::Guard{ir::GuardKind::kBroadcast, a, b, what});
    return b;
  }
  if (!a_may_be_1) {
    g_.guards.push_back(ir::Guard{ir::GuardKind::kBroadcast, a, b, what});
    return a;
  }
  g_.guards.push_back(ir::Guard{ir::GuardKind::kBroadcast, a, b, what});
  return max(a, b);
}

std::vector<Expr> InferContext::broadcast_shapes(const std::vector<Expr>& a, const std::vector<Expr>& b) {
  size_t r = std::max(a.size(), b.size());
  std::vector<Expr> out(r);
  for (size_t i = 0; i < r; ++i) {
    Expr x = i < r - a.size() ? Expr::constant(1) : a[i - (r - a.size())];
    Expr y = i < r - b.size() ? Expr::constant(1) : b[i - (r - b.size())];
    out[i] = broadcast_dim(x, y);
  }
  return out;
}

Expr InferContext::new_data_dependent_symbol(const std::string& hint, Expr upper_bound) {
  Interval ub = upper_bound.bounds(g_.symbols);
  ir::Symbol s;
  s.name = hint + std::to_string(g_.symbols.size());
  s.kind = ir::SymbolKind::kDataDependent;
  s.min = 0;
  s.max = ub.hi;
  s.opt = ub.hi;
  return Expr::symbol(g_.symbols.add(s));
}

int64_t InferContext::axis(int64_t a, size_t rank, const std::string& attr) const {
  auto r = static_cast<int64_t>(rank);
  if (a < -r || a >= r) fail(attr + " " + std::to_string(a) + " is out of range for rank " + std::to_string(rank));
  return a < 0 ? a + r : a;
}

void InferContext::fail(const std::string& msg) const {
  throw Error(ErrorCode::kInvalidModel, g_.node_label(n_) + ": " + msg);
}

void InferContext::unsupported(const std::string& msg) const {
  throw Error(ErrorCode::kUnsupported, g_.node_label(n_) + ": " + msg);
}

void InferContext::needs_constant(const Expr& e, const std::string& msg) const {
  throw NeedsSpecialization(g_.node_label(n_) + ": " + msg, e.symbols());
}

// ---- RunShapeContext -------------------------------------------------------

RunShapeContext::RunShapeContext(const ir::Graph& g, const ir::Node& n, std::span<const TensorView> inputs,
                                 std::vector<std::vector<int64_t>>& outputs)
    : AttrReader(n, g.opset), g_(g), n_(n), inputs_(inputs), outputs_(outputs) {}

std::vector<int64_t> RunShapeContext::shape(size_t i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is required but missing");
  return {inputs_[i].dims.begin(), inputs_[i].dims.begin() + inputs_[i].rank};
}

std::vector<int64_t> RunShapeContext::values(size_t i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is required but missing");
  const TensorView& v = inputs_[i];
  std::vector<int64_t> out(static_cast<size_t>(v.numel()));
  for (size_t k = 0; k < out.size(); ++k) {
    switch (v.dtype) {
      case DType::kInt64: out[k] = static_cast<const int64_t*>(v.data)[k]; break;
      case DType::kInt32: out[k] = static_cast<const int32_t*>(v.data)[k]; break;
      default: fail(std::string("a shape input of element type ") + dtype_name(v.dtype) + " is not supported");
    }
  }
  return out;
}

std::vector<double> RunShapeContext::numbers(size_t i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is required but missing");
  const TensorView& v = inputs_[i];
  std::vector<double> out(static_cast<size_t>(v.numel()));
  for (size_t k = 0; k < out.size(); ++k) {
    switch (v.dtype) {
      case DType::kFloat32: out[k] = static_cast<const float*>(v.data)[k]; break;
      case DType::kFloat64: out[k] = static_cast<const double*>(v.data)[k]; break;
      case DType::kFloat16: out[k] = half_to_float(static_cast<const uint16_t*>(v.data)[k]); break;
      case DType::kBFloat16: out[k] = bf16_to_float(static_cast<const uint16_t*>(v.data)[k]); break;
      case DType::kInt64: out[k] = static_cast<double>(static_cast<const int64_t*>(v.data)[k]); break;
      case DType::kInt32: out[k] = static_cast<const int32_t*>(v.data)[k]; break;
      case DType::kInt16: out[k] = static_cast<const int16_t*>(v.data)[k]; break;
      case DType::kInt8: out[k] = static_cast<const int8_t*>(v.data)[k]; break;
      case DType::kUInt8: out[k] = static_cast<const uint8_t*>(v.data)[k]; break;
      case DType::kUInt16: out[k] = static_cast<const uint16_t*>(v.data)[k]; break;
      case DType::kUInt32: out[k] = static_cast<const uint32_t*>(v.data)[k]; break;
      case DType::kUInt64: out[k] = static_cast<double>(static_cast<const uint64_t*>(v.data)[k]); break;
      default: fail(std::string("a numeric input of element type ") + dtype_name(v.dtype) + " is not supported");
    }
  }
  return out;
}

double RunShapeContext::scalar(size_t i) const {
  std::vector<double> v = numbers(i);
  if (v.empty()) fail("input " + std::to_string(i) + " is empty");
  return v[0];
}

int64_t RunShapeContext::to_size(double v, const std::string& what) const {
  if (!std::isfinite(v) || v < 0 || v > 4.6e18) fail(what + " " + std::to_string(v) + " is not a valid size");
  return static_cast<int64_t>(v);
}

void RunShapeContext::set_output(size_t i, std::vector<int64_t> dims) {
  if (i < outputs_.size()) outputs_[i] = std::move(dims);
}

void RunShapeContext::require_equal(int64_t a, int64_t b, const std::string& what) const {
  if (a != b) fail(what + ": " + std::to_string(a) + " != " + std::to_string(b));
}

void RunShapeContext::require_divisible(int64_t a, int64_t b, const std::string& what) const {
  if (b == 0 || a % b != 0) fail(what + ": " + std::to_string(a) + " is not divisible by " + std::to_string(b));
}

int64_t RunShapeContext::broadcast_dim(int64_t a, int64_t b) const {
  if (a != b && a != 1 && b != 1)
    fail("cannot broadcast dimensions " + std::to_string(a) + " and " + std::to_string(b));
  return a == 1 ? b : a;
}

int64_t RunShapeContext::axis(int64_t a, size_t rank, const std::string& attr) const {
  auto r = static_cast<int64_t>(rank);
  if (a < -r || a >= r) fail(attr + " " + std::to_string(a) + " is out of range for rank " + std::to_string(rank));
  return a < 0 ? a + r : a;
}

void RunShapeContext::fail(const std::string& msg) const {
  throw Error(ErrorCode::kInvalidInput, g_.node_label(n_) + ": " + msg);
}

// ---- OpRegistry -------------------------------------------------------------

std::string op_key(const std::string& domain, const std::string& name) {
  return (domain == "ai.onnx" ? std::string() : domain) + "::" + name;
}

OpSchema& OpRegistry::add(const std::string& name, void (*infer)(InferContext&), const std::string& domain) {
  OpSchema& d = ops_[op_key(domain, name)];
  d.domain = domain;
  d.name = name;
  d.infer = infer;
  return d;
}

const OpSchema* OpRegistry::find(const std::string& name, const std::string& domain) const {
  auto it = ops_.find(op_key(domain, name));
  return it == ops_.end() ? nullptr : &it->second;
}

std::vector<std::string> OpRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [k, d] : ops_) out.push_back(d.domain.empty() ? d.name : d.domain + "." + d.name);
  return out;
}

void check_narrow_types(const ir::Graph& g, size_t index, const OpSchema& schema) {
  if (schema.traits.narrow_types) return;
  const ir::Node& n = g.nodes[index];
  auto check = [&](int v) {
    if (v < 0) return;
    DType t = g.values[static_cast<size_t>(v)].dtype;
    if (narrow::is_narrow(t))
      throw Error(ErrorCode::kUnsupported, g.node_label(n) + ": op '" + n.op + "' does not take element type " +
                                               dtype_name(t) + " ('" + g.values[static_cast<size_t>(v)].name +
                                               "'); dynrt converts " + dtype_name(t) +
                                               " with Cast, QuantizeLinear and DequantizeLinear and moves it through "
                                               "Reshape, Transpose, Concat, Slice and the like");
  };
  for (int v : n.inputs) check(v);
  for (int v : n.outputs) check(v);
}

void check_value_kinds(const ir::Graph& g, size_t index, const OpSchema& schema) {
  if (schema.traits.boxed || schema.traits.subgraphs) return;
  const ir::Node& n = g.nodes[index];
  for (int v : n.inputs)
    if (v >= 0 && g.values[static_cast<size_t>(v)].boxed())
      throw Error(ErrorCode::kUnsupported, g.node_label(n) + ": input '" + g.values[static_cast<size_t>(v)].name +
                                               "' is a " + g.values[static_cast<size_t>(v)].kind_name() +
                                               "; op '" + n.op + "' does not take it");
}

bool touches_boxed_values(const ir::Graph& g, const ir::Node& n) {
  for (int v : n.inputs)
    if (v >= 0 && g.values[static_cast<size_t>(v)].boxed()) return true;
  for (int v : n.outputs)
    if (v >= 0 && g.values[static_cast<size_t>(v)].boxed()) return true;
  return false;
}

OpRegistry& OpRegistry::instance() {
  static OpRegistry* registry = [] {
    auto* r = new OpRegistry();
    register_all_ops(*r);
    return r;
  }();
  return *registry;
}

}  // namespace dynrt
