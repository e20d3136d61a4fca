// ONNX protobuf -> ir::Graph. Initializers and Constant nodes become
// constants; dim_param names become shared symbols; unnamed dynamic dims get
// their own symbols ("<input>_dim<i>"). Ranges come later from the profiles.
#pragma once

#include <string>

#include "ir/graph.h"

namespace onnx {
class TensorProto;
}

namespace dynrt::onnx_import {

ir::Graph import_model(const std::string& path);
ir::Graph import_model_bytes(const std::string& bytes, const std::string& label, const std::string& base_dir);
Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& base_dir);

}  // namespace dynrt::onnx_import
