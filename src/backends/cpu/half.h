// float16 / bfloat16 <-> float32 conversion, and a kernel wrapper that runs a
// float32 kernel on 16-bit float tensors (converting in and out). Models use
// float16 for a few ops (casts, masks, small elementwise chains); computing
// them in float32 and rounding once gives the reference's results.
#pragma once

#include <cstring>
#include <memory>
#include <vector>

#include "backends/cpu/kernel_util.h"
#include "core/half.h"

namespace dynrt::cpu {

using ::dynrt::bf16_to_float;
using ::dynrt::float_to_bf16;
using ::dynrt::float_to_half;
using ::dynrt::half_to_float;

inline bool is_half(DType t) { return t == DType::kFloat16 || t == DType::kBFloat16; }

inline void to_float(const TensorView& v, float* out) {
  const auto* p = v.as<const uint16_t>();
  int64_t n = v.numel();
  if (v.dtype == DType::kFloat16)
    for (int64_t i = 0; i < n; ++i) out[i] = half_to_float(p[i]);
  else
    for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_float(p[i]);
}

inline void from_float(const float* in, const TensorView& v) {
  auto* p = v.as<uint16_t>();
  int64_t n = v.numel();
  if (v.dtype == DType::kFloat16)
    for (int64_t i = 0; i < n; ++i) p[i] = float_to_half(in[i]);
  else
    for (int64_t i = 0; i < n; ++i) p[i] = float_to_bf16(in[i]);
}

// Runs `inner` with every float16/bfloat16 input and output replaced by a
// float32 copy. Outputs must be allocated (not sized at run time).
class WidenHalfKernel : public Kernel {
 public:
  explicit WidenHalfKernel(std::unique_ptr<Kernel> inner) : inner_(std::move(inner)) {}

  // The inner kernel plans for float32 views (prepare reads dims, not data).
  std::unique_ptr<KernelState> prepare(const KernelContext& c) const override {
    std::vector<TensorView> ins(c.inputs.begin(), c.inputs.end()), outs(c.outputs.begin(), c.outputs.end());
    for (TensorView& v : ins)
      if (is_half(v.dtype)) v.dtype = DType::kFloat32;
    for (TensorView& v : outs)
      if (is_half(v.dtype)) v.dtype = DType::kFloat32;
    KernelContext w = c;
    w.inputs = ins;
    w.outputs = outs;
    return inner_->prepare(w);
  }
  // 16-bit inputs are read whole into float32 copies before anything is written: in place stays safe.
  int inplace_input() const override { return inner_->inplace_input(); }

  void run(KernelContext& c) const override {
    bool any = false;
    for (const TensorView& v : c.inputs) any = any || is_half(v.dtype);
    for (const TensorView& v : c.outputs) any = any || is_half(v.dtype);
    if (!any) return inner_->run(c);
    std::vector<std::vector<float>> bufs;
    std::vector<TensorView> ins(c.inputs.begin(), c.inputs.end()), outs(c.outputs.begin(), c.outputs.end());
    bufs.reserve(ins.size() + outs.size());
    for (TensorView& v : ins) {
      if (!is_half(v.dtype)) continue;
      bufs.emplace_back(static_cast<size_t>(std::max<int64_t>(v.numel(), 1)));
      to_float(v, bufs.back().data());
      v.dtype = DType::kFloat32;
      v.data = bufs.back().data();
    }
    std::vector<size_t> out_buf(outs.size(), SIZE_MAX);
    for (size_t i = 0; i < outs.size(); ++i) {
      TensorView& v = outs[i];
      if (!is_half(v.dtype)) continue;
      bufs.emplace_back(static_cast<size_t>(std::max<int64_t>(v.numel(), 1)));
      out_buf[i] = bufs.size() - 1;
      v.dtype = DType::kFloat32;
      v.data = bufs.back().data();
    }
    KernelContext w = c;
    w.inputs = ins;
    w.outputs = outs;
    inner_->run(w);
    for (size_t i = 0; i < outs.size(); ++i)
      if (out_buf[i] != SIZE_MAX) from_float(bufs[out_buf[i]].data(), c.outputs[i]);
  }

 private:
  std::unique_ptr<Kernel> inner_;
};

// A factory whose kernels accept 16-bit floats by computing in float32.
inline KernelFactory widen_half(KernelFactory f) {
  return [f = std::move(f)](const KernelInit& init) -> std::unique_ptr<Kernel> {
    return std::make_unique<WidenHalfKernel>(f(init));
  };
}

}  // namespace dynrt::cpu
