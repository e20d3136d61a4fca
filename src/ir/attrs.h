// Reading a node's attributes, with defaults. The one reader that op
// inference (InferContext), run-time shape functions (RunShapeContext) and
// kernel factories (KernelInit) share, so each op's typed attribute struct
// is parsed by one function on every side.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace dynrt {

class DYNRT_INTERNAL AttrReader {
 public:
  AttrReader(const ir::Node& node, int64_t opset) : attr_node_(&node), attr_opset_(opset) {}

  int64_t opset() const { return attr_opset_; }
  const ir::Attribute* attr(const std::string& name) const;
  bool has_attr(const std::string& name) const { return attr(name) != nullptr; }
  int64_t attr_int(const std::string& name, int64_t def) const;
  float attr_float(const std::string& name, float def) const;
  std::string attr_string(const std::string& name, const std::string& def) const;
  std::vector<int64_t> attr_ints(const std::string& name, std::vector<int64_t> def = {}) const;
  std::vector<float> attr_floats(const std::string& name) const;
  std::vector<std::string> attr_strings(const std::string& name) const;
  const Tensor* attr_tensor(const std::string& name) const;  // null unless a tensor attribute

 private:
  const ir::Node* attr_node_;
  int64_t attr_opset_;
};

}  // namespace dynrt
