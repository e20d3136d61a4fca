#include "onnx/importer.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <fstream>
#include <sstream>

#include "core/checked.h"
#include "core/narrow_types.h"
#include "core/tensor_view.h"
#include "dynrt/error.h"

namespace dynrt::onnx_import {
namespace {

// Tensor views hold at most kMaxRank dims; inference refuses larger ranks for
// node outputs, and this does for the tensors a model gives directly.
void check_rank(const std::string& name, size_t rank) {
  if (rank > static_cast<size_t>(kMaxRank))
    throw Error(ErrorCode::kUnsupported, "tensor '" + name + "' has rank " + std::to_string(rank) + "; dynrt supports up to " +
                                             std::to_string(kMaxRank));
}

[[noreturn]] void invalid(const std::string& msg) { throw Error(ErrorCode::kInvalidModel, msg); }

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kIo, "cannot open model file '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

template <class Dst, class Src>
void store(const Src& field, Tensor& t, size_t n) {
  for (size_t i = 0; i < n; ++i) t.data_as<Dst>()[i] = static_cast<Dst>(field[static_cast<int>(i)]);
}

// Typed (non-raw) initializer fields; small ints and halves live in int32_data.
template <class Src>
void copy_field(const Src& field, Tensor& t, size_t n) {
  if (static_cast<size_t>(field.size()) != n) invalid("initializer element count mismatch");
  switch (t.dtype()) {
    case DType::kFloat32: store<float>(field, t, n); break;
    case DType::kFloat64: store<double>(field, t, n); break;
    case DType::kInt64: store<int64_t>(field, t, n); break;
    case DType::kUInt64: store<uint64_t>(field, t, n); break;
    case DType::kInt32: store<int32_t>(field, t, n); break;
    case DType::kUInt32: store<uint32_t>(field, t, n); break;
    case DType::kInt16: case DType::kUInt16: case DType::kFloat16: case DType::kBFloat16: store<uint16_t>(field, t, n); break;
    case DType::kInt8: case DType::kUInt8: case DType::kBool: store<uint8_t>(field, t, n); break;
    default:
      if (narrow::is_narrow(t.dtype()) && narrow::file_bits(t.dtype()) == 8) {  // float8: a byte an entry
        store<uint8_t>(field, t, n);
        break;
      }
      invalid("unsupported initializer type");
  }
}

// External data: only a file inside the model's folder (after resolving
// ".." and symlinks), at an offset and length that fit the file and match
// the tensor's size. Allocated once the sizes are known good.
Tensor read_external(const onnx::TensorProto& p, const std::string& label, const std::string& base_dir, DType dtype,
                     const std::vector<int64_t>& dims, size_t bytes) {
  namespace fs = std::filesystem;
  std::string location;
  int64_t offset = 0, length = -1;
  auto number = [&](const std::string& key, const std::string& v) {
    try {
      size_t used = 0;
      long long x = std::stoll(v, &used);
      if (used == v.size() && x >= 0) return static_cast<int64_t>(x);
    } catch (const std::exception&) {
    }
    invalid(label + ": external data " + key + " '" + v + "' is not a non-negative integer");
  };
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location") location = kv.value();
    if (kv.key() == "offset") offset = number("offset", kv.value());
    if (kv.key() == "length") length = number("length", kv.value());
  }
  if (location.empty()) invalid(label + ": external data without a location");
  if (fs::path(location).is_absolute())
    invalid(label + ": external data location '" + location + "' is an absolute path; it must be inside the model's folder");
  std::error_code ec;
  fs::path folder = fs::weakly_canonical(fs::absolute(base_dir.empty() ? fs::path(".") : fs::path(base_dir)), ec);
  fs::path file = fs::weakly_canonical(folder / location, ec);
  auto rel = file.lexically_relative(folder);
  if (ec || rel.empty() || *rel.begin() == "..")
    invalid(label + ": external data location '" + location + "' leaves the model's folder");
  if (length >= 0 && static_cast<size_t>(length) != bytes)
    invalid(label + ": external data length " + std::to_string(length) + " does not match the tensor's " +
            std::to_string(bytes) + " bytes");
  uintmax_t size = fs::file_size(file, ec);
  if (ec) throw Error(ErrorCode::kIo, label + ": cannot open external data file '" + file.string() + "'");
  if (static_cast<uintmax_t>(offset) > size || size - static_cast<uintmax_t>(offset) < bytes)
    invalid(label + ": external data file '" + file.string() + "' is too short (" + std::to_string(size) +
            " bytes, the tensor needs " + std::to_string(bytes) + " at offset " + std::to_string(offset) + ")");
  std::ifstream f(file, std::ios::binary);
  if (!f) throw Error(ErrorCode::kIo, label + ": cannot open external data file '" + file.string() + "'");
  Tensor t(dtype, dims);
  f.seekg(offset);
  f.read(static_cast<char*>(t.data()), static_cast<std::streamsize>(bytes));
  if (!f) invalid(label + ": external data file '" + file.string() + "' is too short");
  return t;
}

// 4- and 2-bit elements packed in `packed` (the first in the low bits), one a byte in `t`.
void unpack(const std::byte* packed, Tensor& t) {
  const int bits = narrow::file_bits(t.dtype());
  const int per_byte = 8 / bits;
  auto* out = t.data_as<uint8_t>();
  const auto n = static_cast<size_t>(t.numel());
  for (size_t i = 0; i < n; ++i) {
    const auto byte = static_cast<unsigned>(packed[i / static_cast<size_t>(per_byte)]);
    out[i] = static_cast<uint8_t>((byte >> (bits * static_cast<int>(i % static_cast<size_t>(per_byte)))) & ((1u << bits) - 1));
  }
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& base_dir) {
  auto dtype = static_cast<DType>(p.data_type());
  std::string label = "tensor '" + p.name() + "'";
  if (!dtype_is_supported(dtype))
    throw Error(ErrorCode::kUnsupported, label + " has element type " + dtype_name(dtype) + " (" +
                                             std::to_string(p.data_type()) + "), which dynrt does not support");
  std::vector<int64_t> dims(p.dims().begin(), p.dims().end());
  // Sized and checked against the bytes that back it before anything is allocated.
  const auto n = static_cast<size_t>(checked_numel(dims, label));
  if (narrow::file_bits(dtype) < 8) {
    // Packed in the file: read the bytes as uint8, then one element a byte.
    const size_t per_byte = static_cast<size_t>(8 / narrow::file_bits(dtype)), packed = (n + per_byte - 1) / per_byte;
    onnx::TensorProto bytes_proto;
    bytes_proto.set_name(p.name());
    bytes_proto.set_data_type(onnx::TensorProto::UINT8);
    bytes_proto.add_dims(static_cast<int64_t>(packed));
    if (p.data_location() == onnx::TensorProto::EXTERNAL) {
      bytes_proto.set_data_location(onnx::TensorProto::EXTERNAL);
      *bytes_proto.mutable_external_data() = p.external_data();
    } else if (p.has_raw_data()) {
      bytes_proto.set_raw_data(p.raw_data());
    } else {
      *bytes_proto.mutable_int32_data() = p.int32_data();
    }
    Tensor bytes = tensor_from_proto(bytes_proto, base_dir);
    Tensor t(dtype, dims);
    unpack(static_cast<const std::byte*>(bytes.data()), t);
    return t;
  }
  const auto bytes = static_cast<size_t>(checked_bytes(dtype, dims, label));
  if (p.data_location() == onnx::TensorProto::EXTERNAL) return read_external(p, label, base_dir, dtype, dims, bytes);
  if (p.has_raw_data() && p.raw_data().size() != bytes)
    invalid(label + ": raw data has " + std::to_string(p.raw_data().size()) + " bytes, expected " + std::to_string(bytes));
  if (!p.has_raw_data() && n > 0) {  // the typed field must hold every element before anything is allocated
    int64_t held = 0;
    switch (dtype) {
      case DType::kFloat32: held = p.float_data_size(); break;
      case DType::kFloat64: held = p.double_data_size(); break;
      case DType::kInt64: held = p.int64_data_size(); break;
      case DType::kUInt64: case DType::kUInt32: held = p.uint64_data_size(); break;
      default: held = p.int32_data_size(); break;
    }
    if (static_cast<size_t>(held) != n)
      invalid(label + ": holds " + std::to_string(held) + " elements, its dims say " + std::to_string(n));
  }
  Tensor t(dtype, dims);
  if (p.has_raw_data()) {
    if (bytes) std::memcpy(t.data(), p.raw_data().data(), bytes);
    return t;
  }
  if (n == 0) return t;
  switch (dtype) {
    case DType::kFloat32: copy_field(p.float_data(), t, n); break;
    case DType::kFloat64: copy_field(p.double_data(), t, n); break;
    case DType::kInt64: copy_field(p.int64_data(), t, n); break;
    case DType::kUInt64: case DType::kUInt32: copy_field(p.uint64_data(), t, n); break;
    default: copy_field(p.int32_data(), t, n); break;
  }
  return t;
}

namespace {

// Whether an enclosing graph defines a name (subgraphs read their enclosing graphs' values by name).
using OuterHas = std::function<bool(const std::string&)>;
constexpr int kMaxSubgraphDepth = 16;  // nested If/Loop/Scan bodies: an untrusted model's nesting is bounded

ir::Graph import_subgraph(const onnx::GraphProto& gp, const std::string& base_dir, const OuterHas& outer, int depth);

// The names a subgraph (and the subgraphs inside it) reads without defining
// them: what the node holding it reads from its enclosing graph.
void free_names(const onnx::GraphProto& gp, std::set<std::string>& out) {
  std::set<std::string> defined;
  for (const auto& t : gp.initializer()) defined.insert(t.name());
  for (const auto& i : gp.input()) defined.insert(i.name());
  for (const auto& n : gp.node())
    for (const auto& o : n.output()) defined.insert(o);
  auto use = [&](const std::string& name) {
    if (!name.empty() && !defined.count(name)) out.insert(name);
  };
  for (const auto& n : gp.node()) {
    for (const auto& i : n.input()) use(i);
    for (const auto& a : n.attribute())
      if (a.type() == onnx::AttributeProto::GRAPH) {
        std::set<std::string> inner;
        free_names(a.g(), inner);
        for (const std::string& name : inner) use(name);
      }
  }
  for (const auto& o : gp.output()) use(o.name());
}

ir::Attribute convert_attribute(const onnx::AttributeProto& a, const std::string& base_dir, const OuterHas& scope,
                                int depth) {
  ir::Attribute out;
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::INT: out.type = ir::Attribute::Type::kInt; out.i = a.i(); break;
    case A::FLOAT: out.type = ir::Attribute::Type::kFloat; out.f = a.f(); break;
    case A::STRING: out.type = ir::Attribute::Type::kString; out.s = a.s(); break;
    case A::INTS: out.type = ir::Attribute::Type::kInts; out.ints.assign(a.ints().begin(), a.ints().end()); break;
    case A::FLOATS: out.type = ir::Attribute::Type::kFloats; out.floats.assign(a.floats().begin(), a.floats().end()); break;
    case A::STRINGS: out.type = ir::Attribute::Type::kStrings; out.strings.assign(a.strings().begin(), a.strings().end()); break;
    case A::TENSOR:
      if (a.t().data_type() == onnx::TensorProto::STRING) {  // LabelEncoder's keys_tensor: a list of strings
        out.type = ir::Attribute::Type::kStrings;
        out.strings.assign(a.t().string_data().begin(), a.t().string_data().end());
        break;
      }
      out.type = ir::Attribute::Type::kTensor;
      out.t = tensor_from_proto(a.t(), base_dir);
      break;
    case A::GRAPH:
      out.type = ir::Attribute::Type::kGraph;
      out.graph = std::make_shared<const ir::Graph>(import_subgraph(a.g(), base_dir, scope, depth + 1));
      break;
    case A::GRAPHS: out.type = ir::Attribute::Type::kGraph; break;  // no op dynrt runs takes a list of graphs
    case A::TYPE_PROTO: {  // Optional's type: [kind (0 tensor, 1 sequence), element type, rank or -1]
      const onnx::TypeProto* t = &a.tp();
      int64_t kind = 0;
      if (t->has_optional_type()) t = &t->optional_type().elem_type();
      if (t->has_sequence_type()) {
        kind = 1;
        t = &t->sequence_type().elem_type();
      }
      if (!t->has_tensor_type())
        throw Error(ErrorCode::kUnsupported, "attribute '" + a.name() + "' names a type that is not a tensor or a sequence of tensors");
      const auto& tt = t->tensor_type();
      out.type = ir::Attribute::Type::kInts;
      out.ints = {kind, tt.elem_type(), tt.has_shape() ? tt.shape().dim_size() : -1};
      break;
    }
    default:
      throw Error(ErrorCode::kUnsupported, "attribute '" + a.name() + "' has a type dynrt does not support");
  }
  return out;
}

// Constant nodes become build-time constants directly.
std::optional<Tensor> constant_node_value(const onnx::NodeProto& n, const std::string& base_dir) {
  for (const auto& a : n.attribute()) {
    if (a.name() == "value") return tensor_from_proto(a.t(), base_dir);
    if (a.name() == "value_float") { Tensor t(DType::kFloat32, {}); *t.data_as<float>() = a.f(); return t; }
    if (a.name() == "value_int") { Tensor t(DType::kInt64, {}); *t.data_as<int64_t>() = a.i(); return t; }
    if (a.name() == "value_floats") {
      Tensor t(DType::kFloat32, {a.floats_size()});
      for (int i = 0; i < a.floats_size(); ++i) t.data_as<float>()[i] = a.floats(i);
      return t;
    }
    if (a.name() == "value_ints") {
      Tensor t(DType::kInt64, {a.ints_size()});
      for (int i = 0; i < a.ints_size(); ++i) t.data_as<int64_t>()[i] = a.ints(i);
      return t;
    }
  }
  return std::nullopt;
}

void import_initializers(const onnx::GraphProto& gp, ir::Graph& g, const std::string& base_dir) {
  for (const auto& init : gp.initializer()) {
    int id = g.add_value(init.name());
    ir::Value& v = g.values[static_cast<size_t>(id)];
    v.constant = tensor_from_proto(init, base_dir);
    check_rank(init.name(), v.constant->shape().size());
    v.dtype = v.constant->dtype();
    v.rank_known = true;
    for (int64_t d : v.constant->shape()) v.shape.push_back(Expr::constant(d));
  }
}

// The nodes, topologically sorted (ONNX requires order, but not every
// exporter obeys), then the outputs. outer: for a subgraph, whether an
// enclosing graph defines a name; a name read from there becomes a value of
// this graph with no producer (a capture).
void import_nodes(const onnx::GraphProto& gp, ir::Graph& g, const std::string& base_dir, const OuterHas& outer,
                  int depth) {
  auto local = [&](const std::string& name) { return g.find_value(name) >= 0; };
  auto visible = [&](const std::string& name) { return local(name) || (outer && outer(name)); };
  auto id_of = [&](const std::string& name) { return local(name) ? g.find_value(name) : g.add_value(name); };
  // What each node reads: its inputs, and what its subgraphs read from here.
  std::map<const onnx::NodeProto*, std::vector<std::string>> reads;
  for (const auto& n : gp.node()) {
    std::vector<std::string>& r = reads[&n];
    r.assign(n.input().begin(), n.input().end());
    for (const auto& a : n.attribute())
      if (a.type() == onnx::AttributeProto::GRAPH) {
        std::set<std::string> inner;
        free_names(a.g(), inner);
        r.insert(r.end(), inner.begin(), inner.end());
      }
  }
  std::vector<const onnx::NodeProto*> pending;
  for (const auto& n : gp.node()) pending.push_back(&n);
  auto is_defined = [&](const std::string& name) { return name.empty() || visible(name); };
  while (!pending.empty()) {
    std::vector<const onnx::NodeProto*> later;
    for (const onnx::NodeProto* n : pending) {
      bool ready = true;
      for (const auto& i : reads[n]) ready = ready && is_defined(i);
      if (!ready) {
        later.push_back(n);
        continue;
      }
      if (n->op_type() == "Constant" && (n->domain().empty() || n->domain() == "ai.onnx") && n->output_size() == 1) {
        if (auto t = constant_node_value(*n, base_dir)) {
          int id = g.add_value(n->output(0));
          ir::Value& v = g.values[static_cast<size_t>(id)];
          check_rank(n->output(0), t->shape().size());
          v.dtype = t->dtype();
          v.rank_known = true;
          for (int64_t d : t->shape()) v.shape.push_back(Expr::constant(d));
          v.constant = std::move(*t);
          continue;
        }
      }
      ir::Node node;
      node.op = n->op_type();
      node.domain = n->domain() == "ai.onnx" ? "" : n->domain();
      node.name = n->name();
      for (const auto& i : n->input()) node.inputs.push_back(i.empty() ? -1 : id_of(i));
      // The "dynrt" domain and "dynrt.*" attributes are dynrt's own lowering
      // conventions: a model must not be able to set them.
      if (node.domain == "dynrt")
        throw Error(ErrorCode::kUnsupported, "unsupported op '" + node.op + "' (domain dynrt) in node '" + n->name() +
                                                 "': the domain 'dynrt' is reserved for dynrt's internal ops");
      for (const auto& a : n->attribute()) {
        if (a.name().rfind("dynrt.", 0) == 0)
          invalid("node '" + n->name() + "' (" + n->op_type() + ") has attribute '" + a.name() +
                  "': attributes named dynrt.* are reserved for dynrt's own passes");
        if (a.type() == onnx::AttributeProto::GRAPH && depth >= kMaxSubgraphDepth)
          invalid("node '" + n->name() + "' (" + n->op_type() + ") nests subgraphs more than " +
                  std::to_string(kMaxSubgraphDepth) + " deep");
        node.attrs[a.name()] = convert_attribute(a, base_dir, visible, depth);
      }
      for (const auto& o : n->output()) {
        if (o.empty()) {
          node.outputs.push_back(-1);
          continue;
        }
        if (local(o)) invalid("value '" + o + "' is produced twice (node '" + n->name() + "')");
        node.outputs.push_back(g.add_value(o));
      }
      g.nodes.push_back(std::move(node));
    }
    if (later.size() == pending.size()) {
      const onnx::NodeProto* n = later.front();
      std::string missing;
      for (const auto& i : reads[n])
        if (!is_defined(i)) missing = i;
      invalid("node '" + n->name() + "' (" + n->op_type() + ") reads '" + missing +
              "', which no node, input or initializer defines");
    }
    pending = std::move(later);
  }
  g.recompute_producers();
  for (const auto& out : gp.output()) {
    if (!visible(out.name())) invalid("graph output '" + out.name() + "' is never produced");
    g.outputs.push_back(id_of(out.name()));
  }
}

// An If branch or a Loop/Scan body: its inputs (a body's), constants and
// nodes; the types of its inputs are left to the op that runs it.
ir::Graph import_subgraph(const onnx::GraphProto& gp, const std::string& base_dir, const OuterHas& outer, int depth) {
  ir::Graph g;
  import_initializers(gp, g, base_dir);
  for (const auto& in : gp.input())
    if (g.find_value(in.name()) < 0) g.inputs.push_back(g.add_value(in.name()));
  import_nodes(gp, g, base_dir, outer, depth);
  return g;
}

}  // namespace

