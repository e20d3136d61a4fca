#include "ir/attrs.h"

namespace dynrt {

const ir::Attribute* AttrReader::attr(const std::string& name) const {
  auto it = attr_node_->attrs.find(name);
  return it == attr_node_->attrs.end() ? nullptr : &it->second;
}

int64_t AttrReader::attr_int(const std::string& name, int64_t def) const {
  const ir::Attribute* a = attr(name);
  return a ? a->i : def;
}

float AttrReader::attr_float(const std::string& name, float def) const {
  const ir::Attribute* a = attr(name);
  return a ? a->f : def;
}

std::string AttrReader::attr_string(const std::string& name, const std::string& def) const {
  const ir::Attribute* a = attr(name);
  return a ? a->s : def;
}

std::vector<int64_t> AttrReader::attr_ints(const std::string& name, std::vector<int64_t> def) const {
  const ir::Attribute* a = attr(name);
  return a ? a->ints : def;
}

std::vector<float> AttrReader::attr_floats(const std::string& name) const {
  const ir::Attribute* a = attr(name);
  return a ? a->floats : std::vector<float>{};
}

std::vector<std::string> AttrReader::attr_strings(const std::string& name) const {
  const ir::Attribute* a = attr(name);
  return a ? a->strings : std::vector<std::string>{};
}

const Tensor* AttrReader::attr_tensor(const std::string& name) const {
  const ir::Attribute* a = attr(name);
  return a && a->type == ir::Attribute::Type::kTensor ? &a->t : nullptr;
}

}  // namespace dynrt
