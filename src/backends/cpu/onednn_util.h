// Shared oneDNN plumbing for the CPU linalg/nn kernels: one engine, a stream
// and scratch buffers per thread, fused-activation post-ops, and a cache of
// weights reordered into the layout a primitive asked for.
#pragma once

#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "backends/cpu/kernel_util.h"
#include "core/mapped_file.h"

namespace dynrt::cpu {

inline dnnl::engine& dnnl_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

inline dnnl::stream& dnnl_stream() {
  thread_local dnnl::stream s(dnnl_engine());
  return s;
}

// Grow-only, 64-byte aligned scratch memory owned by the calling thread.
// Slots let one kernel hold several buffers at once (reordered src, dst,
// primitive scratchpad); a kernel must not keep them past its run().
enum ScratchSlot { kScratchSrc = 0, kScratchDst, kScratchWeights, kScratchPad, kScratchSlots };

inline void* thread_scratch(ScratchSlot slot, size_t bytes) {
  struct Buf {
    void* p = nullptr;
    size_t n = 0;
    ~Buf() { std::free(p); }
  };
  thread_local Buf bufs[kScratchSlots];
  Buf& b = bufs[slot];
  if (bytes > b.n) {
    std::free(b.p);
    b.n = (bytes + 4095) / 4096 * 4096;
    b.p = std::aligned_alloc(64, b.n);
    if (!b.p) {
      b.n = 0;
      throw Error(ErrorCode::kInternal, "out of memory for a kernel scratch buffer");
    }
  }
  return b.p;
}

inline dnnl::memory::dims to_dnnl_dims(std::span<const int64_t> d) { return {d.begin(), d.end()}; }

// Dense row-major descriptor of the given dims (float32 unless told).
inline dnnl::memory::desc plain_desc(const dnnl::memory::dims& dims,
                                     dnnl::memory::data_type type = dnnl::memory::data_type::f32) {
  dnnl::memory::dims strides(dims.size());
  int64_t s = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    strides[i] = s;
    s *= std::max<int64_t>(dims[i], 1);
  }
  return dnnl::memory::desc(dims, type, strides);
}

// Activation fused into a Conv/Gemm/MatMul by the fusion pass
// ("dynrt.activation", with "dynrt.clip_min"/"dynrt.clip_max" for Clip).
struct FusedActivation {
  bool present = false;
  dnnl::algorithm alg = dnnl::algorithm::eltwise_relu;
  float alpha = 0.f, beta = 0.f;

  static FusedActivation from(const KernelInit& init) {
    FusedActivation a;
    std::string name = init.attr_string("dynrt.activation", "");
    if (name.empty()) return a;
    a.present = true;
    if (name == "Relu") a.alg = dnnl::algorithm::eltwise_relu;
    else if (name == "Sigmoid") a.alg = dnnl::algorithm::eltwise_logistic;
    else if (name == "Tanh") a.alg = dnnl::algorithm::eltwise_tanh;
    else if (name == "HardSwish") {  // x * clip(alpha x + beta, 0, 1); ONNX's alpha and beta
      a.alg = dnnl::algorithm::eltwise_hardswish;
      a.alpha = 1.f / 6;
      a.beta = 0.5f;
    }
    else if (name == "Gelu") a.alg = dnnl::algorithm::eltwise_gelu_erf;
    else if (name == "Clip") {
      a.alg = dnnl::algorithm::eltwise_clip;
      a.alpha = init.attr_float("dynrt.clip_min", -3.402823466e38f);
      a.beta = init.attr_float("dynrt.clip_max", 3.402823466e38f);
    } else {
      init.unsupported("fused activation '" + name + "' is not supported");
    }
    return a;
  }
  void append_to(dnnl::post_ops& po) const {
    if (present) po.append_eltwise(alg, alpha, beta);
  }
  // The same function on one value, for the paths that do not use oneDNN.
  template <class T>
  T apply(T v) const {
    using dnnl::algorithm;
    if (!present) return v;
    double x = static_cast<double>(v), y = x;
    switch (alg) {
      case algorithm::eltwise_relu: y = x > 0 ? x : 0; break;
      case algorithm::eltwise_logistic: y = 1 / (1 + std::exp(-x)); break;
      case algorithm::eltwise_tanh: y = std::tanh(x); break;
      case algorithm::eltwise_hardswish: y = x * std::min(1.0, std::max(0.0, x / 6 + 0.5)); break;
      case algorithm::eltwise_gelu_erf: y = 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); break;
      case algorithm::eltwise_clip: y = std::min<double>(beta, std::max<double>(alpha, x)); break;
      default: break;
    }
    return static_cast<T>(y);
  }
};

// Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX): what
// an engine built with --precision bf16 needs for its MatMul/Gemm/Conv nodes.
inline bool cpu_has_bf16() {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

// A node the build marked to compute in bfloat16 ("dynrt.compute" = "bf16",
// builder/precision.cpp): products in bf16, accumulation and storage in
// float32. An error on a CPU without native bf16.
inline bool bf16_compute(const KernelInit& init) {
  if (init.attr_string("dynrt.compute", "") != "bf16") return false;
  if (!cpu_has_bf16())
    init.unsupported("bf16 compute (--precision bf16) needs a CPU with AVX512-BF16 or AMX, and this one has "
                     "neither; build with --precision fp32");
  return true;
}

// Attributes every primitive here uses: scratchpad memory comes from the
// caller so one primitive can run on many threads at once.
inline dnnl::primitive_attr base_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// A constant weight tensor plus its copies reordered into the layouts that
// primitives have asked for. Layouts depend on the primitive chosen, which may
// depend on the activation shape, so they are produced lazily (in prepare)
// and shared by every shape that wants the same layout.
class PackedWeights {
 public:
  PackedWeights(Tensor t, dnnl::memory::desc plain) : t_(std::move(t)), plain_(std::move(plain)) {}

  std::shared_ptr<dnnl::memory> get(const dnnl::memory::desc& want) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [d, m] : cache_)
      if (d == want) return m;
    auto m = std::make_shared<dnnl::memory>(want, dnnl_engine());
    // Same elements, possibly with leading unit dims added (batched matmul).
    dnnl::memory::desc plain = want.get_dims() == plain_.get_dims() ? plain_ : plain_.reshape(want.get_dims());
    dnnl::memory src(plain, dnnl_engine(), const_cast<void*>(t_.data()));
    dnnl::stream s(dnnl_engine());
    dnnl::reorder(src, *m).execute(s, src, *m);
    s.wait();
    // The plain bytes are not read again unless another layout is asked for:
    // a mapped engine's pages go back to the file until then.
    release_resident(t_.data(), t_.nbytes());
    cache_.emplace_back(want, m);
    return m;
  }

 private:
  Tensor t_;  // keeps the constant's buffer alive
  dnnl::memory::desc plain_;
  mutable std::mutex mu_;
  mutable std::vector<std::pair<dnnl::memory::desc, std::shared_ptr<dnnl::memory>>> cache_;
};

// Run a primitive with user scratchpad from this thread's scratch slot.
inline void execute_primitive(const dnnl::primitive& p, const dnnl::memory::desc& scratch_md,
                              std::unordered_map<int, dnnl::memory> args) {
  size_t n = scratch_md.get_size();
  if (n) args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(scratch_md, dnnl_engine(), thread_scratch(kScratchPad, n)));
  p.execute(dnnl_stream(), args);
}

// Wrap oneDNN failures (e.g. no implementation for a shape) as dynrt errors.
template <class F>
auto with_dnnl_errors(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    throw Error(ErrorCode::kUnsupported, what + ": oneDNN: " + e.what());
  }
}

}  // namespace dynrt::cpu
