// check_model (dynrt/compiler.h): everything a build would refuse for lack of
// support, all at once and before any build (polygraphy inspect's job): ops
// without a schema, subgraph attributes (control flow), element types dynrt
// does not store, inputs that are not tensors. Read from the protobuf
// directly, so one problem does not hide the next. A model that passes may
// still fail later on its shapes or values; build says where.
#include <onnx/onnx_pb.h>

#include <fstream>
#include <set>
#include <sstream>

#include "dynrt/compiler.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

std::string node_name(const onnx::NodeProto& n, int index) {
  std::ostringstream s;
  s << "node ";
  if (n.name().empty()) s << "#" << index;
  else s << "'" << n.name() << "'";
  s << " (" << n.op_type() << ")";
  return s.str();
}

void check_type(const onnx::TypeProto& type, const std::string& what, std::vector<std::string>& out) {
  const onnx::TypeProto* t = &type;  // sequences and optionals of tensors: their elements
  if (t->has_optional_type()) t = &t->optional_type().elem_type();
  if (t->has_sequence_type()) t = &t->sequence_type().elem_type();
  if (!t->has_tensor_type()) {
    out.push_back(what + " is not a tensor, a sequence of tensors or an optional of either (maps are not supported)");
    return;
  }
  auto dtype = static_cast<DType>(t->tensor_type().elem_type());
  if (!dtype_is_supported(dtype) && !(dtype == DType::kString && t == &type))  // tensors of strings, not sequences of them
    out.push_back(what + " has element type " + dtype_name(dtype) + ", which dynrt does not support");
}

void check_graph(const onnx::GraphProto& g, const std::string& where, std::vector<std::string>& out) {
  std::set<std::string> initializers;
  for (const auto& t : g.initializer()) {
    initializers.insert(t.name());
    auto dtype = static_cast<DType>(t.data_type());
    if (!dtype_is_supported(dtype))
      out.push_back(where + "initializer '" + t.name() + "' has element type " + dtype_name(dtype) +
                    ", which dynrt does not support");
  }
  for (const auto& in : g.input())
    if (!initializers.count(in.name())) check_type(in.type(), where + "input '" + in.name() + "'", out);
  const OpRegistry& reg = OpRegistry::instance();
  int index = 0;
  for (const auto& n : g.node()) {
    std::string domain = n.domain() == "ai.onnx" ? "" : n.domain();
    // If, Loop, Scan and SequenceMap: their bodies are checked like the graph.
    const bool is_if = (n.op_type() == "If" || n.op_type() == "Scan" || n.op_type() == "Loop" || n.op_type() == "SequenceMap") && domain.empty();
    if (!reg.find(n.op_type(), domain) && !is_if)
      out.push_back(where + node_name(n, index) + ": unsupported op '" + n.op_type() + "' (domain " +
                    (domain.empty() ? "ai.onnx" : domain) + ")");
    const bool bodies = is_if || (n.op_type() == "FlexAttention" && domain == "ai.onnx.preview");  // score_mod, prob_mod
    for (const auto& a : n.attribute())
      if (bodies && a.type() == onnx::AttributeProto::GRAPH)
        check_graph(a.g(), where + node_name(n, index) + " " + a.name() + ": ", out);
      else if (a.type() == onnx::AttributeProto::GRAPH || a.type() == onnx::AttributeProto::GRAPHS)
        out.push_back(where + node_name(n, index) + ": subgraph attribute '" + a.name() +
                      "' (control flow) is not supported");
      else if (a.type() == onnx::AttributeProto::TENSOR && !dtype_is_supported(static_cast<DType>(a.t().data_type())) &&
               a.t().data_type() != onnx::TensorProto::STRING)
        out.push_back(where + node_name(n, index) + ": attribute '" + a.name() + "' holds element type " +
                      dtype_name(static_cast<DType>(a.t().data_type())) + ", which dynrt does not support");
    ++index;
  }
}

}  // namespace

std::vector<std::string> check_model(const std::string& onnx_path) {
  std::ifstream f(onnx_path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kIo, "cannot open model file '" + onnx_path + "'");
  onnx::ModelProto m;
  if (!m.ParseFromIstream(&f)) throw Error(ErrorCode::kInvalidModel, "'" + onnx_path + "' is not an ONNX model");
  std::vector<std::string> out;
  check_graph(m.graph(), "", out);
  return out;
}

}  // namespace dynrt
