// Tensors in a provider's memory: wrapped, allocated, and copied to and from
// the host through the provider.
#include <cstring>

#include "backends/provider.h"

namespace dynrt {
namespace {

const ExecutionProvider& device_provider(const std::string& device) {
  if (device == "cpu") throw Error(ErrorCode::kInvalidInput, "\"cpu\" is host memory: use Tensor::wrap or Tensor()");
  const ExecutionProvider& p = ProviderRegistry::instance().get(device);
  if (p.host_memory()) throw Error(ErrorCode::kInvalidInput, "provider '" + device + "' uses host memory");
  return p;
}

}  // namespace

Tensor Tensor::wrap_device(const std::string& device, DType dtype, std::vector<int64_t> shape, void* data) {
  device_provider(device);
  Tensor t = wrap(dtype, std::move(shape), data);
  t.device_ = device;
  return t;
}

Tensor Tensor::on_device(const std::string& device, DType dtype, std::vector<int64_t> shape) {
  const ExecutionProvider& p = device_provider(device);
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  for (int64_t d : t.shape_)
    if (d < 0) throw Error(ErrorCode::kInvalidInput, "negative dimension in " + dims_str(t.shape_));
  void* data = p.allocate(std::max<size_t>(t.nbytes(), 1));
  if (!data) throw Error(ErrorCode::kInternal, "out of " + device + " memory allocating " + std::to_string(t.nbytes()) + " bytes");
  t.data_ = std::shared_ptr<std::byte[]>(static_cast<std::byte*>(data), [&p](std::byte* b) { p.deallocate(b); });
  t.device_ = device;
  return t;
}

void Tensor::copy(const Tensor& src, Tensor& dst) {
  if (src.dtype() != dst.dtype() || src.nbytes() != dst.nbytes())
    throw Error(ErrorCode::kInvalidInput, std::string("Tensor::copy from ") + dtype_name(src.dtype()) + " " +
                                              dims_str(src.shape()) + " to " + dtype_name(dst.dtype()) + " " +
                                              dims_str(dst.shape()));
  size_t n = src.nbytes();
  if (n == 0) return;
  if (src.on_host() && dst.on_host()) {
    std::memcpy(dst.data(), src.data(), n);
  } else if (src.on_host()) {
    device_provider(dst.device()).copy_from_host(dst.data(), src.data(), n);
  } else if (dst.on_host()) {
    device_provider(src.device()).copy_to_host(dst.data(), src.data(), n);
  } else {
    throw Error(ErrorCode::kInvalidInput, "Tensor::copy between two devices: copy through the host");
  }
}

}  // namespace dynrt
