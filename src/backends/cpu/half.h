// float16 / bfloat16 <-> float32 conversion, and a kernel wrapper that runs a
// float32 kernel on 16-bit float tensors (converting in and out). Models use
// float16 for a few ops (casts, masks, small elementwise chains); computing
// them in float32 and rounding once gives the reference's results.
#pragma once

#include <cstring>
#include <memory>
#include <vector>

#include "backends/cpu/kernel_util.h"

namespace dynrt::cpu {

inline float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400u) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Round to nearest even, with overflow to infinity and NaN kept quiet.
inline uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504
  if (abs < 0x38800000u) {  // subnormal half (or zero)
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);
    uint32_t e = abs >> 23, m = (abs & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e;  // 14..24
    uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (r & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);
  }
  uint32_t r = abs - 0x38000000u;  // rebias exponent
  uint32_t out = r >> 13, rem = r & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (out & 1u))) ++out;
  return static_cast<uint16_t>(sign | out);
}

inline float bf16_to_float(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t float_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

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
