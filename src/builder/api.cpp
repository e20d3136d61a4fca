// The public compiler API (dynrt/compiler.h).
#include <map>
#include <sstream>

#include "builder/build.h"
#include "onnx/importer.h"

namespace dynrt {

std::shared_ptr<Engine> build(const std::string& onnx_path, const BuildConfig& config) {
  if (config.progress) config.progress("importing " + onnx_path);
  return EngineAccess::wrap(build_engine(onnx_import::import_model(onnx_path), config));
}

std::shared_ptr<Engine> build_from_bytes(const std::string& onnx_bytes, const BuildConfig& config) {
  return EngineAccess::wrap(build_engine(onnx_import::import_model_bytes(onnx_bytes, "<memory>", ""), config));
}

std::string describe_model(const std::string& onnx_path) {
  ir::Graph g = onnx_import::import_model(onnx_path);
  std::ostringstream s;
  s << "ONNX model, opset " << g.opset << "\ninputs:\n";
  for (int id : g.inputs) {
    const ir::Value& v = g.values[static_cast<size_t>(id)];
    s << "  " << v.name << ": " << dtype_name(v.dtype) << " " << shape_str(v.shape, &g.symbols) << "\n";
  }
  s << "dynamic dimensions (give each a range with --dim NAME=MIN:OPT:MAX):\n";
  for (int id = 0; id < g.symbols.size(); ++id) s << "  " << g.symbols[id].name << "\n";
  std::map<std::string, int> ops;
  for (const ir::Node& n : g.nodes) ++ops[(n.domain.empty() ? "" : n.domain + ".") + n.op];
  s << "ops (" << g.nodes.size() << " nodes):";
  for (const auto& [op, c] : ops) s << " " << op << " x" << c;
  s << "\n";
  return s.str();
}

std::vector<TensorInfo> model_inputs_from_bytes(const std::string& onnx_bytes) {
  ir::Graph g = onnx_import::import_model_bytes(onnx_bytes, "<memory>", "");
  std::vector<TensorInfo> out;
  for (int id : g.inputs) {
    const ir::Value& v = g.values[static_cast<size_t>(id)];
    TensorInfo t{v.name, v.dtype, {}};
    for (const Expr& e : v.shape) t.dims.push_back(e.str(&g.symbols));
    out.push_back(std::move(t));
  }
  return out;
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::kFp32: return "fp32";
    case Precision::kFp16: return "fp16";
    case Precision::kBf16: return "bf16";
  }
  return "?";
}

}  // namespace dynrt