ir::Graph import_model_bytes(const std::string& bytes, const std::string& label, const std::string& base_dir) {
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes))
    invalid("'" + label + "' is not a valid ONNX model (protobuf parse failed)");
  if (!model.has_graph()) invalid("'" + label + "' has no graph");
  ir::Graph g;
  for (const auto& op : model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") g.opset = op.version();
  const onnx::GraphProto& gp = model.graph();
  // Models using only other domains (ai.onnx.ml, training) need not import it.
  for (const auto& n : gp.node())
    if (g.opset == 0 && (n.domain().empty() || n.domain() == "ai.onnx"))
      invalid("'" + label + "' does not import the default ONNX opset");

  import_initializers(gp, g, base_dir);
  for (const auto& in : gp.input()) {
    if (g.find_value(in.name()) >= 0) continue;  // an initializer listed as input (old exporters)
    const onnx::TypeProto* type = &in.type();
    // Sequences and optionals of tensors: boxed values, their elements' type and rank.
    ValueKind kind = ValueKind::kTensor;
    if (type->has_optional_type()) {
      type = &type->optional_type().elem_type();
      kind = type->has_sequence_type() ? ValueKind::kOptionalSequence : ValueKind::kOptionalTensor;
    }
    if (type->has_sequence_type()) {
      if (kind == ValueKind::kTensor) kind = ValueKind::kSequence;
      type = &type->sequence_type().elem_type();
    }
    if (!type->has_tensor_type())
      throw Error(ErrorCode::kUnsupported, "input '" + in.name() + "' is not a tensor, a sequence of tensors or an optional of either");
    const auto& tt = type->tensor_type();
    auto dtype = static_cast<DType>(tt.elem_type());
    if (!dtype_is_supported(dtype) && !(dtype == DType::kString && kind == ValueKind::kTensor))  // strings: boxed tensors
      throw Error(ErrorCode::kUnsupported, "input '" + in.name() + "' has element type " + dtype_name(dtype));
    int id = g.add_value(in.name());
    ir::Value& v = g.values[static_cast<size_t>(id)];
    v.dtype = dtype;
    if (kind != ValueKind::kTensor) {
      v.kind = kind;
      if (tt.has_shape()) {
        check_rank(in.name(), static_cast<size_t>(tt.shape().dim_size()));
        v.elem_rank = tt.shape().dim_size();
      }
      g.inputs.push_back(id);
      continue;
    }
    if (!tt.has_shape()) throw Error(ErrorCode::kUnsupported, "input '" + in.name() + "' has unknown rank");
    check_rank(in.name(), static_cast<size_t>(tt.shape().dim_size()));
    v.rank_known = true;
    for (int i = 0; i < tt.shape().dim_size(); ++i) {
      const auto& d = tt.shape().dim(i);
      if (d.has_dim_value()) {
        v.shape.push_back(Expr::constant(d.dim_value()));
        continue;
      }
      // Equal dim_param names are one symbol: inputs sharing "seq" are constrained equal.
      std::string name = d.has_dim_param() && !d.dim_param().empty() ? d.dim_param() : in.name() + "_dim" + std::to_string(i);
      int s = g.symbols.find(name);
      if (s < 0) s = g.symbols.add(ir::Symbol{name, ir::SymbolKind::kInput, 0, 0, 0});
      v.shape.push_back(Expr::symbol(s));
    }
    g.inputs.push_back(id);
  }
  import_nodes(gp, g, base_dir, nullptr, 0);
  if (g.outputs.empty()) invalid("'" + label + "' has no outputs");
  return g;
}

ir::Graph import_model(const std::string& path) {
  std::string base_dir;
  if (auto slash = path.find_last_of('/'); slash != std::string::npos) base_dir = path.substr(0, slash);
  return import_model_bytes(read_file(path), path, base_dir);
}

}  // namespace dynrt::onnx_import
