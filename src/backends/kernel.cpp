#include "backends/kernel.h"

namespace dynrt {

const Tensor* KernelInit::constant_input(size_t i) const {
  if (i >= node.inputs.size() || node.inputs[i] < 0) return nullptr;
  const ir::Value& v = graph.values[static_cast<size_t>(node.inputs[i])];
  return v.constant ? &*v.constant : nullptr;
}
DType KernelInit::input_dtype(size_t i) const {
  if (i >= node.inputs.size() || node.inputs[i] < 0) return DType::kUndefined;
  return graph.values[static_cast<size_t>(node.inputs[i])].dtype;
}
DType KernelInit::output_dtype(size_t i) const {
  if (i >= node.outputs.size() || node.outputs[i] < 0) return DType::kUndefined;
  return graph.values[static_cast<size_t>(node.outputs[i])].dtype;
}
size_t KernelInit::input_rank(size_t i) const {
  return graph.values[static_cast<size_t>(node.inputs[i])].shape.size();
}
void KernelInit::unsupported(const std::string& msg) const {
  throw Error(ErrorCode::kUnsupported, graph.node_label(node) + ": " + msg);
}

const std::vector<Expr>& KernelInit::input_shape(size_t i) const {
  return graph.values[static_cast<size_t>(node.inputs[i])].shape;
}
ir::Layout KernelInit::input_layout(size_t i) const {
  return has_input(i) ? graph.values[static_cast<size_t>(node.inputs[i])].layout : ir::Layout::kRowMajor;
}
ir::Layout KernelInit::output_layout(size_t i) const {
  return has_output(i) ? graph.values[static_cast<size_t>(node.outputs[i])].layout : ir::Layout::kRowMajor;
}

void KernelRegistry::add_kernel(const std::string& name, KernelFactory f, const std::string& domain) {
  add_kernel(name, std::move(f), nullptr, domain);
}

void KernelRegistry::add_kernel(const std::string& name, KernelFactory f, KernelSupports supports,
                                const std::string& domain) {
  if (!OpRegistry::instance().find(name, domain))
    throw Error(ErrorCode::kInternal, "kernel registered for op '" + name + "', which has no schema");
  kernels_[op_key(domain, name)] = Entry{std::move(f), std::move(supports)};
}

const KernelRegistry::Entry* KernelRegistry::find(const std::string& name, const std::string& domain) const {
  auto it = kernels_.find(op_key(domain, name));
  return it == kernels_.end() ? nullptr : &it->second;
}

}  // namespace dynrt
